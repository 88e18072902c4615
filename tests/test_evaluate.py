"""The few-shot benchmark end to end on a tiny MVTec-layout tree of real textures.

Good images are tiles of scikit-image's bundled photos; anomalous test images are other tiles
with synthetic defects (and their masks) from engine.training.synthetic. The kNN method of the
real Detector scores them, so nothing here needs trained weights.
"""

import dataclasses
import json
import logging
import math

import cv2
import numpy as np
import pytest
import skimage.data

from engine import Detector, self_test
from engine.data import index_root
from engine.evaluation.metrics import aupro
from engine.evaluation.runner import SCHEMA, evaluate, reference_indices
from engine.evaluation.summary import METRICS, format_table
from engine.training.synthetic import synthesize

TILE = 96


def _write(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _tiles(gray: np.ndarray) -> list[np.ndarray]:
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    h, w = gray.shape
    return [rgb[y:y + TILE, x:x + TILE] for y in range(0, h - TILE + 1, TILE) for x in range(0, w - TILE + 1, TILE)]


def _make_category(root, name, gray, seed, mask_for_all=True):
    tiles = _tiles(gray)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(tiles))
    for n, i in enumerate(order[:6]):
        _write(root / name / "train" / "good" / f"{n:03d}.png", tiles[i])
    for n, i in enumerate(order[6:10]):
        _write(root / name / "test" / "good" / f"{n:03d}.png", tiles[i])
    for n, i in enumerate(order[10:15]):
        # Foreign-texture blotches and scratches: clearly visible defects.
        result = synthesize(tiles[i], rng, ("perlin_texture", "scratch")[n % 2])
        _write(root / name / "test" / "blotch" / f"{n:03d}.png", result.image)
        if mask_for_all or n > 0:
            _write(root / name / "ground_truth" / "blotch" / f"{n:03d}_mask.png",
                   np.repeat((result.mask * 255).astype(np.uint8)[:, :, None], 3, axis=2))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("mvtec")
    _make_category(root, "brick", skimage.data.brick()[:480, :480], seed=0, mask_for_all=False)
    _make_category(root, "moon", skimage.data.moon()[:480, :480], seed=1)
    (root / "annotations").mkdir()  # not a category: must be ignored
    return root


@pytest.fixture(scope="module")
def knn_detector():
    return Detector.load(method="knn", device="cpu", input_size=96)


@pytest.fixture(scope="module")
def result(dataset, knn_detector):
    return evaluate(knn_detector, [dataset], shots=(2, 4), seeds=(0, 1), methods=("knn",), progress=False)


def test_dataset_index(dataset):
    samples = index_root(dataset)
    assert {s.category for s in samples} == {"brick", "moon"}
    brick = [s for s in samples if s.category == "brick" and s.is_anomalous]
    assert len(brick) == 5 and sum(s.mask_path is None for s in brick) == 1


def test_json_structure_and_ranges(result):
    json.loads(json.dumps(result, allow_nan=False))  # strictly valid JSON: no NaN anywhere
    assert result["schema"] == SCHEMA
    cfg = result["config"]
    assert cfg["categories"] == ["brick", "moon"] and cfg["shots"] == [2, 4] and cfg["seeds"] == [0, 1]
    assert cfg["methods"] == ["knn"] and cfg["input_size"] == 96
    assert result["datasets"]["brick"] == {"root": cfg["roots"][0], "n_train": 6, "n_test": 9,
                                           "n_anomalous": 5, "n_pixel_labelled": 4}
    assert set(result["results"]) == {"knn"}
    for k_key in ("K=2", "K=4"):
        entry = result["results"]["knn"][k_key]
        assert set(entry) == {"per_category", "mean", "skipped"} and entry["skipped"] == {}
        for cat in ("brick", "moon"):
            per_cat = entry["per_category"][cat]
            assert set(per_cat) == {*METRICS, "ms_per_image"}
            for metric in METRICS:
                summary = per_cat[metric]
                assert set(summary) == {"mean", "std", "per_seed"} and len(summary["per_seed"]) == 2
                assert all(0.0 <= v <= 1.0 for v in summary["per_seed"])
                assert summary["mean"] == pytest.approx(np.mean(summary["per_seed"]))
                assert summary["std"] == pytest.approx(np.std(summary["per_seed"], ddof=1))
        for metric in METRICS:
            per_seed_mean = [np.mean([entry["per_category"][c][metric]["per_seed"][s] for c in ("brick", "moon")])
                             for s in range(2)]
            assert entry["mean"][metric]["per_seed"] == pytest.approx(per_seed_mean)
    refs = result["references"]["brick"]
    assert set(refs["K=4"]["0"]) >= set(refs["K=2"]["0"])  # nested over K for one seed
    assert refs["K=2"]["0"] != refs["K=2"]["1"]


