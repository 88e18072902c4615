"""A tiny training run on real texture crops: the loss goes down and the checkpoint loads."""

import cv2
import numpy as np
import pytest
import torch

from engine import Detector
from engine.backbone import load_backbone
from engine.training.feature_bank import FeatureExtractor, build_bank
from engine.training.run import train_model
from engine.training.sources import CategoryData
from engine.training.trainer import Trainer, TrainConfig
from engine.weights import load_heads
from tests.engine_images import brick_crops, with_defect

SIZE = 64  # small input keeps the test fast; every level still has positions


def _bank():
    crops = brick_crops(8, size=128, seed=5)
    cat = CategoryData("brick", good=[lambda c=c: c for c in crops])
    return build_bank([cat], FeatureExtractor(load_backbone(), SIZE), synthetic_per_good=1, seed=0, progress=False)


def test_steps_on_a_fixed_batch_lower_the_loss_and_train_every_level():
    banks = _bank()
    cfg = TrainConfig(steps=10, batch=4, shots=2, chunk=10**6, input_size=SIZE, seed=0)
    trainer = Trainer(banks, cfg, progress=False)
    draw = trainer._draw()
    before = [p.detach().clone() for f in trainer.heads.flows for p in f.parameters()]
    first = trainer.step(draw)["loss"]
    trainer.step(draw)
    third = trainer.step(draw)["loss"]
    assert third < first
    after = list(p for f in trainer.heads.flows for p in f.parameters())
    per_level = np.cumsum([0] + [len(list(f.parameters())) for f in trainer.heads.flows])
    for lvl in range(3):  # the reference code never trained its deepest level
        changed = any(
            not torch.equal(before[i], after[i]) for i in range(per_level[lvl], per_level[lvl + 1])
        )
        assert changed, f"flow of level {lvl} did not change"


def _mvtec_tree(root):
    crops = brick_crops(12, size=128, seed=9)
    for i, c in enumerate(crops[:7]):
        d = root / "brick" / "train" / "good"
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / f"{i:03d}.png"), c)
    for i, c in enumerate(crops[7:9]):
        d = root / "brick" / "test" / "good"
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / f"{i:03d}.png"), c)
    for i, c in enumerate(crops[9:]):
        bad, mask = with_defect(c, box=(40, 40, 30, 30))
        d = root / "brick" / "test" / "stain"
        m = root / "brick" / "ground_truth" / "stain"
        d.mkdir(parents=True, exist_ok=True)
        m.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / f"{i:03d}.png"), bad)
        cv2.imwrite(str(m / f"{i:03d}_mask.png"), mask.astype(np.uint8) * 255)


def test_a_two_step_run_writes_a_loadable_checkpoint_with_its_card(tmp_path):
    _mvtec_tree(tmp_path / "data")
    out = tmp_path / "model.safetensors"
    cfg = TrainConfig(steps=2, batch=4, shots=2, input_size=SIZE, eval_every=1, seed=0)
    card = train_model([str(tmp_path / "data")], out, cfg, heldout_fraction=0.5, progress=False, command="test")
    heads, loaded_card = load_heads(out)
    assert loaded_card["sha256"] == card["sha256"]
    assert loaded_card["seed"] == 0 and loaded_card["best_step"] in (1, 2)
    assert loaded_card["data"]["brick"]["good"] >= 3
    det = Detector.load(out, device="cpu", input_size=SIZE)
    refs = det.build_references(brick_crops(3, size=128, seed=1))
    assert np.isfinite(det.predict(brick_crops(1, size=128, seed=2)[0], refs).score)


def test_reference_residual_scale_trains_saves_and_travels_with_the_reference_set(tmp_path):
    from engine import ReferenceSet
    from engine.detector import RESIDUAL_SCALE
    from engine.residual_scale import leave_one_out_norms, residual_scale

    _mvtec_tree(tmp_path / "data")
    out = tmp_path / "scaled.safetensors"
    cfg = TrainConfig(steps=2, batch=4, shots=2, input_size=SIZE, eval_every=1, seed=0, residual_norm="reference")
    train_model([str(tmp_path / "data")], out, cfg, heldout_fraction=0.5, progress=False, command="test")
    heads, card = load_heads(out)
    assert heads.config.residual_norm == "reference" and card["config"]["residual_norm"] == "reference"
    det = Detector.load(out, device="cpu", input_size=SIZE)
    refs = det.build_references(brick_crops(3, size=128, seed=1))
    with torch.inference_mode():
        expected = residual_scale(leave_one_out_norms(refs))
    assert torch.allclose(refs.stats[RESIDUAL_SCALE], expected) and (expected > 0).all()
    frame = with_defect(brick_crops(1, size=128, seed=2)[0], box=(40, 40, 30, 30))[0]
    again = ReferenceSet.from_bytes(refs.to_bytes())  # the scale is stored with the references
    assert torch.equal(again.stats[RESIDUAL_SCALE], refs.stats[RESIDUAL_SCALE])
    assert det.predict(frame, again).score == det.predict(frame, refs).score
    # the heads really see scaled residuals: with the scale doubled the score changes
    again.stats[RESIDUAL_SCALE] = refs.stats[RESIDUAL_SCALE] * 2
    assert det.predict(frame, again).score != det.predict(frame, refs).score


