"""A new product, as a new user meets it: enroll from a few good shots, then inspect its test folder.

    python -m resad_station.tools.new_product_run DATASET_CATEGORY [--shots 4] [--validation 4]
        [--start 0] [--method auto] [--input-size N] [--align part] [--json OUT.json]

DATASET_CATEGORY is a folder in the MVTec AD layout (train/good, test/good, test/<defect>). The
run uses the station's own code paths and thresholds, in a fresh temporary data directory:
`enroll` (the CLI command) from --shots train/good images (sorted by name, from the --start-th)
with the next --validation ones as --validation, then the test images (linked into one flat folder, named
<class>__<file>) through a `folder` camera of a small profile written beside it, inspected by the
Station as `inspect` runs it. Prints how the good and the defective images were judged (and why:
a whole-frame check's reason), and the enrollment's self-test. Without --input-size the profile
leaves engine.input_size out, so the run measures what a new product gets by default. Results:
docs/new-product.md.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import yaml

from engine.self_test import auroc
from resad_station.capture.imaging import image_files
from resad_station.profiles.model import ALIGN_NAMES, DEFAULT_ALIGN

PRODUCT = "new-product"


class Collector:
    """Listener: every inspected frame's source name, verdict and reason."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, float]] = []
        self._lock = threading.Lock()

    def on_frame(self, result) -> None:
        with self._lock:
            self.rows.append((result.source_name, result.verdict.value, result.reason, float(result.score)))


def _layout(root: Path, work: Path, shots: int, validation: int, start: int = 0) -> tuple[list[Path], Path, Path]:
    train = image_files([root / "train" / "good"])[start:]
    if len(train) < shots + validation:
        raise SystemExit(f"{root}/train/good: {len(train)} images from the {start}-th, {shots + validation} needed")
    val_dir, test_dir = work / "validation", work / "test"
    val_dir.mkdir()
    test_dir.mkdir()
    for p in train[shots:shots + validation]:
        (val_dir / p.name).symlink_to(p.resolve())
    classes = sorted(d.name for d in (root / "test").iterdir() if d.is_dir())
    for c in classes:
        for p in image_files([root / "test" / c]):
            (test_dir / f"{c}__{p.name}").symlink_to(p.resolve())
    return train[:shots], val_dir, test_dir


def _profile(work: Path, test_dir: Path, method: str, input_size: int | None, align: str) -> Path:
    engine = {"method": method, "device": "cpu", **({} if input_size is None else {"input_size": input_size}),
              "align": align}
    profile = {"name": PRODUCT, "product": PRODUCT,
               "camera": {"kind": "folder", "uri": str(test_dir), "loop": False, "mode": "triggered", "fps": None},
               "engine": engine,
               "recording": {"keep_images": []}}
    path = work / "new-product.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return path


def _engineer_pin(data_dir: Path, work: Path) -> Path:
    """A fresh station has no engineer PIN and enrolling needs one: set a random one, as the engineer
    would with `gui --set-pin`, and hand it to `enroll` in a file (the temporary folder goes at the end)."""
    from resad_station.access.pins import PinStore

    pin = "".join(secrets.choice("0123456789") for _ in range(8))
    PinStore(data_dir).set_pin(pin)
    path = work / "pin.txt"
    path.write_text(pin + "\n", encoding="utf-8")
    return path


def tally(rows) -> dict:
    out: dict = {"good": Counter(), "defective": Counter(), "reasons": Counter()}
    for name, verdict, reason, _ in rows:
        cls = "good" if Path(name).name.split("__", 1)[0] == "good" else "defective"
        out[cls][verdict] += 1
        if reason:
            out["reasons"][f"{cls}: {reason}"] += 1
    good, bad = out["good"], out["defective"]
    labels = [Path(name).name.split("__", 1)[0] != "good" for name, *_ in rows]
    n_good, n_bad = sum(good.values()), sum(bad.values())
    return {
        "good": dict(good), "defective": dict(bad), "reasons": dict(out["reasons"]),
        "defective_caught_pct": 100.0 * (bad["fail"] + bad["uncertain"]) / n_bad if n_bad else None,
        "good_fail_pct": 100.0 * good["fail"] / n_good if n_good else None,
        "good_uncertain_pct": 100.0 * good["uncertain"] / n_good if n_good else None,
        # how well the scores alone rank defective above good (no threshold involved)
        "image_auroc": auroc([r[3] for r, y in zip(rows, labels) if not y], [r[3] for r, y in zip(rows, labels) if y]),
    }


