"""Rebuild the demo line (reference/, line/, masks/, the offsets table in SOURCE.md) from ONE DeepPCB pair.

Provenance only: the station never runs this. A real line inspects one fixtured board design, so the demo
shows one board location of DeepPCB: the defect-free TEMPLATE scan and the TESTED scan of the same
location (same board, defects added), taken from the project's MVTec-style copy of DeepPCB:

    <data>/deeppcb/group90100/test/good/90100008_temp.jpg            template (640x640 binary JPEG)
    <data>/deeppcb/group90100/test/combined/90100008_test.jpg        tested scan, 10 defect boxes (opens, shorts, mousebites, a spur)
    <data>/deeppcb/group90100/ground_truth/combined/90100008_test_mask.png

Every image written is a CROP x 600 of one of those two files at offset (20+dy, 20+dx) with dy, dx integers
in [-JITTER, JITTER]: the part sitting a few pixels differently in the fixture each time. Nothing else is
done to the pixels (no resampling, no noise), and the output is PNG so that line frames and references differ
only by the pose and, for defective frames, the defects (never by JPEG re-encoding noise).

- reference/: 8 template crops, pairwise at least MIN_REF_GAP px apart in dy or dx (the enrollment's
  near-duplicate check rejects shots that are the same picture).
- line/: 60 frames, like a line that mostly makes good boards: 54 good, and 6 defective ones (1 in 10) at
  DEFECT_POSITIONS. Four come alone (a FAIL, no alarm: the alarm debounces over 2 consecutive fails) and one
  pair comes in a row (the alarm). Good frames are template crops at jitters not used by any reference;
  defective frames are crops of the tested scan.
  Named <position:04d>_<good|defect>_<id>_dy<+d>_dx<+d>.png so that sorting the folder gives the line order.
- masks/: for each defective frame, the defect mask cropped the same way, same name ({0,255} PNG).

Deterministic (random.Random(SEED)). Run from a checkout that has ../shared/data beside it:

    cd profiles/demo && python build_demo.py          # or: python profiles/demo/build_demo.py --data DIR

`--measure` then scores the written set with both engine methods and prints the table in SOURCE.md
(from a checkout root: `PYTHONPATH=. python profiles/demo/build_demo.py --measure`).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent.parent / "shared" / "data" / "deeppcb"  # <checkout>/../shared/data/deeppcb

GROUP, BOARD_ID = "group90100", "90100008"
SEED = 0
CROP, MARGIN, JITTER = 600, 20, 8  # crop at (MARGIN+dy, MARGIN+dx), dy, dx in [-JITTER, JITTER]
N_REFERENCES = 8
MIN_REF_GAP = 4  # references: max(|ddy|, |ddx|) >= this for every pair
N_FRAMES = 60
DEFECT_POSITIONS = (12, 24, 31, 32, 47, 55)  # 1-based; 31-32 is the pair in a row that raises the alarm


def crop(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    y, x = MARGIN + dy, MARGIN + dx
    return image[y:y + CROP, x:x + CROP].copy()


def pick_offsets(rng: random.Random) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]]]:
    """Reference, good-frame and defect-frame jitters; references and good frames never share one."""
    grid = [(dy, dx) for dy in range(-JITTER, JITTER + 1) for dx in range(-JITTER, JITTER + 1)]
    rng.shuffle(grid)
    refs: list[tuple[int, int]] = []
    for o in grid:
        if all(max(abs(o[0] - r[0]), abs(o[1] - r[1])) >= MIN_REF_GAP for r in refs):
            refs.append(o)
        if len(refs) == N_REFERENCES:
            break
    rest = [o for o in grid if o not in refs]
    n_defect = len(DEFECT_POSITIONS)
    n_good = N_FRAMES - n_defect
    good = rest[:n_good]
    defect = rng.sample(grid, n_defect)  # defective parts: any pose
    return refs, good, defect


def tag(dy: int, dx: int) -> str:
    return f"dy{dy:+d}_dx{dx:+d}"


def measure(folder: Path) -> None:
    """Score the written set as the first run does (4 shots, 4 validation) and print SOURCE.md's table."""
    from engine import Detector
    from resad_station.enrollment.calibration import calibrate

    def rgb(path: Path) -> np.ndarray:
        return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)

    refs_files = sorted((folder / "reference").glob("*.png"))
    line = sorted((folder / "line").glob("*.png"))
    print("| method | AUROC | good line frames (max) | defective frames (min..max) | T_uncertain / T_fail "
          "| defective frames >= T_fail | good frames >= T_uncertain |")
    print("|---|---|---|---|---|---|---|")
    for method in ("resad", "knn"):
        det = Detector.load(method=method, device="cpu")
        refs = det.build_references([rgb(f) for f in refs_files[:4]])
        val = [float(det.predict(rgb(f), refs).score) for f in refs_files[4:]]
        cal = calibrate(det.leave_one_out_scores(refs), val)
        scores = {f.name: float(det.predict(rgb(f), refs).score) for f in line}
        good = [v for k, v in scores.items() if "_good_" in k]
        bad = [v for k, v in scores.items() if "_defect_" in k]
        auroc = np.mean([g < b for g in good for b in bad]) + 0.5 * np.mean([g == b for g in good for b in bad])
        print(f"| {method} | {auroc:.3f} | {max(good):.2f} | {min(bad):.2f}..{max(bad):.2f} | "
              f"{cal.t_uncertain:.2f} / {cal.t_fail:.2f} | {sum(b >= cal.t_fail for b in bad)} of {len(bad)} | "
              f"{sum(g >= cal.t_uncertain for g in good)} of {len(good)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the MVTec-style DeepPCB folder")
    ap.add_argument("--out", type=Path, default=HERE, help="profiles/demo (reference/, line/, masks/ are replaced)")
    ap.add_argument("--measure", action="store_true", help="score the set in --out with both methods; write nothing")
    args = ap.parse_args()
    if args.measure:
        return measure(args.out)

    g = args.data / GROUP
    template = cv2.imread(str(g / "test" / "good" / f"{BOARD_ID}_temp.jpg"), cv2.IMREAD_GRAYSCALE)
    tested = cv2.imread(str(g / "test" / "combined" / f"{BOARD_ID}_test.jpg"), cv2.IMREAD_GRAYSCALE)
    mask = cv2.imread(str(g / "ground_truth" / "combined" / f"{BOARD_ID}_test_mask.png"), cv2.IMREAD_GRAYSCALE)
    for name, im in (("template", template), ("tested", tested), ("mask", mask)):
        if im is None or im.shape != (640, 640):
            raise SystemExit(f"{name} image of {GROUP}/{BOARD_ID} missing or not 640x640 under {args.data}")

    refs, good, defect = pick_offsets(random.Random(SEED))
    out = {k: args.out / k for k in ("reference", "line", "masks")}
    for folder in out.values():
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            if old.suffix.lower() in (".png", ".jpg", ".jpeg"):
                old.unlink()

    rows = []
    for i, (dy, dx) in enumerate(refs, 1):
        name = f"ref{i:02d}_{BOARD_ID}_{tag(dy, dx)}.png"
        cv2.imwrite(str(out["reference"] / name), crop(template, dy, dx))
        rows.append((f"reference/{name}", f"test/good/{BOARD_ID}_temp.jpg", dy, dx))

    goods, defects = iter(good), iter(defect)
    for pos in range(1, N_FRAMES + 1):
        kind = "defect" if pos in DEFECT_POSITIONS else "good"
        dy, dx = next(goods) if kind == "good" else next(defects)
        name = f"{pos:04d}_{kind}_{BOARD_ID}_{tag(dy, dx)}.png"
        src = template if kind == "good" else tested
        cv2.imwrite(str(out["line"] / name), crop(src, dy, dx))
        if kind == "defect":
            cv2.imwrite(str(out["masks"] / name), np.where(crop(mask, dy, dx) > 127, 255, 0).astype(np.uint8))
            rows.append((f"line/{name}", f"test/combined/{BOARD_ID}_test.jpg", dy, dx))
        else:
            rows.append((f"line/{name}", f"test/good/{BOARD_ID}_temp.jpg", dy, dx))

    table = ["| file | cropped from (group90100/) | dy | dx | crop rows | crop cols |", "|---|---|---|---|---|---|"]
    for name, src, dy, dx in rows:
        y, x = MARGIN + dy, MARGIN + dx
        table.append(f"| `{name}` | `{src}` | {dy:+d} | {dx:+d} | {y}:{y + CROP} | {x}:{x + CROP} |")
    source = args.out / "SOURCE.md"
    marker = "<!-- offsets table: written by build_demo.py -->"
    if source.exists() and marker in source.read_text():
        head = source.read_text().split(marker)[0]
        source.write_text(head + marker + "\n\n" + "\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
