"""`resad-station inspect` as a headless operator meets it: camera state, progress, exit codes,
alarm acknowledgement from the terminal and by signal, and trial overrides that store nothing."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time

from station_helpers import LINE_FILES, REPO, write_profile

from resad_station.cli.main import main
from resad_station.storage import open_station_database
from resad_station.storage import repository as repo


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_camera_that_fails_for_good_ends_inspect_non_zero_saying_why(tmp_path, capsys):
    profile = write_profile(tmp_path, "gone", "pcb", {"kind": "folder", "uri": str(tmp_path / "no-such-folder")})
    code, out, err = cli(capsys, "--data-dir", tmp_path / "data", "inspect", "--profile", profile, "--stats")
    assert code == 3, err
    assert "camera reconnecting: folder" in err and "not found" in err  # the status line shows the state
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: camera cam1 failed: folder") and "no-such-folder" in last
    stats = json.loads(out)
    statuses = [s["status"] for s in stats["camera_states"]]
    assert statuses[0] == "connecting" and "reconnecting" in statuses and "failed" in statuses
    assert all(s["reason"] for s in stats["camera_states"] if s["status"] in ("reconnecting", "failed"))
    assert stats["frames_captured"] == 0 and stats["camera_failed"].startswith("camera cam1 failed")


def test_first_run_shows_enrollment_progress_and_a_final_status_line(tmp_path, capsys):
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "loop": False, "mode": "triggered"}
    profile = write_profile(tmp_path, "first", "pcb", camera)
    code, out, err = cli(capsys, "--data-dir", tmp_path / "data", "inspect", "--profile", profile, "--max-frames", "3")
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0].startswith("loading the engine (knn")
    assert any("has no reference set: enrolling it from" in line and "(8 images)" in line for line in lines)
    assert "enrolling pcb: building references from 4 shots" in err
    assert "enrolling pcb: calibrating (4 shots scored leave-one-out, 4 validation images, synthetic defects" in err
    assert lines[-1].startswith("stopped: ") and "camera " in lines[-1]
    done = sum(int(lines[-1].split(f"{v} ")[1].split()[0]) for v in ("pass", "uncertain", "fail"))
    assert done == 3  # the last line counts every frame, not a stale snapshot
    code, out, err = cli(capsys, "--data-dir", tmp_path / "data", "inspect", "--profile", profile, "--max-frames", "1")
    assert code == 0 and "enrolling" not in err  # only the first run enrolls


def test_a_method_override_scores_with_a_temporary_calibration_and_stores_nothing(tmp_path, capsys):
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "loop": False, "mode": "triggered"}
    profile = write_profile(tmp_path, "trial", "pcb", camera)
    data = tmp_path / "data"
    assert cli(capsys, "--data-dir", data, "inspect", "--profile", profile, "--max-frames", "1")[0] == 0
    db = open_station_database(data)
    with db.read_session() as s:
        before = dict(repo.active_reference_set(s, "pcb").calibration)
    code, out, err = cli(capsys, "--data-dir", data, "inspect", "--profile", profile, "--method", "resad+knn",
                         "--max-frames", "2", "--stats")
    assert code == 0, err
    assert "calibrated for knn; scoring resad+knn with a temporary calibration (nothing stored" in err
    assert json.loads(out)["method"] == "resad+knn"
    with db.read_session() as s:
        after = dict(repo.active_reference_set(s, "pcb").calibration)
        actions = [e.action for e in repo.list_audit_events(s, limit=100)]
    db.close()
    assert after == before and before["method"] == "knn" and before["validation_scores"]
    assert "reference_set_recalibrated" not in actions
    code, out, _ = cli(capsys, "--data-dir", data, "enroll", "--product", "pcb", "--list")
    assert "knn" in out and "resad+knn" not in out


def _wait_line(seen: list[str], needle: str, start: int = 0, timeout: float = 180.0) -> None:
    """Until a stderr line from index `start` on (the reader thread appends them) holds `needle`."""
    deadline = time.monotonic() + timeout
    while not any(needle in line for line in seen[start:]):
        assert time.monotonic() < deadline, f"{needle!r} never came; got: {seen[-5:]}"
        time.sleep(0.05)


def test_an_alarm_is_acknowledged_headless_by_a_enter_and_by_sigusr1(tmp_path):
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "loop": True, "fps": 10, "mode": "triggered"}
    profile = write_profile(tmp_path, "ack", "pcb", camera,  # every frame fails: the alarm raises again after an ack
                            thresholds={"mode": "manual", "t_uncertain": -2.0, "t_fail": -1.0, "debounce_frames": 2})
    master, slave = pty.openpty()  # stdin a real terminal, as for an operator at the console
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "resad_station", "--data-dir", str(tmp_path / "data"), "inspect",
                             "--profile", str(profile), "--stats"], stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    os.close(slave)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        _wait_line(seen, "alarm ALARM (2 consecutive fail(s); a+Enter or kill -USR1")
        os.write(master, b"a\n")
        _wait_line(seen, "alarm acked")
        n = len(seen)
        _wait_line(seen, "alarm ALARM", n)  # every frame still fails: it raises again
        proc.send_signal(signal.SIGUSR1)
        _wait_line(seen, "alarm acked", n)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        os.close(master)
    assert proc.returncode == 0
    stats = json.loads(out)
    assert stats["alarms_acknowledged_here"] == 2 and stats["interrupted"]
    db = open_station_database(tmp_path / "data")
    with db.read_session() as s:
        acks = [e for e in repo.list_audit_events(s, limit=1000) if e.action == "alarm_acknowledged"]
    db.close()
    assert len(acks) == 2
