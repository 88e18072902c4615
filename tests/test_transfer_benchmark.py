"""The transfer protocol end to end, tiny: three MVTec-layout datasets made here, a few training
steps, every method; the trained models are cached and a rerun only evaluates."""

import itertools
import json
import sys

import numpy as np
import pytest
import skimage.data
import torch

from engine import METHODS, Detector
from engine.evaluation.runner import evaluate
from engine.evaluation.transfer import InferenceSettings, ProtocolSettings, format_summary, model_key, run_protocol
from engine.evaluation.transfer_targets import plan
from engine.training.trainer import TrainConfig
from resad_station.cli.main import main
from tests.test_evaluate import _make_category


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    _make_category(root / "bricks", "brick", skimage.data.brick()[:480, :480], seed=0)
    _make_category(root / "moons", "moon", skimage.data.moon()[:480, :480], seed=1)
    _make_category(root / "grass", "grass", skimage.data.grass()[:480, :480], seed=2)
    return root


SETTINGS = ProtocolSettings(
    train=TrainConfig(steps=2, eval_every=2, shots=2, batch=2, input_size=96, lr=1e-5),
    extras=(),
    inference=InferenceSettings(shots=(2, 4), seeds=(0, 1), input_size=96, score_rules=("max", "top5"), max_test=12),
)


def test_plan_trains_on_everything_but_the_target(data, tmp_path):
    p = plan("moons", data, ("textures", "elpv"), tmp_path)
    assert [r.name for r in p.train_roots] == ["bricks", "grass"]
    assert [r.name for r in p.eval_roots] == ["moons"]
    assert p.extras == ("textures", "elpv")
    with pytest.raises(KeyError, match="no MVTec-layout dataset folder"):
        plan("nothing", data, (), tmp_path)


def test_model_key_follows_data_and_settings(data, tmp_path):
    p = plan("moons", data, (), tmp_path)
    base = model_key(p, SETTINGS.train)
    assert model_key(p, SETTINGS.train) == base
    assert model_key(p, TrainConfig(steps=3, eval_every=2, shots=2, batch=2, input_size=96)) != base
    assert model_key(plan("grass", data, (), tmp_path), SETTINGS.train) != base


def test_protocol_runs_caches_models_and_reruns_without_training(data, tmp_path):
    torch.set_num_threads(1)
    first = run_protocol(data, tmp_path, SETTINGS, ("moons", "grass"), progress=False)
    assert set(first["targets"]) == {"moons", "grass"}
    for t, entry in first["targets"].items():
        assert entry["model"]["trained_now"]
        assert t not in entry["model"]["train_roots"]
    for key in ("resad", "knn", "resad+knn", "resad@top5", "knn@top5"):
        for kk in ("K=2", "K=4"):
            mean = first["summary"][key][kk]["mean"]["image_auroc"]
            assert 0.0 <= mean["mean"] <= 1.0 and len(mean["per_seed"]) == 2
            per_target = [first["summary"][key][kk]["per_target"][t]["image_auroc"]["per_seed"] for t in ("moons", "grass")]
            assert mean["per_seed"] == pytest.approx([(a + b) / 2 for a, b in zip(*per_target)])
    for entry in first["targets"].values():  # "auto" (the profile default) is the method its self-test chose
        ev = entry["evaluation"]
        picks = [(cat, kk, int(s), chosen) for cat, per_k in ev["auto_choices"].items()
                 for kk, per_seed in per_k.items() for s, chosen in per_seed.items()]
        assert picks and all(chosen in METHODS for *_, chosen in picks)
        for (cat, kk, s, chosen), rule in itertools.product(picks, ("", "@top5")):
            got = ev["results"]["auto" + rule][kk]["per_category"][cat]["image_auroc"]["per_seed"][s]
            assert got == ev["results"][chosen + rule][kk]["per_category"][cat]["image_auroc"]["per_seed"][s]
    again = run_protocol(data, tmp_path, SETTINGS, ("moons", "grass"), progress=False)
    assert not any(e["model"]["trained_now"] for e in again["targets"].values())
    assert again["summary"] == first["summary"]
    assert "MEAN" in format_summary(first) and "resad+knn" in format_summary(first)


