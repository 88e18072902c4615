"""The ONNX engine (engine.runtime onnxruntime) against the torch engine on the shipped demo line's
real boards: same maps, scores and verdicts; exported graphs that were modified are refused."""

from __future__ import annotations

import shutil
import textwrap

import numpy as np
import pytest
import torch

from engine import Detector, WeightsError
from engine.data.mvtec import load_rgb
from engine.detector import METHODS
from engine.onnx_export import heads_graph_path, onnx_card_path
from engine.onnx_runtime import RUNTIMES, cache_entry
from engine.preprocess import prepare
from resad_station.capture.imaging import image_files
from resad_station.cli.main import main as cli_main
from resad_station.enrollment.enroll import calibrate_references
from resad_station.paths import SHIPPED_PROFILES_DIR
from resad_station.profiles import ProfileError, load_profile
from resad_station.profiles.model import EngineConfig
from resad_station.runtime.station import load_detector
from resad_station.runtime.verdict import Thresholds, judge

DEMO = SHIPPED_PROFILES_DIR / "demo"
MAP_TOLERANCE = 1e-3


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """The bundled model exported once through the CLI."""
    out = tmp_path_factory.mktemp("onnx") / "line.onnx"
    assert cli_main(["export", "--onnx", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def demo():
    references = [load_rgb(p) for p in image_files([DEMO / "reference"])[:4]]
    line = image_files([DEMO / "line"])
    good = [p for p in line if "_good_" in p.name][:5]
    defective = [p for p in line if "_good_" not in p.name][:5]
    return references, [load_rgb(p) for p in good + defective]


@pytest.fixture(scope="module")
def both(exported, demo):
    """Per runtime, every method's predictions of the frames against ONE reference set (the torch engine's)."""
    references, frames = demo
    torch_det = Detector.load(device="cpu", method="resad+knn")
    onnx_det = Detector.load(device="cpu", method="resad+knn", runtime="onnxruntime", onnx_file=exported)
    refs = torch_det.build_references(references)
    preds = {det.runtime: det.predict_methods(frames, refs, METHODS) for det in (torch_det, onnx_det)}
    return torch_det, onnx_det, refs, preds


def test_onnx_engine_runs_the_exported_graphs(both, exported):
    _, onnx_det, _, _ = both
    assert onnx_det.graphs.path == exported
    assert onnx_det.graphs.providers == ["CPUExecutionProvider"]
    assert {"features", "heads"} == set(onnx_det.graphs.card["files"])
    # the bundled flows are the identity: the graph takes only the residuals and the scale
    assert [n for n in onnx_det.graphs.heads_inputs if n] == ["residual1", "residual2", "residual3", "scale"]


def test_the_graphs_compute_what_the_torch_modules_do(both, demo):
    """Each graph on its own, fed the same inputs as the torch engine: within the tolerance everywhere."""
    torch_det, onnx_det, refs, _ = both
    batch = torch.stack([prepare(image, 256).tensor for image in demo[1][:4]])
    with torch.inference_mode():
        torch_feats, onnx_feats = torch_det._features(batch), onnx_det._features(batch)
        assert max(float((a - b).abs().max()) for a, b in zip(torch_feats, onnx_feats)) < MAP_TOLERANCE
        residuals = torch_det._residuals(torch_feats, refs.pools("cpu"), refs)
        torch_log_p = torch_det.heads.residual_log_prob(residuals)
        onnx_log_p = onnx_det.graphs.heads_for(onnx_det.heads).residual_log_prob(residuals)
    assert max(float((a - b).abs().max()) for a, b in zip(torch_log_p, onnx_log_p)) < MAP_TOLERANCE
    assert any(float(m.std()) > 0 for m in torch_log_p)  # not a constant map: some cells went through the flows


def test_maps_scores_and_verdicts_match_the_torch_engine(both):
    """End to end every map cell agrees to the tolerance (the issue's bar). The features differ by
    float rounding (1e-4 on values up to ~70); the search ranks candidates in float64, so rounding
    no longer decides between candidates float32 could not tell apart (engine/nn_search.py). A
    genuine near-tie could still flip; on these frames none moves a cell by 1e-3."""
    torch_det, _, refs, preds = both
    cal = calibrate_references(torch_det, refs)
    thresholds = Thresholds(cal.t_uncertain, cal.t_fail)
    for method in METHODS:
        for t, o in zip(preds["torch"], preds["onnxruntime"]):
            assert np.abs(t[method].anomaly_map - o[method].anomaly_map).max() < MAP_TOLERANCE, method
        t_scores = np.array([p[method].score for p in preds["torch"]])
        o_scores = np.array([p[method].score for p in preds["onnxruntime"]])
        assert np.abs(t_scores - o_scores).max() < MAP_TOLERANCE, method
        assert list(np.argsort(t_scores)) == list(np.argsort(o_scores)), method
        if method == "resad":  # the thresholds were calibrated for the torch engine's resad scores
            verdicts = [[judge(p[method].score, p[method].reason, thresholds) for p in preds[r]] for r in RUNTIMES]
            assert verdicts[0] == verdicts[1]
            assert len(set(verdicts[0])) > 1  # the frames are not all of one verdict: the check can fail
    assert [p["resad"].reason for p in preds["torch"]] == [p["resad"].reason for p in preds["onnxruntime"]]


def test_a_modified_graph_is_refused_naming_the_file(exported, tmp_path):
    for target in (exported, heads_graph_path(exported)):
        folder = tmp_path / target.stem
        folder.mkdir()
        copies = [shutil.copy(p, folder) for p in (exported, heads_graph_path(exported), onnx_card_path(exported))]
        tampered = folder / target.name
        data = bytearray(tampered.read_bytes())
        data[len(data) // 2] ^= 0x01  # one bit inside the weights
        tampered.write_bytes(bytes(data))
        with pytest.raises(WeightsError, match="does not match its card") as info:
            Detector.load(device="cpu", method="resad", runtime="onnxruntime", onnx_file=copies[0])
        assert str(tampered) in str(info.value)


def test_a_broken_card_is_refused_naming_it(exported, tmp_path):
    graph = shutil.copy(exported, tmp_path)
    card = onnx_card_path(tmp_path / exported.name)
    for text, expected in (("{not json", "unreadable"), ('{"files": {}}', "files.features at least")):
        card.write_text(text)
        with pytest.raises(WeightsError, match=expected) as info:
            Detector.load(device="cpu", method="resad", runtime="onnxruntime", onnx_file=graph)
        assert str(card) in str(info.value)
    card.unlink()
    with pytest.raises(WeightsError, match="its card line.card.json .* is missing"):
        Detector.load(device="cpu", method="resad", runtime="onnxruntime", onnx_file=graph)


def test_graphs_of_other_weights_or_size_are_refused(exported):
    with pytest.raises(WeightsError, match="weights_sha256") as info:  # a detector without the heads
        Detector(None, None, "cpu", 256, "knn", runtime="onnxruntime", onnx_file=exported)
    assert str(exported) in str(info.value)
    with pytest.raises(WeightsError, match="input_size 256"):
        Detector.load(device="cpu", input_size=320, method="resad", runtime="onnxruntime", onnx_file=exported)


def test_a_profile_saying_onnxruntime_exports_once_into_the_data_dir(tmp_path):
    profile_file = tmp_path / "line.yaml"
    profile_file.write_text(textwrap.dedent("""\
        name: line
        product: widget
        camera: {kind: folder, uri: images}
        engine: {method: resad, device: cpu, runtime: onnxruntime}
        """))
    profile = load_profile(profile_file)
    det = load_detector(profile, tmp_path / "data")
    entry = cache_entry(tmp_path / "data" / "onnx", det.card["sha256"], profile.engine.input_size)
    assert det.graphs.path == entry and onnx_card_path(entry).is_file()
    written = entry.stat().st_mtime_ns
    assert load_detector(profile, tmp_path / "data").graphs.path == entry
    assert entry.stat().st_mtime_ns == written  # the second load reused the export


def test_profile_runtime_is_validated_naming_the_field(tmp_path):
    assert EngineConfig.model_fields["runtime"].default == "torch"
    profile_file = tmp_path / "bad.yaml"
    profile_file.write_text("name: p\nproduct: w\ncamera: {kind: folder, uri: images}\nengine: {runtime: tensorrt}\n")
    with pytest.raises(ProfileError) as info:
        load_profile(profile_file)
    assert str(info.value).splitlines() == [
        "bad.yaml: engine.runtime: input should be 'torch' or 'onnxruntime' (got 'tensorrt')"]


def test_profile_runtimes_are_the_engines():
    from typing import get_args

    assert get_args(EngineConfig.model_fields["runtime"].annotation) == RUNTIMES


def test_bench_refuses_an_unknown_runtime(capsys):
    assert cli_main(["bench", "--runtime", "torch,tensorrt"]) == 2
    assert "--runtime: expected some of torch, onnxruntime, each once, got 'torch,tensorrt'" in capsys.readouterr().err


def test_heads_whose_flows_are_not_the_identity_export_their_sparse_flows(tmp_path, demo):
    """The bundled heads' flows are the identity, which the graph skips; heads moved off their
    seeded start keep the flows (and their condition inputs), with the same numbers as torch."""
    from engine.weights import save_heads
    from tests.engine_heads import heads_off_the_identity

    weights = tmp_path / "moved.safetensors"
    save_heads(heads_off_the_identity(), weights, {"note": "flows moved off the identity"})
    torch_det = Detector.load(weights, device="cpu")
    onnx_det = Detector.load(weights, device="cpu", runtime="onnxruntime", onnx_cache=tmp_path / "cache")
    assert all(name is not None for name in onnx_det.graphs.heads_inputs)  # cond and at_zero inputs kept
    refs = torch_det.build_references(demo[0])
    batch = torch.stack([prepare(image, 256).tensor for image in demo[1][:2]])
    with torch.inference_mode():
        residuals = torch_det._residuals(torch_det._features(batch), refs.pools("cpu"), refs)
        torch_log_p = torch_det.heads.residual_log_prob(residuals)
        onnx_log_p = onnx_det.graphs.heads_for(onnx_det.heads).residual_log_prob(residuals)
    assert not any(torch_det.heads._fused(l).identity for l in range(3))
    # moved this far, log p reaches ~1e5, so float32 rounding is relative to the map's range
    for a, b in zip(torch_log_p, onnx_log_p):
        assert float((a - b).abs().max()) < MAP_TOLERANCE + 1e-5 * float(a.abs().max())
