"""`resad-station db`: upgrade and check the station database."""

from __future__ import annotations

import argparse
import sys

NAME = "db"
HELP = "upgrade and check the station database"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print(f"resad-station {NAME}: not yet available", file=sys.stderr)
    return 2
