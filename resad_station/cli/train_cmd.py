"""`resad-station train`: train the ResAD heads on MVTec-layout folders."""

from __future__ import annotations

import argparse
import sys

NAME = "train"
HELP = "train the ResAD heads on MVTec-layout folders"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print(f"resad-station {NAME}: not yet available", file=sys.stderr)
    return 2
