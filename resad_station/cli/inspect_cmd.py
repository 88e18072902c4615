"""`resad-station inspect`: run a product profile headless: live status line, optional JSON summary."""

from __future__ import annotations

import argparse
import sys

NAME = "inspect"
HELP = "run a product profile headless: live status line, optional JSON summary"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print(f"resad-station {NAME}: not yet available", file=sys.stderr)
    return 2
