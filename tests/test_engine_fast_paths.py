"""The engine's inference shortcuts give the numbers of the plain forms they replace."""

import pytest
import torch

from engine import Detector
from engine.backbone import load_backbone, load_timm_features
from engine.nn_search import search_levels
from engine.preprocess import prepare
from tests.engine_heads import heads_off_the_identity
from tests.engine_images import brick_crops, with_defect


@pytest.fixture(scope="module")
def detector():
    return Detector.load(method="resad", device="cpu", input_size=128)


@pytest.fixture(scope="module")
def crops():
    return brick_crops(6, seed=5)


def test_truncated_folded_backbone_gives_timms_features(crops):
    x = torch.stack([prepare(c, 128).tensor for c in crops[:2]])
    with torch.inference_mode():
        expected, got = load_timm_features()(x), load_backbone()(x)
    assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in expected]
    for e, g in zip(expected, got):
        assert torch.allclose(g, e, atol=1e-3 * float(e.abs().max()))


def test_sparse_flows_equal_every_position_through_the_flow(detector, crops):
    heads = heads_off_the_identity()  # the bundled identity flows skip the sparse path
    refs = detector.build_references(crops[:4])
    frames = [with_defect(crops[4])[0], crops[5]]
    x = torch.stack([prepare(f, 128).tensor for f in frames])
    with torch.inference_mode():
        residuals = search_levels(detector._features(x), refs.pools("cpu"), detector.radius)
        for level, r in enumerate(residuals):
            constrained = heads.constrain(level, r).clone()
            # the case the shortcut is for: a mix of zero positions (a trained constraintor sends
            # normal ones to zero; the untrained heads do not) and non-zero ones
            constrained[:, :, : constrained.shape[2] // 2] = 0
            nonzero = constrained.permute(0, 2, 3, 1).reshape(-1, constrained.shape[1]).any(1)
            assert 0 < int(nonzero.sum()) < nonzero.numel()
            assert not heads._fused(level).identity
            sparse = heads.log_prob_map(level, constrained)
            dense = heads.log_prob_map(level, constrained, dense=True)
            assert torch.allclose(sparse, dense, rtol=1e-5, atol=1e-4), f"level {level}"


def test_guided_search_finds_a_reference_in_its_own_pool(detector, crops):
    refs = detector.build_references(crops[:4])
    query = [m.unsqueeze(0) for m in refs.maps[2]]  # shot 2 itself: its exact match is itself
    with torch.inference_mode():
        guided = search_levels(query, refs.pools("cpu"), detector.radius)
        exact = search_levels(query, refs.pools("cpu"), detector.radius, exhaustive=3)
    for g, e in zip(guided, exact):
        assert float(g.abs().max()) == 0.0 and float(e.abs().max()) == 0.0


@pytest.mark.parametrize("mixed_sizes", [False, True])
def test_shared_window_search_equals_each_position_searching_its_own_window(detector, crops, mixed_sizes):
    import numpy as np

    from engine.nn_search import Match, _per_child_search, _shared_window_search, exact_search

    shots = list(crops[:4])
    if mixed_sizes:  # one wider shot: the pool is padded and windows clamp per reference
        shots[1] = np.concatenate([shots[1], shots[1][:, :64]], axis=1)
    refs = detector.build_references(shots)
    frames = [with_defect(crops[4])[0], crops[5]]
    x = torch.stack([prepare(f, 128).tensor for f in frames])
    with torch.inference_mode():
        feats = detector._features(x)
        pools = refs.pools("cpu")
        coarse = feats[1].permute(0, 2, 3, 1).contiguous()
        idx, _ = exact_search(coarse.reshape(-1, coarse.shape[-1]), pools[1])
        parent = Match(*pools[1].unravel(idx.view(coarse.shape[:3])))
        fine = feats[0].permute(0, 2, 3, 1).contiguous()
        shared = _shared_window_search(fine, pools[0], parent, detector.radius)
        own, _ = _per_child_search(fine, pools[0], parent, detector.radius)
    assert pools[0].same_size is (not mixed_sizes)
    # same neighbour everywhere, up to float ties between two equally near references
    q = fine.reshape(-1, fine.shape[-1])
    d_shared = (q - pools[0].feats[shared.reshape(-1)]).norm(dim=1)
    d_own = (q - pools[0].feats[own.reshape(-1)]).norm(dim=1)
    assert torch.allclose(d_shared, d_own, atol=1e-4)
    assert float((shared == own).float().mean()) > 0.99


def test_freed_memory_stays_in_the_heap_on_linux():
    import sys

    from engine.allocator import keep_freed_memory

    detector_made_it_so = keep_freed_memory()  # a CPU Detector already called it (idempotent)
    assert detector_made_it_so is sys.platform.startswith("linux")


def test_wide_search_is_exhaustive_at_levels_2_and_3(detector, crops):
    """search="wide" searches levels 2-3 over every position: there its residuals are the exact
    ones, never farther than the guided search's; level 1 stays a guided window."""
    refs = detector.build_references(crops[:4])
    x = torch.stack([prepare(f, 128).tensor for f in (with_defect(crops[4])[0], crops[5])])
    with torch.inference_mode():
        feats = detector._features(x)
        guided, wide, exact = (search_levels(feats, refs.pools("cpu"), detector.radius, exhaustive=n) for n in (1, 2, 3))
    assert torch.equal(wide[2], guided[2]) and torch.equal(wide[2], exact[2])
    assert torch.allclose(wide[1].norm(dim=1), exact[1].norm(dim=1), atol=1e-4)
    assert bool((wide[1].norm(dim=1) <= guided[1].norm(dim=1) + 1e-4).all())
    assert not torch.allclose(guided[1], exact[1])  # the case it is for: the window missed somewhere


def test_broad_search_follows_several_coarse_matches_and_is_never_farther_than_guided(detector, crops):
    """search="broad": level 3 is the same exact search; level 2 searches the windows of the best
    3 coarse matches, the best one's included, so its neighbours are never farther than the guided
    search's, and where a second match leads somewhere better they are nearer."""
    from engine.nn_search import COARSE_MATCHES, Match, _shared_window_search, exact_search_top

    refs = detector.build_references(crops[:4])
    x = torch.stack([prepare(f, 128).tensor for f in (with_defect(crops[4])[0], crops[5])])
    with torch.inference_mode():
        feats = detector._features(x)
        pools = refs.pools("cpu")
        guided = search_levels(feats, pools, detector.radius)
        broad = search_levels(feats, pools, detector.radius, exhaustive=1, matches=COARSE_MATCHES)
        # the multi-window search equals the best of one single-window search per coarse match
        q3 = feats[2].permute(0, 2, 3, 1).contiguous()
        top, _ = exact_search_top(q3.reshape(-1, q3.shape[-1]), pools[2], COARSE_MATCHES)
        parents = Match(*pools[2].unravel(top.view(*q3.shape[:3], -1)))
        q2 = feats[1].permute(0, 2, 3, 1).contiguous()
        multi = _shared_window_search(q2, pools[1], parents, detector.radius)
        dist = lambda rows: (q2 - pools[1].feats[rows]).norm(dim=-1)
        single = torch.stack([dist(_shared_window_search(q2, pools[1], Match(parents.k[..., t], parents.y[..., t],
                                                                                 parents.x[..., t]), detector.radius))
                              for t in range(COARSE_MATCHES)])
    assert torch.equal(broad[2], guided[2])
    assert torch.allclose(dist(multi), single.min(0).values, atol=1e-5)
    assert bool((broad[1].norm(dim=1) <= guided[1].norm(dim=1) + 1e-5).all())
    assert bool((broad[1].norm(dim=1) < guided[1].norm(dim=1) - 1e-3).any())  # a second match helped somewhere
    assert "~broad" in Detector.load(method="knn", device="cpu", input_size=128, search="broad").score_id


def test_the_search_mode_is_part_of_the_score_id():
    wide = Detector.load(method="knn", device="cpu", input_size=128, search="wide")
    assert "~wide" in wide.score_id
    with pytest.raises(Exception, match="search: expected one of"):
        Detector.load(method="knn", device="cpu", search="everywhere")


def test_exact_search_top_orders_the_nearest_and_agrees_with_exact_search():
    from engine.nn_search import LevelPool, exact_search, exact_search_top

    gen = torch.Generator().manual_seed(0)
    pool = LevelPool.from_maps([torch.randn(8, 5, 6, generator=gen) for _ in range(3)])
    query = torch.randn(40, 8, generator=gen)
    top, near = exact_search_top(query, pool, 3)
    best, near_exact = exact_search(query, pool)
    assert torch.equal(top[:, 0], best) and torch.equal(near, near_exact)
    dist = ((query[:, None, :] - pool.feats[top]) ** 2).sum(-1)
    assert bool((dist[:, :-1] <= dist[:, 1:] + 1e-5).all())  # nearest first
    assert torch.equal(dist[:, 2], ((query[:, None, :] - pool.feats[None]) ** 2).sum(-1).sort(1).values[:, 2])
    tiny = LevelPool.from_maps([torch.randn(8, 1, 1, generator=gen) for _ in range(2)])  # 2 rows, 3 asked
    rows, _ = exact_search_top(query, tiny, 3)
    assert torch.equal(rows[:, 2], rows[:, 0]) and set(rows[:, :2].unique().tolist()) <= {0, 1}


def test_an_exact_search_in_cache_sized_steps_picks_what_one_step_picks(monkeypatch):
    """Large pools are searched a few query rows at a time (CHUNK_DISTANCES): the picks, ties
    included (repeated pool rows, as on a board's plain areas), are those of one matrix."""
    import engine.nn_search as ns

    gen = torch.Generator().manual_seed(1)
    maps = [torch.randn(40, 32, 64, generator=gen) for _ in range(4)]
    maps[1][:, :8] = maps[0][:, :8]  # exact ties between shots: the first row must win in every step
    pool = ns.LevelPool.from_maps(maps)
    query = torch.cat([torch.randn(700, 40, generator=gen), maps[0][:, 0, :50].t()])  # some queries on the ties
    monkeypatch.setattr(ns, "CHUNK_DISTANCES", 1 << 40)  # one step
    whole, _ = ns.exact_search(query, pool)
    whole_top, _ = ns.exact_search_top(query, pool, 3)
    monkeypatch.setattr(ns, "CHUNK_DISTANCES", 1)  # MIN_CHUNK rows a step: 8 steps
    steps, _ = ns.exact_search(query, pool)
    steps_top, _ = ns.exact_search_top(query, pool, 3)
    assert torch.equal(whole, steps) and torch.equal(whole_top[:, 0], steps_top[:, 0])
    assert bool((whole[700:] < 32 * 64).all())  # the tied queries matched shot 0, the first


def test_the_search_picks_the_true_nearest_where_float32_cannot_tell():
    """The search ranks by ||p||^2 - 2 q.p. On real features ||p||^2 reaches 5,000-13,000, where
    float32's error exceeds the gap between some candidates (ranked in float32, 421 of the 2048
    picks at level 2 were not the nearest); ranked in float64, each pick is the nearest by the
    direct ||q - p|| (engine/nn_search.py)."""
    from engine.data.mvtec import load_rgb
    from engine.nn_search import exact_search
    from resad_station.capture.imaging import image_files
    from resad_station.paths import SHIPPED_PROFILES_DIR

    demo = SHIPPED_PROFILES_DIR / "demo"
    det = Detector.load(method="knn", device="cpu")
    refs = det.build_references([load_rgb(p) for p in image_files([demo / "reference"])[:4]])
    x = torch.stack([prepare(load_rgb(p), 256).tensor for p in image_files([demo / "line"])[:2]])
    with torch.inference_mode():
        feats = det._features(x)
        pools = refs.pools("cpu")
        for level in (1, 2):  # levels 2 and 3: 2048 and 512 queries against 4096 and 1024 positions
            q = feats[level].permute(0, 2, 3, 1).reshape(-1, feats[level].shape[1])
            picked_rows, _ = exact_search(q, pools[level])
            q64, pool = q.double(), pools[level].feats.double()
            valid = torch.isfinite(pools[level].sqnorm)
            nearest = torch.cat([((c[:, None, :] - pool[valid][None]) ** 2).sum(-1).min(1).values for c in q64.split(16)])
            picked = ((q64 - pool[picked_rows]) ** 2).sum(1)
            assert torch.allclose(picked, nearest, rtol=1e-9, atol=1e-9), f"level {level + 1}"


def test_cpu_mini_batches_hold_a_bounded_number_of_pixels():
    """Four 256 px frames go through the CPU engine together; 512 px frames one at a time (four of
    them together took twice the time per frame: docs/benchmarks.md)."""
    from engine.detector import CPU_BATCH_PIXELS

    for size, sizes in ((256, [4, 2]), (512, [1] * 6)):
        det = Detector.load(method="knn", device="cpu", input_size=size)
        prepared = [prepare(c, size) for c in brick_crops(6)]  # 192 px crops, resized to the input size
        batches = det._batches(prepared)
        assert [len(b) for b in batches] == sizes and sorted(i for b in batches for i in b) == list(range(6))
        assert all(len(b) * size * size <= max(CPU_BATCH_PIXELS, size * size) for b in batches)
