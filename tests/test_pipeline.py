"""The live pipeline end to end: real video file, real engine (k-NN), real threads, real SQLite."""

from __future__ import annotations

import time

import pytest
from station_helpers import (LINE_FILES, REFERENCE_FILES, Events, load_rgb, run_to_end, runtime_threads,
                             write_line_video, write_profile)

from resad_station.capture.base import Frame
from resad_station.profiles import load_profile

from resad_station.runtime.events import AlarmStatus, CameraStatus, Verdict
from resad_station.runtime.station import Station
from resad_station.storage import repository as repo


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


class Broken:
    """A listener that always raises: the line must go on regardless."""

    def on_frame(self, result):
        raise RuntimeError("listener bug")

    def on_metrics(self, metrics):
        raise RuntimeError("listener bug")


def test_demo_line_video_plays_end_to_end(tmp_path):
    video = write_line_video(tmp_path / "line.avi")
    profile = write_profile(tmp_path, "video-line", "pcb", {"kind": "video", "uri": str(video), "mode": "triggered"},
                            recording={"pass_sampling": 0.5})
    events = Events()
    with Station.open(profile, tmp_path / "data") as station:
        station.add_listener(Broken())
        station.add_listener(events)
        station.start()
        assert station.wait(300), "the video never finished"
        assert station.stop(timeout=30)
        summary = station.summary()
        t = station.active.thresholds
        with station.db.session() as s:
            counts = repo.count_inspections(s, "pcb")
            defects, total = repo.query_defects(s, product="pcb")
    n = len(LINE_FILES)
    assert [r.frame_index for r in events.frames] == list(range(n))  # every frame, in order, none dropped
    assert summary["frames_inspected"] == n and summary["frames_dropped"] == 0
    assert sum(summary["counts"].values()) == n
    for r in events.frames:
        # the map travels at the engine's grid (stride 4 of the 256 px input), not at the frame's size
        assert r.image.shape[:2] == (600, 600) and r.anomaly_map.shape == (64, 64) and r.product == "pcb"
        assert r.verdict is (Verdict.PASS if r.score < t.t_uncertain else Verdict.FAIL if r.score >= t.t_fail else Verdict.UNCERTAIN)
        assert r.decided_at >= r.captured_at
    statuses = [s.status for s in events.states]
    assert statuses[0] is CameraStatus.CONNECTING and statuses[-1] is CameraStatus.FINISHED
    assert events.metrics and events.metrics[-1].frames_inspected == n
    kept = summary["counts"]["uncertain"] + summary["counts"]["fail"]
    assert total == kept and counts["uncertain"] + counts["fail"] == kept
    assert counts["pass"] == summary["counts"]["pass"] // 2  # every 2nd pass row is written
    assert summary["recorder"]["skipped"] == 0
    # the display path: previews come from the capture thread, are the very frames inspected, in order
    assert events.previews, "no preview frame reached the listener"
    indices = [p.frame_index for p in events.previews]
    assert indices == sorted(set(indices))
    by_index = {r.frame_index: r for r in events.frames}
    for p in events.previews:
        assert p.image is by_index[p.frame_index].image or (p.image == by_index[p.frame_index].image).all()


