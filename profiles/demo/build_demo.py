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
- line/: 32 frames, runs of 3, 4, 3, 4, 3, 3 good frames, each followed by 2 defective frames. Good frames are
  template crops at jitters not used by any reference; defective frames are crops of the tested scan.
  Named <position:04d>_<good|defect>_<id>_dy<+d>_dx<+d>.png so that sorting the folder gives the line order.
- masks/: for each defective frame, the defect mask cropped the same way, same name ({0,255} PNG).

Deterministic (random.Random(SEED)). Run from a checkout that has ../shared/data beside it:

    cd profiles/demo && python build_demo.py          # or: python profiles/demo/build_demo.py --data DIR
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
GOOD_RUNS = (3, 4, 3, 4, 3, 3)  # each run of good frames is followed by DEFECTS_PER_RUN defective frames
DEFECTS_PER_RUN = 2


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
    n_good, n_defect = sum(GOOD_RUNS), DEFECTS_PER_RUN * len(GOOD_RUNS)
    good = rest[:n_good]
    defect = rng.sample(grid, n_defect)  # defective parts: any pose
    return refs, good, defect


def tag(dy: int, dx: int) -> str:
    return f"dy{dy:+d}_dx{dx:+d}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the MVTec-style DeepPCB folder")
    ap.add_argument("--out", type=Path, default=HERE, help="profiles/demo (reference/, line/, masks/ are replaced)")
    args = ap.parse_args()

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

    pos, goods, defects = 0, iter(good), iter(defect)
    for run in GOOD_RUNS:
        for kind, n in (("good", run), ("defect", DEFECTS_PER_RUN)):
            for _ in range(n):
                pos += 1
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
