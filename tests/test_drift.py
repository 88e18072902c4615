"""Drift warning: good frames scoring higher than at enrollment raise a warning before false FAILs."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from resad_station.runtime.drift import DriftMonitor, DriftSettings, DriftStatus
from resad_station.runtime.events import Verdict
from station_helpers import LINE_FILES, REFERENCE_FILES, load_rgb, write_profile

CAL = {"mean": 5.0, "std": 0.5, "max": 6.0}


def feed(monitor, scores, verdict=Verdict.PASS):
    events = []
    for i, s in enumerate(scores):
        events += [(i, e) for e in monitor.observe(s, verdict, at=float(i))]
    return events


def test_monitor_learns_a_baseline_then_warns_on_a_shift_and_clears_itself():
    rng = np.random.default_rng(0)
    m = DriftMonitor(DriftSettings(baseline_frames=20), "cam1", "p", CAL, clock=lambda: 100.0)
    steady = 4.0 + rng.normal(0, 1.0, 400)
    assert feed(m, steady[:19]) == [] and m.learning
    assert feed(m, steady[19:]) == [] and not m.learning and not m.warning
    assert 3.5 < m.anchor < 4.5 and m.sigma >= 0.5  # the line's own median, sigma at least the calibration's
    shifted = 4.0 + 2 * m.sigma + rng.normal(0, 1.0, 60)  # good parts 2 sigma higher
    (i, raised), = feed(m, shifted)
    assert raised.status is DriftStatus.RAISED and i < 20 and m.warning
    assert 1.0 < raised.shift_sigma < 4.0
    assert raised.message.startswith("good parts scoring higher than at enrollment (") and "check lighting and camera" in raised.message
    # non-latched: once the scores are back, the warning clears by itself
    back = feed(m, 4.0 + rng.normal(0, 1.0, 60))
    assert [e.status for _, e in back] == [DriftStatus.CLEARED] and not m.warning


def test_monitor_warns_when_a_whole_frame_check_creeps_towards_its_limit_with_steady_scores():
    """A lighting change moves the "unlike the references" ratio before the patch score: the
    warning must come before that check fails good parts, though the scores never move."""
    rng = np.random.default_rng(1)
    m = DriftMonitor(DriftSettings(baseline_frames=20), "cam1", "p", CAL, clock=lambda: 100.0)
    for i in range(200):  # steady: the score and the check ratio vary, neither moves
        assert m.observe(4.0 + rng.normal(0, 0.5), Verdict.PASS, float(i), {"global": 0.5 + rng.normal(0, 0.05)}) == []
    warned_at = None
    for i in range(200):  # the ratio creeps to its limit (1.0 fails) over 200 frames; scores stay put
        ratio = 0.5 + 0.5 * i / 200 + rng.normal(0, 0.05)
        if m.observe(4.0 + rng.normal(0, 0.5), Verdict.PASS, 200.0 + i, {"global": ratio}) and warned_at is None:
            warned_at, ratio_then = i, ratio
    assert warned_at is not None and ratio_then < 0.9  # well before the check starts failing frames
    # the same run without the check's ratio never warns: the scores alone did not move
    m2 = DriftMonitor(DriftSettings(baseline_frames=20), "cam1", "p", CAL, clock=lambda: 100.0)
    rng = np.random.default_rng(1)
    assert not any(m2.observe(4.0 + rng.normal(0, 0.5), Verdict.PASS, float(i)) for i in range(400))


def test_monitor_ignores_fails_and_nan_and_anchors_no_higher_than_the_calibration():
    m = DriftMonitor(DriftSettings(baseline_frames=5), "cam1", "p", CAL)
    assert feed(m, [50.0] * 100, Verdict.FAIL) == [] and m.learning  # defects say nothing about good parts
    feed(m, [float("nan")] * 10)
    assert m.learning
    feed(m, [9.0, 9.1, 9.2, 9.0, 9.1])  # a line that starts already drifted
    assert m.anchor == CAL["mean"]  # still measured from the enrollment
    assert [e.status for _, e in feed(m, [9.0] * 10)] == [DriftStatus.RAISED]
    assert [e.status for e in m.reset("q", CAL)] == [DriftStatus.CLEARED] and m.learning and m.product == "q"


@pytest.mark.parametrize("field,value", [("baseline_frames", 2), ("slack", -1.0), ("limit", 0.0),
                                         ("ewma_lambda", 0.0), ("ewma_lambda", 1.5), ("clip", 0.0)])
def test_profile_drift_options_are_validated(tmp_path, field, value):
    from resad_station.profiles import ProfileError, load_profile

    path = write_profile(tmp_path, "p", "p", {"kind": "folder", "uri": str(tmp_path)}, drift={field: value})
    with pytest.raises(ProfileError, match=f"drift.{field}"):
        load_profile(path)


def test_profile_drift_defaults(tmp_path):
    from resad_station.profiles import load_profile

    profile = load_profile(write_profile(tmp_path, "p", "p", {"kind": "folder", "uri": str(tmp_path)}))
    assert DriftSettings.of(profile.drift) == DriftSettings()


class Timeline:
    """Frames and drift events in the order the runtime published them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list = []

    def on_frame(self, r) -> None:
        with self.lock:
            self.items.append(("frame", r.frame_index, r.verdict, r.score))

    def on_drift(self, e) -> None:
        with self.lock:
            self.items.append(("drift", e.status, e))


