"""The shipped demo line, headless, for a few hundred frames: real DeepPCB boards replayed,
real engine (k-NN), verdicts, alarms, defects logged and exported."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict

import cv2
import numpy as np
from station_helpers import LINE_FILES, REPO, Events

from resad_station.defects.export import export_zip
from resad_station.profiles import load_profile
from resad_station.runtime.events import AlarmStatus, Verdict
from resad_station.runtime.station import Station
from resad_station.storage import repository as repo

FRAMES = 200


def demo_profile():
    """profiles/demo.yaml as shipped, with k-NN (no trained heads needed) and a faster replay."""
    p = load_profile(REPO / "profiles" / "demo.yaml")
    return p.model_copy(update={"engine": p.engine.model_copy(update={"method": "knn", "device": "cpu"}),
                                "camera": p.camera.model_copy(update={"fps": 60.0})})


def test_demo_line_for_a_few_hundred_frames(tmp_path):
    events = Events()
    with Station.open(demo_profile(), tmp_path / "data", max_frames=FRAMES) as station:
        assert station.active.reference_set_version == 1  # first run: enrolled from demo/reference
        station.add_listener(events)
        station.start()
        assert station.wait(600)
        assert station.stop(timeout=30)
        summary = station.summary()
        with station.db.session() as s:
            defects, total = repo.query_defects(s, product="pcb-demo", limit=1000)
            alarm_rows = repo.list_audit_events(s, action="alarm_raised")
        exported = export_zip(station.db, tmp_path / "defects.zip")

    assert summary["frames_inspected"] == FRAMES and summary["frames_dropped"] == 0  # triggered: none lost
    assert [r.frame_index for r in events.frames] == list(range(FRAMES))
    # The replay loops over the boards; the same board must get the same score every lap.
    by_board = defaultdict(list)
    for r in events.frames:
        by_board[r.source_name].append(r.score)
    assert len(by_board) == len(LINE_FILES)
    assert all(np.ptp(scores) < 1e-3 for scores in by_board.values())

    # It looks like a line: mostly good boards, a defect about 1 in 10, one pair in a row per lap.
    defective = [i for i, f in enumerate(LINE_FILES) if "_defect_" in f.name]
    assert 0.05 <= len(defective) / len(LINE_FILES) <= 0.15
    pairs = [i for i in defective if i + 1 in defective]
    assert len(pairs) == 1 and len(defective) - 2 >= 2  # one alarm per lap, and single fails without one
    for r in events.frames:  # every defective board fails, no good board does (uncertain ones go to review)
        assert (r.verdict is Verdict.FAIL) == ("_defect_" in r.source_name), (r.source_name, r.score, r.verdict)
    raised = [a for a in events.alarms if a.status is AlarmStatus.RAISED]
    assert raised[0].frame_index == pairs[0] + 1  # the first alarm: the second board of the pair
    assert len(raised) == 1  # latched and never acknowledged here: the later laps' pairs do not raise again

    counts = summary["counts"]
    assert counts["uncertain"] + counts["fail"] == total > 0  # every uncertain/fail frame is kept
    assert summary["recorder"]["skipped"] == 0
    assert len(raised) == len(alarm_rows)

    assert exported == total
    with zipfile.ZipFile(tmp_path / "defects.zip") as z:
        rows = list(csv.DictReader(io.StringIO(z.read("defects.csv").decode())))
        assert len(rows) == total
        for row in rows[:10]:
            image = cv2.imdecode(np.frombuffer(z.read(row["image"]), np.uint8), cv2.IMREAD_COLOR)
            heat = cv2.imdecode(np.frombuffer(z.read(row["heatmap"]), np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == heat.shape == (600, 600, 3)  # the demo frames are 600x600 crops
    assert {row["source"] for row in rows} <= {f.name for f in LINE_FILES}