def test_switch_product_and_thresholds_while_running(tmp_path):
    refs_b = tmp_path / "refs_b"
    refs_b.mkdir()
    for f in REFERENCE_FILES[4:]:
        (refs_b / f.name).write_bytes(f.read_bytes())
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "loop": True, "fps": 20, "mode": "triggered"}
    profile_a = write_profile(tmp_path, "line-a", "board-a", camera)
    profile_b = write_profile(tmp_path, "line-b", "board-b", camera, enrollment={"references": str(refs_b)},
                              alarm={"latch": True})
    events = Events()
    with Station.open(profile_a, tmp_path / "data") as station:
        station.add_listener(events)
        station.start()
        wait_for(lambda: len(events.frames) >= 3)
        active_b = station.switch_product(profile_b)  # enrolls board-b on first use, then swaps
        switched_at = time.time()
        wait_for(lambda: sum(r.product == "board-b" for r in events.frames) >= 3)
        after = [r.product for r in events.frames if r.decided_at > switched_at]
        # "From the next frame": every frame decided after the switch returned is board-b, even one
        # whose batch was being scored when it came (it is scored again against board-b's references).
        assert after and set(after) == {"board-b"}
        assert events.frames[-1].t_fail == pytest.approx(active_b.thresholds.t_fail)

        # Thresholds below every score: from the next frame on all fail, and the alarm raises. The demo's
        # own defective pairs may already have raised it on board-b (latched, so no new RAISED would
        # come): acknowledge whatever is up first; with every frame failing it must raise again.
        station.set_thresholds(-2.0, -1.0)
        wait_for(lambda: station.metrics().alarm_active)
        assert station.acknowledge_alarm()
        wait_for(lambda: any(a.status is AlarmStatus.ACKNOWLEDGED for a in events.alarms))
        seen = 1 + max(i for i, a in enumerate(events.alarms) if a.status is AlarmStatus.ACKNOWLEDGED)
        wait_for(lambda: any(a.status is AlarmStatus.RAISED for a in events.alarms[seen:]))
        assert events.alarms[-1].product == "board-b"
        assert station.metrics().alarm_active
        assert station.acknowledge_alarm()
        wait_for(lambda: any(a.status is AlarmStatus.ACKNOWLEDGED for a in events.alarms[seen:]))
        assert not station.metrics().alarm_active
        assert station.stop(timeout=30)
        frames_at_stop = len(events.frames)
        assert runtime_threads() == []
        with station.db.session() as s:
            counts_a = repo.count_inspections(s, "board-a")
            counts_b = repo.count_inspections(s, "board-b")
            actions = [e.action for e in repo.list_audit_events(s, limit=1000)]
    assert sum(counts_a.values()) >= 3 and counts_b["fail"] >= 2
    assert {"product_switched", "thresholds_changed", "alarm_raised", "alarm_acknowledged"} <= set(actions)
    time.sleep(0.3)
    assert len(events.frames) == frames_at_stop  # nothing is published after stop() returned
    with pytest.raises(Exception):
        station.set_thresholds(2.0, 1.0)  # T1 > T2 is refused


def test_a_switch_applies_from_the_next_frame_inside_a_batch(tmp_path):
    """Deterministic: four frames scored as one batch; the product switches while the first is
    being decided (a listener, on the inspection path itself): the other three are judged as board-b."""
    refs_b = tmp_path / "refs_b"
    refs_b.mkdir()
    for f in REFERENCE_FILES[4:]:
        (refs_b / f.name).write_bytes(f.read_bytes())
    idle = tmp_path / "idle"
    idle.mkdir()  # a hot folder that stays empty: the pipeline's own thread has nothing to inspect
    camera = {"kind": "hotfolder", "uri": str(idle), "mode": "triggered"}
    profile_a = write_profile(tmp_path, "line-a", "board-a", camera)
    profile_b = write_profile(tmp_path, "line-b", "board-b", camera, enrollment={"references": str(refs_b)})
    decided = []
    with Station.open(profile_a, tmp_path / "data") as station:
        active_b = station._active_product(load_profile(profile_b))  # enrolls board-b

        class SwitchOnFirst:
            def on_frame(self, r):
                decided.append((r.frame_index, r.product, r.t_fail))
                if len(decided) == 1:
                    station.pipeline.set_active(active_b)

        station.add_listener(SwitchOnFirst())
        station.start()
        frames = [Frame(load_rgb(f), i, time.time(), f.name) for i, f in enumerate(LINE_FILES[:4])]
        station.pipeline._inspect(frames)
        assert station.stop(timeout=30)
    assert [d[:2] for d in decided] == [(0, "board-a"), (1, "board-b"), (2, "board-b"), (3, "board-b")]
    assert all(d[2] == pytest.approx(active_b.thresholds.t_fail) for d in decided[1:])


def test_falling_behind_is_reported_and_can_raise_the_alarm(tmp_path):
    # Flat out in triggered mode the capture always outruns the engine: frames queue, verdicts are
    # later than the 1 ms this profile allows.
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "loop": True, "mode": "triggered"}
    profile = write_profile(tmp_path, "late", "pcb", camera, alarm={"on_falling_behind": True, "max_verdict_delay_s": 0.001},
                            thresholds={"mode": "manual", "t_uncertain": 1e6, "t_fail": 2e6})  # no frame fails
    events = Events()
    with Station.open(profile, tmp_path / "data") as station:
        station.add_listener(events)
        station.start()
        wait_for(lambda: any(a.status is AlarmStatus.RAISED for a in events.alarms))
        assert station.stop(timeout=30)
    raised = [a for a in events.alarms if a.status is AlarmStatus.RAISED]
    assert raised[0].message.startswith("falling behind: ") and "frames queued, verdicts" in raised[0].message
    behind = [m for m in events.metrics if m.falling_behind]
    assert behind and all(m.frames_queued > 0 and m.verdict_delay_s > 0.001 for m in behind)
    assert not any(r.verdict is Verdict.FAIL for r in events.frames)  # the alarm came from lateness alone


