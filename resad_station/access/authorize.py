"""The engineer PIN on the command line: who may run a command that changes what passes.

`enroll` (new references and thresholds) and `enroll --activate` need the PIN: typed at a prompt
on a terminal, or read from the first line of a file given with `--pin-file` (for scripts;
keep that file owner-only). The audit names who and how: "engineer:<OS user> via cli prompt".
Wrong PINs back off exactly as in the GUI (access/pins.py), across processes.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from resad_station.access.pins import FREE_ATTEMPTS, PinError, PinStore


class AccessDenied(PermissionError):
    """The command needs the engineer role and did not get it; the message says how to get it."""


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or password database
        return "station"


def add_pin_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pin-file", metavar="FILE",
                        help="read the engineer PIN from the first line of FILE (default: ask on the terminal)")


def engineer_actor(data_dir: str | os.PathLike, pin_file: str | None, action: str) -> str:
    """The audit actor for an engineer action, after checking the PIN; raises AccessDenied."""
    store = PinStore(data_dir)
    if not store.is_set():
        raise AccessDenied(f"{action} needs the engineer PIN, and none is set on this station: "
                           "set one first with `resad-station gui --set-pin`")
    if pin_file:
        try:
            pin = Path(pin_file).read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, UnicodeDecodeError, IndexError) as exc:
            raise AccessDenied(f"--pin-file {pin_file}: cannot read a PIN from it ({exc})") from None
        how = "cli pin-file"
    elif sys.stdin is not None and sys.stdin.isatty():
        pin = getpass.getpass(f"engineer PIN ({action}): ")
        how = "cli prompt"
    else:
        raise AccessDenied(f"{action} needs the engineer PIN: run it on a terminal (it asks), or pass --pin-file FILE")
    try:
        ok = store.verify(pin)
    except PinError as exc:  # backing off after wrong PINs
        raise AccessDenied(f"{action}: {exc}") from None
    if not ok:
        raise AccessDenied(f"{action}: wrong engineer PIN (after {FREE_ATTEMPTS} wrong PINs in a row each try waits longer)")
    return f"engineer:{os_user()} via {how}"
