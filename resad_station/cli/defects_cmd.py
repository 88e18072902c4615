"""`resad-station defects`: list, label and export logged defects."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import datetime, timezone

NAME = "defects"
HELP = "list, label and export logged defects"

RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str) -> datetime:
    """'2h', '7d' (ago) or an ISO date/time (UTC unless it says otherwise)."""
    match = RELATIVE.match(text.strip())
    if match:
        return datetime.fromtimestamp(time.time() - float(match[1]) * UNIT_S[match[2]], timezone.utc)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since {text!r}: expected an ISO date/time (2024-05-01, 2024-05-01T08:00) or an age like 2h, 7d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--product", help="only this product")
    parser.add_argument("--since", type=parse_since, help="only defects since: ISO date/time or an age (2h, 7d)")
    parser.add_argument("--label", choices=("none", "defect", "false_alarm"), help="only this review label")
    parser.add_argument("--verdict", choices=("uncertain", "fail", "pass"), help="only this verdict")
    parser.add_argument("--station", help="only this station (a plant's stations share one database)")
    parser.add_argument("--camera", help="only this camera")
    parser.add_argument("--ref", dest="reference", metavar="DEFECT_ID",
                        help="the defect a line message named (its defect_id, as MQTT / the webhook / OPC UA sent it)")


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="defects_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list defects, newest first")
    _filters(listing)
    listing.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50)")
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    label = actions.add_parser("label", help="label a defect as reviewed (audited, as in the Review screen)")
    label.add_argument("id", type=int, help="defect id (see `defects list`)")
    label.add_argument("label", choices=("defect", "false_alarm", "none"), help="none clears the review")
    label.add_argument("--note", help="why (kept on the defect and in the audit row)")
    label.add_argument("--by", help="reviewer name (default: your login name); recorded as operator:NAME")
    export = actions.add_parser("export", help="export defects as CSV, or a zip with images, heatmaps and a CSV")
    _filters(export)
    export.add_argument("--format", choices=("csv", "zip"), required=True)
    export.add_argument("--raw-maps", action="store_true", help="zip: also the raw anomaly maps (.npy)")
    export.add_argument("out", help="output file")


def _query_args(args: argparse.Namespace) -> dict:
    return {k: getattr(args, k) for k in ("product", "since", "label", "verdict", "station", "camera", "reference")
            if getattr(args, k) is not None}


ROW = ("{id:>6}  {reference:<36}  {time:<25} {product:<16} {station:<12} {camera:<8} {verdict:<9} {score:>10}  "
       "{label:<11} {source}")


def _list(db, args: argparse.Namespace) -> int:
    from resad_station.storage import repository as repo

    with db.read_session() as s:  # a listing: one snapshot, never blocks the line's writer
        names = {p.id: p.name for p in repo.list_products(s)}
        rows, total = repo.query_defects(s, **_query_args(args), limit=max(0, args.limit))
    if rows and not args.json:
        print(ROW.format(id="id", reference="reference", time="time", product="product", station="station", camera="camera", verdict="verdict",
                         score="score", label="label", source="source"))
    for d in rows:
        item = {"id": d.id, "reference": d.reference, "time": d.time.isoformat(timespec="seconds"), "product": names.get(d.product_id),
                "station": d.station, "camera": d.camera, "verdict": d.verdict, "score": round(d.score, 6), "label": d.label,
                "source": d.note or "", "image": d.image_path}
        if args.json:
            print(json.dumps(item))
        else:
            print(ROW.format(**(item | {"score": f"{d.score:.4g}", "station": d.station or "-",
                                        "reference": d.reference or "-"})))
    if not args.json:
        print(f"{len(rows)} of {total} defect(s)")
    return 0


def _label(db, args: argparse.Namespace) -> int:
    from resad_station.cli.actor import cli_actor
    from resad_station.defects.review import label_defect
    from resad_station.storage import NotFoundError

    actor = cli_actor("operator", args.by)
    try:
        row = label_defect(db, args.id, args.label, actor, note=args.note)
    except NotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"defect {row.id} labelled {row.label} by {actor}")
    return 0


def _export(db, args: argparse.Namespace) -> int:
    from resad_station.defects.export import export_csv, export_zip

    skipped: list[tuple[int, str]] = []
    if args.format == "csv":
        count = export_csv(db, args.out, skipped=skipped, **_query_args(args))
    else:
        count = export_zip(db, args.out, include_raw_maps=args.raw_maps, skipped=skipped, **_query_args(args))
    print(f"exported {count} defect(s) to {args.out}")
    for defect_id, why in skipped:
        print(f"  skipped defect {defect_id}: {why}", file=sys.stderr)
    return 1 if skipped else 0


def run(args: argparse.Namespace) -> int:
    from resad_station.storage import StorageError, open_station_database

    try:
        db = open_station_database(args.data_dir, args.db_url)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        return {"list": _list, "label": _label, "export": _export}[args.defects_action](db, args)
    except (StorageError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
