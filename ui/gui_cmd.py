"""`resad-station gui`: the desktop application (falls back to headless without a display).

    resad-station gui [--profile P] [--screenshot PATH] [--quit-after S] [--bench] [--set-pin]

--screenshot runs the profile for --quit-after seconds (default 6), saves a PNG of the whole
window and exits 0. --bench plays a 1920x1080 video of the line as a 30 fps live camera and
prints the live and inspected views' refresh rates and the event loop's stall p99. --set-pin sets the engineer PIN from the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

NAME = "gui"
DEFAULT_PROFILE = "profiles/demo.yaml"
HELP = "open the desktop application on a product profile"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", action="append", help="product profile (file or name; default "
                        f"{DEFAULT_PROFILE}); repeat it for several cameras: a camera grid")
    parser.add_argument("--line", help="a line file listing the cameras' profiles, one per line")
    parser.add_argument("--screenshot", help="save a PNG of the whole window after --quit-after seconds, then exit")
    parser.add_argument("--quit-after", type=float, help="close the window after this many seconds")
    parser.add_argument("--bench", action="store_true", help="1920x1080 30 fps live camera: print the live and inspected refresh rates and the event-loop stall p99")
    parser.add_argument("--set-pin", action="store_true", help="set the engineer PIN (asked twice in the terminal), then exit")
    parser.add_argument("--tab", choices=("live", "review", "settings", "enroll"), help="open on this screen (for screenshots)")


def display_available() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb"):  # need no X or Wayland server
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def set_pin(args: argparse.Namespace) -> int:
    """The first PIN is set here (only here); changing it asks for the current one first."""
    from resad_station import paths
    from ui.roles import MIN_PIN_LENGTH, PinError, PinStore

    data_dir = paths.resolve_data_dir(args.data_dir)
    store = PinStore(data_dir)
    first = not store.is_set()
    current = None if first else getpass.getpass("current engineer PIN: ")
    pin = getpass.getpass(f"new engineer PIN (at least {MIN_PIN_LENGTH} digits): ")
    if pin != getpass.getpass("again: "):
        print("the two PINs differ; nothing changed", file=sys.stderr)
        return 1
    try:
        store.set_pin(pin, current=current)
    except PinError as exc:
        print(f"{exc}; nothing changed", file=sys.stderr)
        return 1
    audit_pin_change(data_dir, args.db_url, first)
    print(f"engineer PIN {'set' if first else 'changed'} ({store.path})")
    return 0


def audit_pin_change(data_dir: str | os.PathLike, db_url: str | None, first: bool) -> None:
    """Record that the PIN was set or changed from the terminal (best effort: the PIN file is what counts)."""
    from resad_station.access.authorize import os_user
    from resad_station.storage import StorageError, open_station_database
    from resad_station.storage import repository as repo

    try:
        db = open_station_database(data_dir, db_url)
    except StorageError as exc:
        print(f"warning: the PIN change could not be audited: {exc}", file=sys.stderr)
        return
    try:
        with db.session() as s:
            repo.add_audit_event(s, f"engineer:{os_user()} via cli --set-pin", "pin_set" if first else "pin_changed", {})
    except StorageError as exc:
        print(f"warning: the PIN change could not be audited: {exc}", file=sys.stderr)
    finally:
        db.close()


NO_DISPLAY = "resad-station gui: no display available (DISPLAY/WAYLAND_DISPLAY unset); running the line headless instead"


def run_headless(args: argparse.Namespace, reason: str = NO_DISPLAY) -> int:
    """No usable display: say why in one line, then run the same line with the headless inspector."""
    print(reason, file=sys.stderr)
    from resad_station.cli import inspect_cmd

    parser = argparse.ArgumentParser(prog="resad-station inspect")
    inspect_cmd.configure(parser)
    known = {a.dest for a in parser._actions}
    argv = [a for p in args.profiles for a in ("--profile", p)]
    if args.quit_after and "duration" in known:
        argv += ["--duration", str(args.quit_after)]
    inspect_args = parser.parse_args(argv)
    for name in ("data_dir", "db_url", "verbose"):
        setattr(inspect_args, name, getattr(args, name, None))
    return int(inspect_cmd.run(inspect_args) or 0)


def run(args: argparse.Namespace) -> int:
    if args.set_pin:
        return set_pin(args)
    from resad_station.runtime.multi_station import read_line_file
    from resad_station.runtime.station import StationError

    try:
        args.profiles = list(args.profile or []) + (read_line_file(args.line) if args.line else [])
    except StationError as exc:
        print(f"resad-station gui: {exc}", file=sys.stderr)
        return 1
    args.profiles = args.profiles or [DEFAULT_PROFILE]
    args.profile = args.profiles[0]
    if len(args.profiles) > 1 and display_available():
        from ui.multi_window import run_multi_app

        return run_multi_app(args, args.profiles)
    if not display_available():
        return run_headless(args)
    from ui.platform_check import missing_for_xcb

    if missing := missing_for_xcb():  # Qt would abort the process: say what to install, run headless
        return run_headless(args, missing)
    from ui.app import run_app

    return run_app(args)
