"""The `resad-station` console script: the headless command line plus the `gui` command."""

from __future__ import annotations

from typing import Sequence

from resad_station.cli.main import main as station_main
from ui import gui_cmd


def main(argv: Sequence[str] | None = None) -> int:
    return station_main(argv, extra_commands=[gui_cmd])
