"""Metrics against answers known by hand and against a slow threshold-by-threshold reference."""

import math

import numpy as np
import pytest

from engine.evaluation.metrics import aupro, downscale_for_metrics, image_auroc, pixel_auroc, pro_curve


def _masks_and_maps(seed: int = 0):
    """Three 40x50 images: two with blob defects, one good, and noisy maps that partly see them."""
    rng = np.random.default_rng(seed)
    masks = [np.zeros((40, 50), bool) for _ in range(3)]
    masks[0][5:15, 5:12] = True
    masks[0][30:33, 40:48] = True
    masks[1][20:28, 10:30] = True
    maps = [rng.normal(0, 1, m.shape).astype(np.float32) + 1.5 * m for m in masks]
    return masks, maps


def test_image_auroc_known_values():
    assert image_auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert image_auroc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert image_auroc([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]) == 0.75
    assert math.isnan(image_auroc([1, 1], [0.3, 0.4]))  # one class: undefined, not an error
    with pytest.raises(ValueError, match="3 labels but 2 scores"):
        image_auroc([0, 1, 1], [0.1, 0.2])


def test_pixel_auroc_perfect_inverted_and_subsampled():
    masks, maps = _masks_and_maps()
    perfect = [m.astype(np.float32) for m in masks]
    assert pixel_auroc(masks, perfect) == 1.0
    assert pixel_auroc(masks, [-p for p in perfect]) == 0.0
    full = pixel_auroc(masks, maps)
    assert 0.8 < full < 1.0
    sub = pixel_auroc(masks, maps, max_pixels=2000)
    assert abs(sub - full) < 0.02 and sub != full
    assert sub == pixel_auroc(masks, maps, max_pixels=2000)  # deterministic
    assert math.isnan(pixel_auroc([masks[2]], [maps[2]]))  # no anomalous pixel


def test_aupro_perfect_and_inverted():
    masks, _ = _masks_and_maps()
    perfect = [m.astype(np.float32) for m in masks]
    assert aupro(masks, perfect) == pytest.approx(1.0)
    assert aupro(masks, [-p for p in perfect]) == pytest.approx(0.0, abs=1e-9)


def test_aupro_half_detected_region_by_hand():
    # One 4-pixel region, 96 normal pixels. Two region pixels score 1, all else 0:
    # PRO = 0.5 at FPR 0, then rises linearly to 1 at FPR 1 -> 0.65 at FPR 0.3.
    # Area over [0, 0.3] = (0.5 + 0.65) / 2 * 0.3, normalised by 0.3 -> 0.575.
    mask = np.zeros((10, 10), bool)
    mask[4:6, 4:6] = True
    amap = np.zeros((10, 10), np.float32)
    amap[4, 4:6] = 1.0
    assert aupro([mask], [amap]) == pytest.approx(0.575)


def test_aupro_weights_regions_not_pixels():
    # A 100-pixel region found, a 4-pixel region missed (scored below every normal pixel):
    # PRO stays 0.5 up to FPR 1 -> AUPRO 0.5, although 96 % of anomalous pixels are found.
    mask = np.zeros((30, 30), bool)
    mask[0:10, 0:10] = True
    mask[20:22, 20:22] = True
    amap = np.zeros((30, 30), np.float32)
    amap[0:10, 0:10] = 1.0
    amap[20:22, 20:22] = -1.0
    assert aupro([mask], [amap]) == pytest.approx(0.5)
    assert pixel_auroc([mask], [amap]) > 0.9


def _slow_aupro(masks, maps, limit=0.3, n_thresholds=4000):
    """MVTec-style reference: loop over thresholds, per-region overlap by explicit labels."""
    import cv2

    region_list = []
    for (i, m), amap in zip(enumerate(masks), maps):
        n, labels = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
        region_list += [(i, labels == k) for k in range(1, n)]
    normal = np.concatenate([a[~m] for m, a in zip(masks, maps)])
    all_scores = np.concatenate([a.ravel() for a in maps])
    fprs, pros = [], []
    for t in np.linspace(all_scores.max(), all_scores.min(), n_thresholds):
        fprs.append((normal >= t).mean())
        pros.append(np.mean([(maps[i][r] >= t).mean() for i, r in region_list]))
    fprs, pros = np.r_[0.0, fprs], np.r_[0.0, pros]
    keep = fprs <= limit
    x, y = fprs[keep], pros[keep]
    y_end = np.interp(limit, fprs, pros)
    return np.trapezoid(np.r_[y, y_end], np.r_[x, limit]) / limit


@pytest.mark.parametrize("seed", [0, 1])
def test_aupro_matches_threshold_loop_reference(seed):
    masks, maps = _masks_and_maps(seed)
    assert aupro(masks, maps) == pytest.approx(_slow_aupro(masks, maps), abs=5e-3)


def test_pro_curve_is_monotone_and_ends_at_one():
    masks, maps = _masks_and_maps()
    fpr, pro = pro_curve(masks, maps)
    assert fpr[0] == 0 and pro[0] == 0 and fpr[-1] == pytest.approx(1) and pro[-1] == pytest.approx(1)
    assert (np.diff(fpr) >= 0).all() and (np.diff(pro) >= -1e-12).all()
    assert math.isnan(aupro([masks[2]], [maps[2]]))  # no region at all


def test_downscale_keeps_thin_defects_and_sizes_match():
    mask = np.zeros((600, 900), bool)
    mask[300, 100:800] = True  # a 1-pixel scratch
    amap = np.random.default_rng(0).random((600, 900)).astype(np.float32)
    small_map, small_mask = downscale_for_metrics(amap, mask)
    assert small_map.shape == small_mask.shape == (171, 256)
    assert small_mask.any() and small_mask.mean() < 0.01
    same_map, same_mask = downscale_for_metrics(amap[:100, :100], mask[:100, :100])
    assert same_map.shape == (100, 100)
    with pytest.raises(ValueError, match="differ in size"):
        downscale_for_metrics(amap, mask[:10])


def test_truncated_pro_curve_is_a_prefix_of_the_full_one():
    masks, maps = _masks_and_maps(3)
    fpr, pro = pro_curve(masks, maps)
    short_fpr, short_pro = pro_curve(masks, maps, max_fpr=0.3)
    n = len(short_fpr)
    # It stops just past 0.3 (one or two points beyond, for the interpolation at 0.3).
    assert n < len(fpr) and short_fpr[-1] > 0.3 and (short_fpr > 0.3).sum() <= 2
    np.testing.assert_allclose(short_fpr, fpr[:n])
    np.testing.assert_allclose(short_pro, pro[:n])