def _two_category_banks():
    import skimage.data

    gravel = np.repeat(skimage.data.gravel()[:, :, None], 3, 2)
    rng = np.random.default_rng(3)
    crops = [gravel[y : y + 128, x : x + 128].copy() for y, x in rng.integers(0, 300, size=(7, 2))]
    cats = [CategoryData("brick", good=[lambda c=c: c for c in brick_crops(7, size=128, seed=5)]),
            CategoryData("gravel", good=[lambda c=c: c for c in crops])]
    return build_bank(cats, FeatureExtractor(load_backbone(), SIZE), synthetic_per_good=1, seed=0, progress=False)


def test_select_on_keeps_a_category_out_of_training_and_selects_on_it_alone():
    banks = _two_category_banks()
    cfg = TrainConfig(steps=2, batch=4, shots=2, input_size=SIZE, seed=0, select_on=("gravel",))
    trainer = Trainer(banks, cfg, progress=False)
    assert [b.name for b in trainer.banks] == ["brick"] and [b.name for b in trainer.select_banks] == ["gravel"]
    gravel_items = {id(it) for b in banks if b.name == "gravel" for it in b.good + b.synthetic}
    for _ in range(20):  # training never draws the selection category
        refs, queries = trainer._draw()
        assert not {id(it) for it in refs + queries} & gravel_items
    det = Detector(trainer.heads, {"sha256": "training"}, "cpu", SIZE, "resad")
    metrics = trainer.evaluate(det)
    assert set(metrics["per_category"]) == {"gravel"}  # brick has no held-out images: only gravel counts
    assert 0.0 <= metrics["resad"] <= 1.0 and metrics["knn"] == metrics["per_category"]["gravel"]["knn"]
    # without select_on, gravel trains and nothing here has held-out test images
    plain = Trainer(banks, TrainConfig(steps=2, batch=4, shots=2, input_size=SIZE, seed=0), progress=False)
    assert {b.name for b in plain.banks} == {"brick", "gravel"} and plain.evaluate(det) == {}


def test_select_on_an_unknown_category_names_the_ones_there_are():
    with pytest.raises(ValueError, match=r"no category named \['tile'\].*'brick', 'gravel'"):
        Trainer(_two_category_banks(), TrainConfig(shots=2, input_size=SIZE, select_on=("tile",)), progress=False)


def test_keep_checkpoints_writes_every_evaluated_step_loadable(tmp_path):
    _mvtec_tree(tmp_path / "data")
    out = tmp_path / "model.safetensors"
    cfg = TrainConfig(steps=2, batch=4, shots=2, input_size=SIZE, eval_every=1, seed=0)
    card = train_model([str(tmp_path / "data")], out, cfg, heldout_fraction=0.5, progress=False, command="test",
                       keep_checkpoints=True)
    steps = []
    for step in (1, 2):
        heads, ck_card = load_heads(tmp_path / f"model-step{step}.safetensors")
        assert ck_card["step"] == step and ck_card["checkpoint_of"] == "model.safetensors"
        steps.append(heads)
    # the selected model is one of the two checkpoints, weight for weight
    chosen = steps[card["best_step"] - 1].state_dict()
    final, _ = load_heads(out)
    assert all(torch.equal(v, chosen[k]) for k, v in final.state_dict().items())


def test_train_cli_refuses_an_unknown_selection_category_by_name(tmp_path, capsys):
    from resad_station.cli.main import main

    _mvtec_tree(tmp_path / "data")
    out = tmp_path / "model.safetensors"
    rc = main(["train", str(tmp_path / "data"), "--out", str(out), "--steps", "2", "--batch", "4", "--shots", "2",
               "--input-size", str(SIZE), "--select-on", "tile"])
    assert rc == 2 and not out.exists()
    assert "no category named ['tile']" in capsys.readouterr().err


def test_flow_lr_trains_the_flows_at_their_own_rate():
    banks = _bank()
    cfg = TrainConfig(steps=10, batch=4, shots=2, input_size=SIZE, seed=0, flow_lr=0.0)
    trainer = Trainer(banks, cfg, progress=False)
    grouped = [p for g in trainer.opt.param_groups for p in g["params"]]
    assert len(grouped) == len(list(trainer.heads.parameters())) == len({id(p) for p in grouped})
    flows_before = [p.detach().clone() for p in trainer.heads.flows.parameters()]
    conv_before = [p.detach().clone() for p in trainer.heads.constraintors.parameters()]
    draw = trainer._draw()
    trainer.step(draw)
    trainer.step(draw)
    assert all(torch.equal(a, b) for a, b in zip(flows_before, trainer.heads.flows.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(conv_before, trainer.heads.constraintors.parameters()))


def test_select_on_a_category_too_small_to_judge_says_what_it_has():
    small = CategoryData("few", good=[lambda c=c: c for c in brick_crops(2, size=128, seed=8)])
    banks = _two_category_banks() + build_bank([small], FeatureExtractor(load_backbone(), SIZE), synthetic_per_good=1,
                                               seed=0, progress=False)
    with pytest.raises(ValueError, match=r"select_on 'few': needs 3 good images and some anomalous ones, has 2 good and 2 anomalous"):
        Trainer(banks, TrainConfig(shots=2, input_size=SIZE, select_on=("few",)), progress=False)
