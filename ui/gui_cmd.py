"""`resad-station gui`: the desktop application (falls back to headless without a display)."""

from __future__ import annotations

import argparse
import sys

NAME = "gui"
HELP = "open the desktop application on a product profile"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="profiles/demo.yaml", help="product profile (file or name)")
    parser.add_argument("--screenshot", help="save a PNG of the whole window after --quit-after seconds, then exit")
    parser.add_argument("--quit-after", type=float, help="close the window after this many seconds")


def run(args: argparse.Namespace) -> int:
    print("resad-station gui: not yet available", file=sys.stderr)
    return 2