def run(root: Path, shots: int = 4, validation: int = 4, method: str = "auto", input_size: int | None = None,
        align: str = DEFAULT_ALIGN, start: int = 0) -> dict:
    from resad_station.cli.main import main as cli
    from resad_station.runtime.station import Station
    from resad_station.storage import repository as repo

    with tempfile.TemporaryDirectory(prefix="new-product-") as tmp:
        work = Path(tmp)
        data_dir = work / "data"
        shot_files, val_dir, test_dir = _layout(root, work, shots, validation, start)
        profile = _profile(work, test_dir, method, input_size, align)
        pin_file = _engineer_pin(data_dir, work)
        rc = cli(["--data-dir", str(data_dir), "enroll", "--product", PRODUCT, "--profile", str(profile),
                  *map(str, shot_files), "--validation", str(val_dir), "--pin-file", str(pin_file)])
        if rc != 0:
            raise SystemExit(f"enroll failed (exit {rc})")
        collector = Collector()
        with Station.open(profile, data_dir) as station:
            with station.db.read_session() as s:
                calibration = dict(repo.active_reference_set(s, PRODUCT).calibration)
            input_size = station.detector.input_size
            station.add_listener(collector)
            station.start()
            station.wait()
            station.stop(timeout=30.0)
        return {"dataset": str(root), "shots": [p.name for p in shot_files], "validation": validation, "start": start,
                "profile_method": method, "method": calibration.get("method"), "input_size": input_size,
                "align": align, "aligned": calibration.get("self_test", {}).get("align"),
                "search": calibration.get("self_test", {}).get("search"),
                "t_uncertain": calibration["t_uncertain"], "t_fail": calibration["t_fail"],
                "self_test": calibration.get("self_test", {}).get("summary"),
                "warnings": calibration.get("self_test", {}).get("warnings", []),
                **tally(collector.rows), "frames": [list(r) for r in collector.rows]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m resad_station.tools.new_product_run", description=__doc__.split("\n")[0])
    ap.add_argument("root", type=Path, help="a category folder in the MVTec AD layout")
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--validation", type=int, default=4)
    ap.add_argument("--start", type=int, default=0, help="the shots begin at this train/good image (sorted by name)")
    ap.add_argument("--method", default="auto")
    ap.add_argument("--align", choices=ALIGN_NAMES, default=DEFAULT_ALIGN, help="engine.align of the profile")
    ap.add_argument("--input-size", type=int, default=None, help="default: a new profile's")
    ap.add_argument("--json", type=Path, help="write the result (with every frame) here")
    args = ap.parse_args(argv)
    result = run(args.root, args.shots, args.validation, args.method, args.input_size, args.align, args.start)
    g, d = result["good"], result["defective"]
    print(f"{result['dataset']}: method {result['method']} (profile {result['profile_method']}), "
          f"T1 {result['t_uncertain']:.4g}, T2 {result['t_fail']:.4g}; self-test: {result['self_test']}")
    for w in result["warnings"]:
        print(f"  warning: {w}")
    print(f"  defective: {sum(d.values())}  fail {d.get('fail', 0)}  uncertain {d.get('uncertain', 0)}  "
          f"pass {d.get('pass', 0)}  -> caught {result['defective_caught_pct']:.1f} %")
    print(f"  good:      {sum(g.values())}  fail {g.get('fail', 0)}  uncertain {g.get('uncertain', 0)}  "
          f"pass {g.get('pass', 0)}  -> fail {result['good_fail_pct']:.1f} %")
    print(f"  image AUROC of the scores: {result['image_auroc']:.3f}")
    if result["reasons"]:
        print("  whole-frame checks: " + ", ".join(f"{k} {v}" for k, v in result["reasons"].items()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
