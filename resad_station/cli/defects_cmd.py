"""`resad-station defects`: list and export logged defects."""

from __future__ import annotations

import argparse
import sys

NAME = "defects"
HELP = "list and export logged defects"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print(f"resad-station {NAME}: not yet available", file=sys.stderr)
    return 2