def test_stop_joins_every_thread_with_a_live_backlog(tmp_path):
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "loop": True, "mode": "triggered"}  # no fps: flat out
    profile = write_profile(tmp_path, "flat-out", "pcb", camera, recording={"queue_size": 4})
    events = Events()
    with Station.open(profile, tmp_path / "data") as station:
        station.add_listener(events)
        station.start()
        wait_for(lambda: len(events.frames) >= 5)
        assert runtime_threads()
        assert station.stop(timeout=1.0)  # every thread joined within the second
        assert runtime_threads() == []
        assert station.pipeline is None and station.stop(timeout=30)  # a second stop is harmless


def test_a_frame_the_engine_refuses_is_counted_and_the_line_goes_on(tmp_path):
    import cv2

    folder = tmp_path / "line"
    folder.mkdir()
    for i, f in enumerate(LINE_FILES[:3]):
        (folder / f"{i * 2:02d}.jpg").write_bytes(f.read_bytes())
    cv2.imwrite(str(folder / "01.png"), cv2.imread(str(LINE_FILES[3]))[:8, :8])  # decodes, too small to inspect
    profile = write_profile(tmp_path, "with-bad-frame", "pcb", {"kind": "folder", "uri": str(folder), "mode": "triggered"})
    events, m = run_to_end(profile, tmp_path / "data")
    assert [r.source_name for r in events.frames] == ["00.jpg", "02.jpg", "04.jpg"]
    assert m.inspection_errors == 1 and m.frames_inspected == 3


def test_thresholds_set_on_a_station_survive_a_restart(tmp_path):
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "mode": "triggered"}
    profile = write_profile(tmp_path, "line", "pcb", camera)  # thresholds: auto, from calibration
    with Station.open(profile, tmp_path / "data") as station:
        proposed = station.active.thresholds
        station.set_thresholds(proposed.t_uncertain * 1.5, proposed.t_fail * 1.5)
    with Station.open(profile, tmp_path / "data") as station:
        t = station.active.thresholds
        assert (t.t_uncertain, t.t_fail) == pytest.approx((proposed.t_uncertain * 1.5, proposed.t_fail * 1.5))
        with station.db.read_session() as s:
            cal = repo.active_reference_set(s, "pcb").calibration
            events = repo.list_audit_events(s)
    assert cal["proposed_t_fail"] == pytest.approx(proposed.t_fail) and cal["thresholds_set_by"] == "engineer"
    assert any(e.action == "thresholds_changed" for e in events)


def test_score_levels_of_the_profile_reach_the_engine_and_a_mismatch_cannot_be_switched_to(tmp_path):
    from resad_station.runtime.station import StationError

    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "mode": "triggered"}
    coarse = write_profile(tmp_path, "coarse", "pcb", camera, engine={"score_levels": [3, 2]})
    every = write_profile(tmp_path, "every", "pcb-b", camera)
    with Station.open(coarse, tmp_path / "data") as station:
        assert station.detector.score_levels == (2, 3)
        with pytest.raises(StationError, match=r"engine.score_levels: \[2, 3\] vs \[1, 2, 3\]"):
            station.switch_product(every)
    with Station.open(every, tmp_path / "data2") as station:
        assert station.detector.score_levels is None  # all three: the paper's default


def test_a_product_opened_with_other_score_levels_is_recalibrated(tmp_path):
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "mode": "triggered"}
    every = write_profile(tmp_path, "every", "pcb", camera)
    coarse = write_profile(tmp_path, "coarse", "pcb", camera, engine={"score_levels": [2, 3]})
    with Station.open(every, tmp_path / "data") as station:
        first = station.active.thresholds
    with Station.open(coarse, tmp_path / "data") as station:  # same product, same reference set
        second = station.active.thresholds
        with station.db.read_session() as s:
            cal = repo.active_reference_set(s, "pcb").calibration
            events = repo.list_audit_events(s, action="reference_set_recalibrated")
    assert cal["score_id"] == station.detector.score_id_for(station.active.refs) and "@levels23" in cal["score_id"]
    assert events and events[0].details["from_score_id"].startswith("knn/")
    assert second != first  # two levels summed: another scale, other thresholds