def test_visible_defects_are_found(result):
    for k_key in ("K=2", "K=4"):
        entry = result["results"]["knn"][k_key]
        assert entry["mean"]["image_auroc"]["mean"] > 0.7
        # Brick is a regular texture: kNN against 2-4 good tiles finds the defects almost surely.
        assert entry["per_category"]["brick"]["image_auroc"]["mean"] > 0.8
        assert entry["per_category"]["brick"]["pixel_auroc"]["mean"] > 0.75


def test_both_methods_share_references_and_table_prints(dataset, knn_detector):
    class Pair:
        """Two 'methods' from one real detector: knn as is, and knn with inverted scores."""

        method = "resad"
        input_size = knn_detector.input_size
        build_references = knn_detector.build_references
        predict = knn_detector.predict

        def predict_all(self, image, refs):
            p = knn_detector.predict(image, refs)
            flipped = dataclasses.replace(p, score=-p.score, grid_map=-p.grid_map)
            return {"knn": p, "resad": flipped}

    out = evaluate(lambda: Pair(), dataset, categories=["moon"], shots=(3,), seeds=(5,), progress=False)
    knn = out["results"]["knn"]["K=3"]["per_category"]["moon"]["image_auroc"]["mean"]
    inverted = out["results"]["resad"]["K=3"]["per_category"]["moon"]["image_auroc"]["mean"]
    assert inverted == pytest.approx(1.0 - knn)  # same references, same test images
    table = format_table(out)
    assert "moon" in table and "MEAN" in table and "image AUROC" in table


def test_too_few_shots_skips_and_bad_names_fail(dataset, knn_detector, caplog):
    with caplog.at_level(logging.WARNING):
        out = evaluate(knn_detector, dataset, categories=["brick"], shots=(8,), seeds=(0,),
                       methods=("knn",), progress=False)
    entry = out["results"]["knn"]["K=8"]
    assert entry["per_category"] == {} and "only 6 train/good" in entry["skipped"]["brick"]
    assert entry["mean"]["image_auroc"] is None
    with pytest.raises(KeyError, match="tiles"):
        evaluate(knn_detector, dataset, categories=["tiles"], methods=("knn",), progress=False)
    with pytest.raises(ValueError, match="methods"):
        evaluate(knn_detector, dataset, methods=("patchcore",), progress=False)


def test_missing_mask_is_reported_once(dataset, knn_detector, caplog):
    with caplog.at_level(logging.WARNING):
        index_root(dataset / "brick")
    messages = [r.getMessage() for r in caplog.records if "no ground-truth mask" in r.getMessage()]
    assert len(messages) == 1 and "1 anomalous test image" in messages[0]


