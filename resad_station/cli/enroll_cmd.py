"""`resad-station enroll`: enroll a product from good images: checks, reference set, calibration."""

from __future__ import annotations

import argparse
import sys

NAME = "enroll"
HELP = "enroll a product from good images: checks, reference set, calibration"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print(f"resad-station {NAME}: not yet available", file=sys.stderr)
    return 2
