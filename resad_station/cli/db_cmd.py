"""`resad-station db`: upgrade and check the station database."""

from __future__ import annotations

import argparse
import os
import sys

from resad_station.storage import StorageError, head_revision, open_station_database

NAME = "db"
HELP = "upgrade and check the station database"


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    actions.add_parser("upgrade", help="create the database or migrate it to this app's schema")
    actions.add_parser("check", help="integrity check + verify every image file's sha256; exit 1 on problems")


def _upgrade(args: argparse.Namespace) -> int:
    db = open_station_database(args.data_dir, args.db_url, auto_upgrade=False)
    try:
        before = db.current_revision()
        after = db.upgrade()
    finally:
        db.close()
    change = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    print(f"{db.url}: {change} schema {after}")
    return 0


def _check(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from resad_station.paths import resolve_data_dir
    from resad_station.storage.location import storage_location

    url = storage_location(resolve_data_dir(args.data_dir), args.db_url).db_url  # --db-url, station.yaml or default
    if url.startswith("sqlite") and sa.make_url(url).database not in (None, "", ":memory:"):
        path = sa.make_url(url).database
        if not os.path.exists(path):  # checking must not create an empty database
            print(f"error: no database at {path}: nothing to check (the station creates it on first run, "
                  "or run `resad-station db upgrade`)", file=sys.stderr)
            return 1
    # No auto-upgrade: check reports what is there, including an out-of-date schema.
    db = open_station_database(args.data_dir, args.db_url, auto_upgrade=False)
    try:
        report = db.check()
    finally:
        db.close()
    print(f"{db.url} (station {db.station}, images: {db.images.root}, app schema {head_revision()})")
    for line in report.problems():
        print(f"  problem: {line}")
    if report.stale_temp_files:
        print(f"  note: {report.stale_temp_files} temp file(s) left by an interrupted write (harmless)")
    print(report.summary())
    return 0 if report.ok else 1


def run(args: argparse.Namespace) -> int:
    try:
        return {"upgrade": _upgrade, "check": _check}[args.db_action](args)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