def test_results_cache_follows_the_choice_threshold_and_search_rules(data, tmp_path, monkeypatch):
    """A changed self-test choice order, threshold constant or search rule must not be answered from a stale cache."""
    from dataclasses import replace

    from engine import search_choice, self_test, thresholds
    from engine.evaluation import transfer

    p, model = plan("moons", data, (), tmp_path), {"key": "m"}
    auto = replace(SETTINGS.inference, search="auto")
    base = transfer.results_path(p, model, SETTINGS.inference, tmp_path)
    base_auto = transfer.results_path(p, model, auto, tmp_path)
    assert transfer.results_path(p, model, SETTINGS.inference, tmp_path) == base and base_auto != base
    monkeypatch.setattr(self_test, "CHOICE_ORDER", ("caught", "gap"))
    assert transfer.results_path(p, model, SETTINGS.inference, tmp_path) != base
    monkeypatch.undo()
    monkeypatch.setattr(thresholds, "UNCERTAIN_CEILING", 2.5)  # a constant, not only the rule's text
    assert transfer.results_path(p, model, SETTINGS.inference, tmp_path) != base
    monkeypatch.undo()
    monkeypatch.setattr(search_choice, "WIDE_ABOVE", 0.3)  # keys the auto search, not a fixed one
    assert transfer.results_path(p, model, auto, tmp_path) != base_auto
    assert transfer.results_path(p, model, SETTINGS.inference, tmp_path) == base


def test_cached_features_give_the_uncached_numbers(data):
    det = Detector.load(method="knn", device="cpu", input_size=96)
    plain = evaluate(det, [data / "moons"], shots=(2,), seeds=(0, 1), methods=("knn",), progress=False)
    cached = evaluate(det, [data / "moons"], shots=(2,), seeds=(0, 1), methods=("knn",), progress=False,
                      cache_features=True)
    for metric in ("image_auroc", "pixel_auroc", "aupro"):
        a = plain["results"]["knn"]["K=2"]["mean"][metric]["per_seed"]
        b = cached["results"]["knn"]["K=2"]["mean"][metric]["per_seed"]
        assert np.allclose(a, b, atol=1e-6), metric


def test_cli_writes_table_and_json(data, tmp_path, capsys):
    out = tmp_path / "t.json"
    rc = main(["benchmark", "transfer", "--data", str(data), "--targets", "bricks", "--extra", "", "--shots", "2",
               "--seeds", "0", "--steps", "1", "--eval-every", "1", "--batch", "2", "--input-size", "96",
               "--method", "knn", "--cache-dir", str(tmp_path / "c"), "--json", str(out), "--no-progress"])
    assert rc == 0
    assert "bricks" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["schema"] == "resad-station/transfer/v1"
    assert list(result["summary"]) == ["knn"]
    assert main(["benchmark", "transfer", "--data", str(data), "--targets", "nope", "--extra", ""]) == 2
    assert "nope" in capsys.readouterr().err


def test_elpv_without_its_package_says_how_to_install_it(data, tmp_path, capsys, monkeypatch):
    """elpv-dataset is the optional 'train' extra; without it the elpv target is refused in one line."""
    monkeypatch.setitem(sys.modules, "elpv_dataset", None)  # what an environment without the extra imports
    rc = main(["benchmark", "transfer", "--data", str(data), "--targets", "elpv", "--extra", "",
               "--cache-dir", str(tmp_path / "c"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "elpv-dataset" in err and "pip install -e '.[train]'" in err and "Traceback" not in err


def test_subsample_keeps_the_ratio_and_is_fixed(data):
    from engine.data import index_root
    from engine.evaluation.runner import subsample_test

    test = [s for s in index_root(data / "moons") if s.split == "test"]  # 4 good, 5 anomalous
    part = subsample_test(test, 4)
    assert len(part) == 4 and sum(s.is_anomalous for s in part) == 2
    assert part == subsample_test(test, 4) and part == [s for s in test if s in part]  # fixed draw, file order
    assert subsample_test(test, 100) == test
