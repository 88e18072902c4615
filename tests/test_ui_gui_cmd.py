"""`resad-station gui` from a terminal: start-up lines, Ctrl-C, and a screenshot run that cannot
show the wizard. The window is real (Qt offscreen) in a child process, as a user starts it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from station_helpers import LINE_FILES, REPO, write_profile

from resad_station.cli.main import main
from resad_station.storage import open_station_database
from resad_station.storage import repository as repo
from ui import gui_cmd
from ui.roles import PinStore


def gui(tmp_path, profile, *extra) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", "import sys; from ui.cli import main; sys.exit(main())",
                             "--data-dir", str(tmp_path / "data"), "gui", "--profile", str(profile), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def inspected(data) -> int:
    if not (data / "station.db").exists():
        return 0
    db = open_station_database(data)
    try:
        with db.read_session() as s:
            return sum(repo.count_inspections(s, "pcb").values())
    except Exception:  # noqa: BLE001 - the child may still be creating the schema
        return 0
    finally:
        db.close()


def interrupt_once_inspecting(proc: subprocess.Popen, data) -> str:
    """Ctrl-C (SIGINT) as soon as the window's line has inspected a frame; its stderr."""
    try:
        deadline = time.monotonic() + 300
        while inspected(data) == 0:  # the window's line is running
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the GUI never inspected a frame"
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return err


def test_ctrl_c_closes_the_window_cleanly_and_only_the_first_start_enrolls(tmp_path):
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "loop": True, "fps": 10, "mode": "triggered"}
    profile = write_profile(tmp_path, "gui-line", "pcb", camera)
    proc = gui(tmp_path, profile, "--quit-after", "600")
    err = interrupt_once_inspecting(proc, tmp_path / "data")
    assert proc.returncode == 0, err[-2000:]
    assert "Ctrl-C: closing the window" in err
    assert "has no reference set: enrolling it from" in err and "enrolled pcb: reference set v1" in err
    again = gui(tmp_path, profile, "--quit-after", "1")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-2000:]
    assert "enroll" not in err  # a product with a reference set is not "enrolling on first run"


def test_ctrl_c_closes_the_multi_camera_window_cleanly(tmp_path):
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "loop": True, "fps": 5, "mode": "triggered"}
    first = write_profile(tmp_path, "side-a", "pcb", camera)
    second = write_profile(tmp_path, "side-b", "pcb", {**camera, "name": "cam2"})
    proc = gui(tmp_path, first, "--profile", str(second), "--quit-after", "600")
    err = interrupt_once_inspecting(proc, tmp_path / "data")
    assert proc.returncode == 0, err[-2000:]
    assert "Ctrl-C: closing the window" in err and "Traceback" not in err


def test_a_screenshot_of_the_wizard_with_a_pin_set_says_why_it_cannot(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    data = tmp_path / "data"
    data.mkdir()
    PinStore(data).set_pin("471100")
    shot = tmp_path / "wizard.png"
    code = main(["--data-dir", str(data), "gui", "--tab", "enroll", "--screenshot", str(shot)],
                extra_commands=[gui_cmd])
    err = capsys.readouterr().err
    assert code == 2 and not shot.exists()
    assert "--tab enroll --screenshot: the enrollment wizard asks for the engineer PIN" in err
