"""Where the constraintor's non-zero positions fall on a dataset: inside defects, or everywhere.

In domain, the ReLU sends most normal residuals to exactly 0 and the flows see few positions.
On a product unlike the training data it may not: this prints, per level, the share of non-zero
positions inside and outside the ground-truth masks, with the kNN residual norm ratio beside it.

    python -m engine.evaluation.constrained_share ROOT/CATEGORY --weights W [--shots 4] [--images 40] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from engine.data.mvtec import index_root, load_mask, load_rgb
from engine.detector import Detector
from engine.preprocess import prepare


def constrained_share(detector: Detector, samples, shots: int, images: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    good = [s for s in samples if s.split == "train" and not s.is_anomalous]
    defects = [s for s in samples if s.split == "test" and s.is_anomalous and s.mask_path is not None]
    refs = detector.build_references([load_rgb(good[i].path) for i in rng.choice(len(good), shots, replace=False)])
    pools = refs.pools(detector.device)
    scale = detector._scale(refs)  # None unless the model was trained with the references' residual scale
    rows: list[list[tuple[float, float, float]]] = [[] for _ in range(refs.levels)]
    for i in rng.choice(len(defects), min(images, len(defects)), replace=False):
        image = load_rgb(defects[i].path)
        mask = load_mask(defects[i].mask_path, image.shape)
        with torch.inference_mode():
            residuals = detector._residuals(detector._features(prepare(image, detector.input_size).tensor[None]), pools, refs)
            for level, (r, c) in enumerate(zip(residuals, detector._constrained(residuals, scale))):
                nonzero = (c[0] != 0).any(0).cpu().numpy()
                norm = r[0].norm(dim=0).cpu().numpy()
                inside = load_mask(defects[i].mask_path, nonzero.shape) if mask.any() else None
                if inside is None or inside.all() or not inside.any():
                    continue  # the defect vanished at this level's resolution, or covers it all
                rows[level].append((nonzero[inside].mean(), nonzero[~inside].mean(), norm[inside].mean() / norm[~inside].mean()))
    return [{"level": level + 1, "images": len(r), "nonzero_inside": float(np.mean([x[0] for x in r])),
             "nonzero_outside": float(np.mean([x[1] for x in r])), "knn_norm_inside_over_outside": float(np.mean([x[2] for x in r]))}
            for level, r in enumerate(rows) if r]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.evaluation.constrained_share", description=__doc__.split("\n")[0])
    parser.add_argument("root", help="an MVTec-layout category folder (or a dataset root)")
    parser.add_argument("--weights", default=None, help="ResAD weights (default: the bundled model)")
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--images", type=int, default=40, help="defect images to look at")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    detector = Detector.load(args.weights, device="cpu")
    for row in constrained_share(detector, index_root(args.root), args.shots, args.images, args.seed):
        print(f"level {row['level']}: {row['images']} defect images; non-zero share inside defects "
              f"{row['nonzero_inside']:.3f}, outside {row['nonzero_outside']:.3f}; "
              f"kNN residual norm inside/outside {row['knn_norm_inside_over_outside']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
