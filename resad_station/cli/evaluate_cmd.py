"""`resad-station evaluate`: evaluate ResAD and the kNN baseline on MVTec-layout data."""

from __future__ import annotations

import argparse
import sys

NAME = "evaluate"
HELP = "evaluate ResAD and the kNN baseline on MVTec-layout data"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print(f"resad-station {NAME}: not yet available", file=sys.stderr)
    return 2
