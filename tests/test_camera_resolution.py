"""The speed path must not change a verdict (issue: speed at camera resolution).

The station's path (capture thread, ROI cut there, one colour conversion, the map kept at the
engine's grid, stage timings) against the engine alone on the same pixels: on the shipped demo
line with the shipped profile, every score within 1e-4 and every verdict the same.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from station_helpers import DEMO, LINE_FILES, Events, load_rgb

from engine.scoring import to_original
from resad_station.capture.imaging import crop_roi
from resad_station.profiles import load_profile
from resad_station.runtime.overlay import heatmap_overlay, map_at
from resad_station.runtime.station import Station
from resad_station.runtime.verdict import judge

ROI = (40, 30, 520, 540)  # x, y, w, h on the 600x600 boards


def run_line(tmp_path, roi=None, max_frames=None):
    base = load_profile(DEMO.parent / "demo.yaml")
    camera = base.camera.model_copy(update={"mode": "triggered", "loop": False, "fps": 200.0, "roi": roi})
    profile = base.model_copy(update={"camera": camera})
    events, threads = Events(), []
    with Station.open(profile, tmp_path / "data", max_frames=max_frames) as station:
        station.add_listener(events)
        station.add_listener(type("Threads", (), {"on_frame": lambda self, r: threads.append(torch.get_num_threads())})())
        before = torch.get_num_threads()
        station.start()
        assert station.wait(300), "the line did not finish"
        assert station.stop(timeout=30)
        direct = [station.detector.predict(image, station.active.refs)
                  for image in (crop_roi(load_rgb(f), roi) for f in LINE_FILES[:len(events.frames)])]
        thresholds, summary = station.active.thresholds, station.summary()
    # the inspection thread leaves a core to capture and recording (engine.threads unset); this one keeps its own
    assert set(threads) == {max(1, (os.cpu_count() or 2) - 1)} and torch.get_num_threads() == before
    return events.frames, direct, thresholds, summary


def test_every_demo_verdict_equals_the_engine_alone(tmp_path):
    frames, direct, thresholds, summary = run_line(tmp_path)
    assert len(frames) == len(LINE_FILES) == 60
    assert [f.source_name for f in frames] == [p.name for p in LINE_FILES]
    scores = np.array([f.score for f in frames])
    assert np.abs(scores - [p.score for p in direct]).max() < 1e-4
    assert [f.verdict for f in frames] == [judge(p.score, p.reason, thresholds) for p in direct]
    assert sum(f.verdict.value != "pass" for f in frames) >= 6  # the line's six defective boards are caught
    # the map travels at the engine's grid; the engine's full-size map is that grid up-sampled
    grid, full = frames[0].anomaly_map, direct[0].anomaly_map
    assert grid.shape == (64, 64) and full.shape == (600, 600)
    assert np.allclose(map_at(grid, 600, 600), full, atol=1e-4)
    assert float(grid.max()) == pytest.approx(frames[0].score, abs=1e-4)  # the score is the grid's maximum
    # the whole path's stages are reported, engine and recorder included
    for stage in ("read", "queue_wait", "preprocess", "backbone", "nn_search", "verdict", "encode_png", "db_write"):
        assert summary["stages_ms"][stage]["count"] > 0, stage


def test_the_roi_cut_at_capture_scores_as_the_engine_on_the_cut(tmp_path):
    frames, direct, thresholds, _ = run_line(tmp_path, roi=ROI, max_frames=8)
    assert len(frames) == 8 and all(f.image.shape == (540, 520, 3) and f.image.flags.c_contiguous for f in frames)
    assert np.abs(np.array([f.score for f in frames]) - [p.score for p in direct]).max() < 1e-4
    assert [f.verdict for f in frames] == [judge(p.score, p.reason, thresholds) for p in direct]


def test_overlay_from_the_grid_equals_the_overlay_of_the_full_map():
    image = load_rgb(LINE_FILES[0])
    rng = np.random.default_rng(0)
    grid = (rng.random((64, 64), dtype=np.float32) * 6.0).astype(np.float32)
    full = to_original(grid, image.shape[:2], None)
    a, b = heatmap_overlay(image, grid, 2.0, 4.0), heatmap_overlay(image, full, 2.0, 4.0)
    diff = np.abs(a.astype(int) - b)  # one colour-map step where rounding differs, nothing more
    assert a.shape == image.shape and diff.max() <= 4 and diff.mean() < 0.05
    assert np.abs(a.astype(int) - image).mean() > 5  # something was coloured
