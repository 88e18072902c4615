"""`resad-station profiles`: list, check and show product profiles."""

from __future__ import annotations

import argparse
import sys

from resad_station.profiles import ProfileError, find_profile, list_profiles, load_profile, profile_to_yaml

NAME = "profiles"
HELP = "list, check and show product profiles"


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="profiles_action", metavar="ACTION", required=True)
    actions.add_parser("list", help="list shipped, example and user profiles (invalid ones say why)")
    check = actions.add_parser("check", help="validate profile files; exit 1 naming every problem")
    check.add_argument("files", nargs="+", metavar="FILE", help="YAML profile file(s)")
    show = actions.add_parser("show", help="print a profile, validated, with every default filled in")
    show.add_argument("name", metavar="NAME", help="profile name, file stem or path")


def _list(args: argparse.Namespace) -> int:
    entries = list_profiles(args.data_dir)
    if not entries:
        print("no profiles found")
        return 0
    for e in entries:
        if e.error is None:
            print(f"{e.name:<20} {e.product:<20} {e.camera_kind:<10} {e.origin:<8} {e.path}")
        else:
            first = e.error.splitlines()[0]
            print(f"{'(invalid)':<20} {'':<20} {'':<10} {e.origin:<8} {e.path}\n    {first}")
    return 0


def _check(args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        try:
            load_profile(name)
        except ProfileError as exc:
            failed += 1
            print(exc, file=sys.stderr)
        else:
            print(f"ok: {name}")
    return 1 if failed else 0


def _show(args: argparse.Namespace) -> int:
    try:
        profile = load_profile(find_profile(args.name, args.data_dir))
    except ProfileError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"# {profile.source_path}")
    print(profile_to_yaml(profile), end="")
    return 0


def run(args: argparse.Namespace) -> int:
    return {"list": _list, "check": _check, "show": _show}[args.profiles_action](args)
