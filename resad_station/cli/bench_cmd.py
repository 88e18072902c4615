"""`resad-station bench`: time each stage of the engine on this machine."""

from __future__ import annotations

import argparse
import sys

NAME = "bench"
HELP = "time each stage of the engine on this machine"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print(f"resad-station {NAME}: not yet available", file=sys.stderr)
    return 2
