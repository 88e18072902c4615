"""`resad-station report`: the shift report as a PDF."""

from __future__ import annotations

import argparse
import sys

from resad_station.cli.defects_cmd import parse_since

NAME = "report"
HELP = "the shift report (counts, trend, score histogram, worst defects, alarms, labels, changes) as a PDF"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=parse_since, required=True, help="start: an age (8h, 2d) or an ISO date/time")
    parser.add_argument("--until", type=parse_since, help="end (default now): an age or an ISO date/time")
    parser.add_argument("--product", help="only this product")
    parser.add_argument("--camera", help="only this camera")
    parser.add_argument("--pdf", required=True, help="the PDF file to write")


def run(args: argparse.Namespace) -> int:
    from resad_station.reports import gather, write_pdf
    from resad_station.storage import StorageError, open_station_database

    try:
        db = open_station_database(args.data_dir, args.db_url)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        data = gather(db, args.since, args.until, product=args.product, camera=args.camera)
        out = write_pdf(db, data, args.pdf)
    except ValueError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    except (StorageError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print(f"{out}: {data.total} recorded inspections, {data.counts.get('fail', 0)} fails, "
          f"{len(data.alarms)} alarms, {len(data.changes)} configuration changes")
    return 0
