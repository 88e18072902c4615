"""Several cameras in one station: one Detector, one fair scheduler, each camera on its own.

Real folders and a missing video as cameras, the k-NN engine, a real SQLite database.
"""

from __future__ import annotations

import json
import time

import pytest
from station_helpers import DEMO, LINE_FILES, REFERENCE_FILES, Events, runtime_threads, write_profile

from resad_station.cli.main import main as cli_main
from resad_station.runtime.events import CameraStatus
from resad_station.runtime.multi_station import MultiStation, read_line_file
from resad_station.runtime.station import StationError
from resad_station.storage import repository as repo

LINE = str(LINE_FILES[0].parent)


def wait_for(condition, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def camera(name: str, uri: str = LINE, **extra) -> dict:
    return {"kind": "folder", "uri": uri, "name": name, "mode": "triggered", **extra}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One data directory for this file's tests, with product "board" enrolled once (the
    first-run enrollment is the slow part of opening a station)."""
    folder = tmp_path_factory.mktemp("multi")
    profile = write_profile(folder, "enroll", "board", camera("enroll"))
    MultiStation.open([profile], folder / "data").close()
    return folder / "data"


def frames_of(events: Events, cam: str) -> list:
    with events.lock:
        return [r for r in events.frames if r.camera == cam]


def test_two_cameras_one_failing_the_other_keeps_inspecting(tmp_path, data_dir):
    good = write_profile(tmp_path, "top", "board", camera("top", fps=30))
    # The side camera's video is missing: it reconnects with backoff for ever, inspecting nothing;
    # the bottom camera's ROI lies outside its frames: every frame fails to inspect (counted).
    lost = write_profile(tmp_path, "side", "board", {"kind": "video", "uri": str(tmp_path / "gone.avi"), "name": "side"})
    bad = write_profile(tmp_path, "bottom", "board", camera("bottom", fps=30, roi=[5000, 5000, 10, 10]))
    events = Events()
    with MultiStation.open([good, lost, bad], data_dir) as line:
        line.add_listener(events)
        line.start()
        assert line.station("top").wait(180) and line.station("bottom").wait(180)
        wait_for(lambda: any(s.camera == "side" and s.status in (CameraStatus.RECONNECTING, CameraStatus.FAILED)
                             for s in list(events.states)))
        assert line.stop(timeout=30)
        summary = line.summary()
    top, side, bottom = (summary["cameras"][c] for c in ("top", "side", "bottom"))
    assert top["frames_inspected"] == len(LINE_FILES) and top["inspection_errors"] == 0
    assert side["frames_captured"] == 0 and side["frames_inspected"] == 0
    assert bottom["frames_inspected"] == 0 and bottom["inspection_errors"] == len(LINE_FILES)
    assert {r.camera for r in events.frames} == {"top"}
    assert not runtime_threads()


def test_a_product_switch_on_one_camera_leaves_the_other_alone(tmp_path, data_dir):
    refs_b = tmp_path / "refs_b"
    refs_b.mkdir()
    for f in REFERENCE_FILES[4:]:
        (refs_b / f.name).write_bytes(f.read_bytes())
    a = write_profile(tmp_path, "cam-a", "board", camera("a", fps=15, loop=True))
    b = write_profile(tmp_path, "cam-b", "board", camera("b", fps=15, loop=True))
    a_to_b = write_profile(tmp_path, "cam-a-b", "board-b", camera("a", fps=15, loop=True),
                           enrollment={"references": str(refs_b)})
    events = Events()
    with MultiStation.open([a, b], data_dir) as line:
        line.add_listener(events)
        line.start()
        wait_for(lambda: len(frames_of(events, "a")) >= 3 and len(frames_of(events, "b")) >= 3)
        b_before = line.station("b").active
        line.station("a").switch_product(a_to_b)
        line.station("a").set_thresholds(0.001, 0.002)  # an engineer's change on a only
        switched_at = time.time()
        wait_for(lambda: sum(r.product == "board-b" for r in frames_of(events, "a")) >= 3
                 and sum(r.decided_at > switched_at for r in frames_of(events, "b")) >= 3)
        assert line.stop(timeout=30)
    after_a = [r for r in frames_of(events, "a") if r.decided_at > switched_at]
    after_b = [r for r in frames_of(events, "b") if r.decided_at > switched_at]
    assert after_a[-1].product == "board-b" and (after_a[-1].t_uncertain, after_a[-1].t_fail) == (0.001, 0.002)
    assert {r.product for r in after_b} == {"board"}
    assert {(r.t_uncertain, r.t_fail) for r in after_b} == {
        (b_before.thresholds.t_uncertain, b_before.thresholds.t_fail)}  # b kept its own
    assert line.station("b").active == b_before
    with line.db.read_session() as s:
        switches = repo.list_audit_events(s, action="product_switched")
        assert [e.details["to"] for e in switches] == ["board-b"]
        assert repo.count_inspections(s, "board-b", camera="b") == {"pass": 0, "uncertain": 0, "fail": 0}


def test_a_fast_camera_cannot_starve_a_slow_one_and_one_product_is_batched_across_cameras(tmp_path, data_dir):
    # The fast camera's queue is always full (triggered, 500 fps, looping); the slow one sends
    # its 12 frames at 4 fps. A greedy scheduler would only ever serve the fast camera.
    fast = write_profile(tmp_path, "fast", "board", camera("fast", fps=500, loop=True))
    slow = write_profile(tmp_path, "slow", "board", camera("slow", fps=4))
    with MultiStation.open([fast, slow], data_dir) as line:
        line.start()
        assert line.station("slow").wait(180)
        wait_for(lambda: line.station("fast").pipeline.metrics.frames_inspected > 0)
        fast_when_slow_done = line.station("fast").pipeline.metrics.frames_inspected
        scheduler = line.scheduler
        assert line.stop(timeout=30)
    summary = line.summary()
    assert summary["cameras"]["slow"]["frames_inspected"] == len(LINE_FILES)
    assert fast_when_slow_done >= len(LINE_FILES)  # the fast one kept its share meanwhile
    assert scheduler.joint_batches > 0  # both cameras' frames of one product in one predict_batch
    assert summary["totals"]["frames_inspected"] == sum(c["frames_inspected"] for c in summary["cameras"].values())


def test_profiles_that_cannot_share_a_station_are_refused(tmp_path, data_dir):
    one = write_profile(tmp_path, "one", "board", camera("cam1"))
    same_cam = write_profile(tmp_path, "two", "board", camera("cam1"))
    other_engine = write_profile(tmp_path, "three", "board", camera("cam3"), engine={"input_size": 320})
    with pytest.raises(StationError, match="both name their camera 'cam1': give each camera its own camera.name"):
        MultiStation.open([one, same_cam], data_dir)
    with pytest.raises(StationError, match=r"engine.input_size: 256 vs 320"):
        MultiStation.open([one, other_engine], data_dir)


def test_inspect_runs_a_line_file_of_two_cameras(tmp_path, data_dir, capsys):
    write_profile(tmp_path, "left", "board", camera("left", fps=30))
    write_profile(tmp_path, "right", "board", camera("right", fps=30))
    line_file = tmp_path / "line.txt"
    line_file.write_text("# the two cameras of line 3\nleft.yaml\n\nright.yaml  # the right side\n")
    assert read_line_file(line_file) == [str(tmp_path / "left.yaml"), str(tmp_path / "right.yaml")]
    code = cli_main(["--data-dir", str(data_dir), "inspect", "--line", str(line_file), "--stats"])
    out, err = capsys.readouterr()
    assert code == 0, err
    stats = json.loads(out)
    assert stats["stopped_cleanly"] and set(stats["cameras"]) == {"left", "right"}
    assert stats["totals"]["frames_inspected"] == 2 * len(LINE_FILES)
    assert stats["totals"]["latency_p95_ms_worst_camera"] == max(c["latency_ms"]["p95_ms"] for c in stats["cameras"].values())
    with_source = cli_main(["--data-dir", str(data_dir), "inspect", "--line", str(line_file),
                            "--source", str(DEMO / "line")])
    assert with_source == 1 and "--source replaces one camera's source" in capsys.readouterr().err
    (tmp_path / "empty.txt").write_text("# nothing\n")
    assert cli_main(["--data-dir", str(data_dir), "inspect", "--line", str(tmp_path / "empty.txt")]) == 1
    assert "lists no profile" in capsys.readouterr().err
