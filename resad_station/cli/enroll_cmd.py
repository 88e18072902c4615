"""`resad-station enroll`: enroll a product from good images: checks, reference set, calibration."""

from __future__ import annotations

import argparse
import json
import os
import sys

from resad_station.access.authorize import add_pin_option
from resad_station.enrollment.self_test_text import self_test_lines
from resad_station.profiles.model import METHOD_NAMES

NAME = "enroll"
HELP = "enroll a product from good images: checks, reference set, calibration"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--product", required=True, help="product name")
    parser.add_argument("--profile", help="profile for engine settings and ROI (default: engine defaults, no ROI)")
    parser.add_argument("images", nargs="*", metavar="IMAGE_OR_DIR", help="good images, or folders of them")
    parser.add_argument("--shots", type=int, help="use the first K accepted images as shots (default: the "
                        "profile's engine.shots); the other accepted images are scored as validation images")
    parser.add_argument("--validation", metavar="DIR", help="extra good images: scored for calibration only")
    parser.add_argument("--method", choices=METHOD_NAMES, help="override engine.method")
    parser.add_argument("--list", action="store_true", help="list the product's reference-set versions")
    parser.add_argument("--activate", type=int, metavar="VERSION", help="make an earlier version active again")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_pin_option(parser)  # enrolling and activating change what passes: engineer PIN


def _profile(args: argparse.Namespace, data_dir):
    from resad_station.profiles import Profile
    from resad_station.runtime.station import resolve_profile

    if args.profile:
        profile = resolve_profile(args.profile, data_dir)
    else:  # engine defaults; the camera is not used by enrollment
        profile = Profile.model_validate({"name": args.product, "product": args.product,
                                          "camera": {"kind": "folder", "uri": "."}})
    if args.method:
        profile = profile.model_copy(update={"engine": profile.engine.model_copy(update={"method": args.method})})
    return profile.model_copy(update={"product": args.product}).with_source(profile.source_path)


def _list(db, product: str) -> int:
    from resad_station.storage import repository as repo

    with db.read_session() as s:  # a listing: one snapshot, never blocks the line's writer
        sets = repo.list_reference_sets(s, product)
    if not sets:
        print(f"product {product!r} has no reference sets")
        return 1
    for rs in sets:
        c = rs.calibration
        print(f"v{rs.version}{' (active)' if rs.active else ''}  {rs.created_at:%Y-%m-%d %H:%M}  {rs.shots} shots  "
              f"{c.get('method', '?')}  T1 {c.get('t_uncertain', float('nan')):.4g}  T2 {c.get('t_fail', float('nan')):.4g}"
              f"  {rs.note}")
    return 0


def _print_result(result) -> None:
    s = result.summary()
    print(f"product {s['product']}: reference set v{s['version']} active, {len(s['shots'])} shots")
    print(f"  shots: {', '.join(_names(s['shots']))}")
    if s["validation"]:
        print(f"  validation ({len(s['validation'])}, scored for calibration only): {', '.join(_names(s['validation']))}")
    for r in s["rejects"] + s["validation_rejects"]:
        print(f"  rejected {r['image']}: {r['reason']}")
    g = s["good_scores"]
    print(f"  good scores: mean {g['mean']:.4g}, std {g['std']:.4g}, max {g['max']:.4g} "
          f"({len(g['shots'])} leave-one-out, {len(g['validation'])} validation)")
    print(f"  thresholds: uncertain >= {s['t_uncertain']:.4g}, fail >= {s['t_fail']:.4g}  ({s['rule']})")
    for line in self_test_lines(s["self_test"]):
        print(f"  {line}")


def _names(paths) -> list[str]:
    return [os.path.basename(str(p)) for p in paths]


def _count_before_loading(images, product: str) -> None:
    # Loading the engine takes seconds: a set that cannot make a reference set is told at once.
    from resad_station.enrollment.enroll import MIN_SHOTS, EnrollmentError
    from resad_station.capture.imaging import image_files

    files = image_files(images)
    if len(files) < MIN_SHOTS:
        found = ", ".join(str(f) for f in files) or "none"
        raise EnrollmentError(f"product {product!r}: {len(files)} image file(s) given ({found}), at least "
                              f"{MIN_SHOTS} good images are needed (4-8 recommended)")


def run(args: argparse.Namespace) -> int:
    from engine import EngineError
    from resad_station.access.authorize import AccessDenied, engineer_actor
    from resad_station.enrollment.enroll import EnrollmentError, activate_version, enroll_items
    from resad_station.paths import resolve_data_dir
    from resad_station.profiles import ProfileError
    from resad_station.runtime.station import load_detector
    from resad_station.storage import StorageError, open_station_database

    try:
        data_dir = resolve_data_dir(args.data_dir)
        if args.list or args.activate is not None:
            actor = engineer_actor(data_dir, args.pin_file, "enroll --activate") if args.activate is not None else ""
            db = open_station_database(data_dir, args.db_url)
            try:
                if args.activate is not None:
                    activate_version(db, args.product, args.activate, actor)
                    print(f"product {args.product}: reference set v{args.activate} is active")
                return _list(db, args.product)
            finally:
                db.close()
        if not args.images:
            print("error: give good images or folders to enroll from (or --list / --activate)", file=sys.stderr)
            return 2
        _count_before_loading(args.images, args.product)
        actor = engineer_actor(data_dir, args.pin_file, "enroll")  # before the engine loads: a quick refusal
        profile = _profile(args, data_dir)
        detector = load_detector(profile)
        db = open_station_database(data_dir, args.db_url)
        try:
            validation = [args.validation] if args.validation else []
            result = enroll_items(db, detector, profile, args.images, product=args.product,
                                  k=args.shots or profile.engine.shots, validation=validation, actor=actor)
        finally:
            db.close()
    except (EnrollmentError, ProfileError, StorageError, EngineError, AccessDenied) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.summary(), indent=2))
    else:
        _print_result(result)
    return 0