def test_cli_prints_table_and_writes_json(dataset, tmp_path, capsys):
    from resad_station.cli.main import main

    out = tmp_path / "sub" / "eval.json"
    rc = main(["evaluate", str(dataset), "--categories", "moon", "--shots", "2", "--seeds", "0,3",
               "--method", "knn", "--input-size", "96", "--device", "cpu", "--json", str(out), "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "knn  K=2" in printed and "moon" in printed and f"wrote {out}" in printed
    data = json.loads(out.read_text())
    assert data["config"]["weights"] == "bundled" and data["config"]["seeds"] == [0, 3]
    assert 0.0 <= data["results"]["knn"]["K=2"]["mean"]["image_auroc"]["mean"] <= 1.0
    assert main(["evaluate", str(tmp_path / "missing"), "--method", "knn"]) == 2
    assert "not found" in capsys.readouterr().err


def test_load_rgb_converts_and_names_bad_files(tmp_path):
    from engine.data import load_mask, load_rgb
    from engine.errors import InputImageError

    gray = skimage.data.camera()[:40, :60]
    cv2.imwrite(str(tmp_path / "gray.png"), gray)
    rgba = np.dstack([skimage.data.coffee()[:40, :60, ::-1], np.full((40, 60), 7, np.uint8)])
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    cv2.imwrite(str(tmp_path / "deep.png"), gray.astype(np.uint16) * 257)
    for name in ("gray.png", "rgba.png", "deep.png"):
        image = load_rgb(tmp_path / name)
        assert image.shape == (40, 60, 3) and image.dtype == np.uint8, name
    np.testing.assert_array_equal(load_rgb(tmp_path / "deep.png")[:, :, 1], gray)
    np.testing.assert_array_equal(load_rgb(tmp_path / "rgba.png"), skimage.data.coffee()[:40, :60])
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(InputImageError, match="broken.jpg"):
        load_rgb(tmp_path / "broken.jpg")
    with pytest.raises(FileNotFoundError, match="absent.png"):
        load_rgb(tmp_path / "absent.png")
    drawn = np.zeros((40, 60), np.uint8)
    drawn[10:20, 30:50] = 255
    cv2.imwrite(str(tmp_path / "m_mask.png"), drawn)
    mask = load_mask(tmp_path / "m_mask.png", (20, 30))  # resized (nearest) to the asked shape
    assert mask.shape == (20, 30) and mask.dtype == bool and mask.sum() == 5 * 10
    assert not load_mask(None, (5, 6)).any()


def test_a_root_may_be_one_category(dataset):
    samples = index_root(dataset / "moon")
    assert {s.category for s in samples} == {"moon"}
    assert [s.split for s in samples].count("train") == 6
    with pytest.raises(FileNotFoundError, match="no MVTec-layout category"):
        index_root(dataset / "annotations")


def test_constrained_share_reports_each_level_inside_and_outside_the_defects(dataset):
    from engine.evaluation.constrained_share import constrained_share

    detector = Detector.load(device="cpu", input_size=96)  # the bundled ResAD heads
    rows = constrained_share(detector, index_root(dataset / "moon"), shots=2, images=4, seed=0)
    assert rows and [r["level"] for r in rows] == sorted(r["level"] for r in rows)
    for r in rows:
        assert 0.0 <= r["nonzero_outside"] <= 1.0 and 0.0 <= r["nonzero_inside"] <= 1.0 and r["images"] > 0
    assert rows[0]["knn_norm_inside_over_outside"] > 1.0  # the pasted blotch leaves larger residuals


def test_score_levels_choose_what_the_score_sums(dataset, knn_detector):
    only_coarse = Detector.load(method="knn", device="cpu", input_size=96, score_levels=[2, 3])
    both = [evaluate(d, [dataset], categories=["moon"], shots=(2,), seeds=(0,), methods=("knn",), progress=False)
            for d in (knn_detector, only_coarse)]
    assert both[0]["config"]["score_levels"] == [1, 2, 3] and both[1]["config"]["score_levels"] == [2, 3]
    scores = [b["results"]["knn"]["K=2"]["per_category"]["moon"]["pixel_auroc"]["per_seed"][0] for b in both]
    assert scores[0] != scores[1]  # the maps differ when level 1 is left out
    with pytest.raises(Exception, match="score_levels"):
        Detector.load(method="knn", device="cpu", input_size=96, score_levels=[4])


def test_cli_method_all_reports_every_method_from_one_run(dataset, tmp_path, capsys):
    from resad_station.cli.main import main

    out = tmp_path / "all.json"
    rc = main(["evaluate", str(dataset), "--categories", "moon", "--shots", "2", "--seeds", "0",
               "--method", "all", "--input-size", "96", "--device", "cpu", "--json", str(out), "--no-progress"])
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["config"]["methods"] == ["resad", "knn", "resad+knn", "auto"]
    # auto: the method the self-test chose from the references alone, scored as that method
    chosen = data["auto_choices"]["moon"]["K=2"]["0"]
    assert data["results"]["auto"]["K=2"]["mean"] == data["results"][chosen]["K=2"]["mean"]
    numbers = data["auto_tests"]["moon"]["K=2"]["0"]  # what the choice was made on, per method
    assert set(numbers) == {"resad", "knn", "resad+knn"}
    assert all(set(n) == {"caught", "auroc", "gap", "margin"} for n in numbers.values())
    assert chosen == self_test.choose_method(
        {m: tuple(float("nan") if n[k] is None else n[k] for k in self_test.CHOICE_ORDER) for m, n in numbers.items()})
    for method in data["config"]["methods"]:
        assert 0.0 <= data["results"][method]["K=2"]["mean"]["image_auroc"]["mean"] <= 1.0
    assert "resad+knn  K=2" in capsys.readouterr().out


def test_search_auto_records_each_draw_s_choice_and_scores_as_that_search(dataset):
    """Under engine.search "auto" each reference draw chooses its search from its shots; the JSON says
    which, with the signal, and the numbers are those of the fixed search it chose."""
    from engine.references import SET_SEARCHES

    run = {s: evaluate(Detector.load(method="knn", device="cpu", input_size=96, search=s), [dataset],
                       categories=["moon"], shots=(2,), seeds=(0,), methods=("knn",), progress=False)
           for s in ("auto", "guided", "wide")}
    choice = run["auto"]["search_choices"]["moon"]["K=2"]["0"]
    assert choice["search"] in SET_SEARCHES and np.isfinite(choice["excess"])
    assert not run["guided"]["search_choices"]
    per_seed = {s: r["results"]["knn"]["K=2"]["per_category"]["moon"]["pixel_auroc"]["per_seed"] for s, r in run.items()}
    assert per_seed["guided"] != per_seed["wide"]  # so the next line tells which search auto ran
    assert per_seed["auto"] == per_seed[choice["search"]]
