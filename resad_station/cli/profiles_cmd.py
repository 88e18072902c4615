"""`resad-station profiles`: list, check and show product profiles."""

from __future__ import annotations

import argparse
import sys

NAME = "profiles"
HELP = "list, check and show product profiles"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print(f"resad-station {NAME}: not yet available", file=sys.stderr)
    return 2