def test_references_built_with_another_resize_filter_are_rebuilt_from_their_stored_images(tmp_path):
    """An upgrade that changes the engine's preprocessing must not strand an enrolled product:
    the station re-extracts the stored shots as a new version, keeps the old one, and audits it."""
    import json

    from safetensors.torch import load as st_load
    from safetensors.torch import save as st_save

    from engine.preprocess import PREPROCESS_ID
    from resad_station.storage.models import ReferenceSet as ReferenceSetRow
    from resad_station.storage.sealing import seal

    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "mode": "triggered"}
    profile = write_profile(tmp_path, "line", "pcb", camera)
    with Station.open(profile, tmp_path / "data") as station:
        with station.db.session() as s:  # what an engine from before the preprocessing tag wrote
            row = repo.active_reference_set(s, "pcb")
            blob = row.features
            meta = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])["__metadata__"]
            del meta["preprocess"]
            edited = s.get(ReferenceSetRow, row.id)
            edited.features = st_save(st_load(blob), metadata=meta)
            seal(station.db.seal_key, edited)  # that engine was this station's: its set was sealed
            old_version, old_images = row.version, sorted(i.sha256 for i in row.images)
    with Station.open(profile, tmp_path / "data") as station:
        assert station.active.refs.preprocess == PREPROCESS_ID
        with station.db.read_session() as s:
            active = repo.active_reference_set(s, "pcb")
            versions = [r.version for r in repo.list_reference_sets(s, "pcb")]
            events = repo.list_audit_events(s, action="reference_set_rebuilt")
            new_version, new_images = active.version, sorted(i.sha256 for i in active.images)
    assert new_version == old_version + 1 and old_version in versions  # the old version is kept
    assert new_images == old_images  # the same good shots
    assert events and events[0].details["from_version"] == old_version
    assert "cv2-inter-area" in events[0].details["reason"]
    # rolling back to the old version switches to its rebuild instead of rebuilding it again
    with Station.open(profile, tmp_path / "data") as station:
        station.activate_version(old_version)
        assert station.active.reference_set_version == new_version
        with station.db.read_session() as s:
            assert len(repo.list_reference_sets(s, "pcb")) == 2
            assert len(repo.list_audit_events(s, action="reference_set_rebuilt")) == 1


def test_a_profile_chooses_the_search_and_products_switched_to_must_share_it(tmp_path):
    from resad_station.runtime.station import StationError

    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "mode": "triggered"}
    wide = write_profile(tmp_path, "wide", "pcb", camera, engine={"search": "wide"})
    guided = write_profile(tmp_path, "guided", "pcb2", camera, engine={"search": "guided"})
    default = write_profile(tmp_path, "default", "pcb3", camera)
    with Station.open(wide, tmp_path / "data") as station:
        assert station.detector.search == "wide" and "~wide" in station.detector.score_id
        with pytest.raises(StationError, match="engine.search: .wide. vs .guided."):
            station.switch_product(guided)
        with pytest.raises(StationError, match="engine.search: .wide. vs .auto."):  # a new profile's default
            station.switch_product(default)


def test_a_started_line_keeps_its_set_up_out_of_full_collections(tmp_path):
    """runtime/heap.py: what exists when the line starts (the detector among it) is frozen, so full
    collections no longer walk it; cycles the line makes afterwards are still collected."""
    import gc
    import weakref

    video = write_line_video(tmp_path / "line.avi")
    profile = write_profile(tmp_path, "video-line", "pcb", {"kind": "video", "uri": str(video), "mode": "triggered"})
    with Station.open(profile, tmp_path / "data") as station:
        assert any(o is station.detector for o in gc.get_objects())  # before the start: walked by every full collection
        station.start()
        assert not any(o is station.detector for o in gc.get_objects())
        assert gc.get_freeze_count() > 100_000

        class Node:
            pass

        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
        run = weakref.ref(station.pipeline)
        assert station.wait(300) and station.stop(timeout=30)
        station.last_pipeline = None
        gc.collect()
        assert run() is None  # the stop thawed the heap: the run's own objects are collected once dropped