def replay(tmp_path, frames: list[np.ndarray], name: str, drift: dict | None = None):
    """Play `frames` through a real Station (folder camera, k-NN engine, demo references)."""
    from resad_station.runtime.station import Station
    from resad_station.storage import repository as repo

    folder = tmp_path / name
    folder.mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:04d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    profile = write_profile(tmp_path, name, "pcb", {"kind": "folder", "uri": str(folder), "mode": "triggered"},
                            recording={"keep_images": []}, drift=drift or {})
    timeline = Timeline()
    with Station.open(profile, tmp_path / "data") as station:
        station.add_listener(timeline)
        station.start()
        assert station.wait(900), "the replay never finished"
        assert station.stop()
        with station.db.read_session() as s:
            audit = [(e.action, e.details) for e in reversed(repo.list_audit_events(s, limit=1000))
                     if e.action.startswith("drift_")]
    assert sum(kind == "frame" for kind, *_ in timeline.items) == len(frames)
    return timeline.items, audit


GOOD_FILES = [p for p in LINE_FILES if "_good_" in p.name]
# more sensitive than the defaults: the demo's good boards vary so much that, at a lighting change a
# test can afford to replay, the defaults warn only after the most fail-prone board fails (docs/trust.md)
SENSITIVE = {"slack": 0.5, "limit": 6.0}


def test_a_slowly_brightening_replay_warns_before_the_first_false_fail(tmp_path):
    goods = [load_rgb(p).astype(np.float32) for p in GOOD_FILES]
    # lighting that brightens slowly: 90 frames at +17 grey levels (the baseline and a steady
    # stretch; the scores do not move below about +18), then +0.05 a frame; the most fail-prone
    # good boards start to fail at about +21, most of them at +23
    offsets = [17.0] * 90 + [17.0 + 0.05 * i for i in range(160)]
    frames = [np.clip(goods[i % len(goods)] + o, 0, 255).astype(np.uint8) for i, o in enumerate(offsets)]
    items, audit = replay(tmp_path, frames, "brightening", SENSITIVE)
    first_fail = next((n for n, (kind, *rest) in enumerate(items) if kind == "frame" and rest[1] is Verdict.FAIL), None)
    first_warning = next((n for n, (kind, *rest) in enumerate(items) if kind == "drift" and rest[0] is DriftStatus.RAISED), None)
    assert first_warning is not None, "the drift warning never came"
    assert first_fail is None or first_warning < first_fail, (first_warning, first_fail)
    assert first_fail is not None, "the replay should end in false FAILs (make it brighten further)"
    steady_end = next(n for n, (kind, *rest) in enumerate(items) if kind == "frame" and rest[0] == 90)
    assert first_warning > steady_end  # not while the lighting was steady
    event = items[first_warning][2]
    assert event.camera == "cam1" and event.product == "pcb" and event.shift_sigma > 0.5
    # stored as an audit event, with the message the operator saw
    assert audit and audit[0][0] == "drift_raised" and audit[0][1]["message"] == event.message


def test_a_steady_replay_never_warns(tmp_path):
    # the demo line as it is, twice: good boards at their poses, defective ones now and then
    frames = [load_rgb(p) for p in LINE_FILES] * 2
    items, audit = replay(tmp_path, frames, "steady", SENSITIVE)
    assert [x for x in items if x[0] == "drift"] == [] and audit == []
    assert any(x[2] is Verdict.FAIL for x in items if x[0] == "frame")


def test_drift_events_reach_outputs_through_the_listener_seam():
    """Published like alarms: a listener with only on_event (as the outputs are) gets every drift event."""
    from resad_station.outputs.messages import event_message
    from resad_station.runtime.drift import DriftWatch
    from resad_station.runtime.listeners import ListenerSet

    class CatchAll:
        def __init__(self):
            self.got = []

        def on_event(self, method, payload):
            self.got.append((method, payload))

    listeners, outputs, stored = ListenerSet(), CatchAll(), []
    listeners.add(outputs)
    watch = DriftWatch(DriftMonitor(DriftSettings(baseline_frames=5), "cam1", "p", CAL), listeners, store=stored.append)
    for i, score in enumerate([4.0, 4.2, 3.9, 4.1, 4.0] + [9.0] * 10):  # what on_frame reads of a FrameResult
        watch.on_frame(SimpleNamespace(product="p", score=score, verdict=Verdict.PASS, decided_at=float(i), checks={}))
    assert [m for m, _ in outputs.got] == ["on_drift"] and stored == [outputs.got[0][1]]
    message = event_message("on_drift", outputs.got[0][1], "line1")
    assert message.payload["event"] == "drift" and message.payload["status"] == "raised"
