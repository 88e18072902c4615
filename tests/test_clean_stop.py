"""SIGTERM and Ctrl-C in the middle of a long inspection batch: a clean stop, exit 0, a summary.

Before, a stop that did not join within a second left a thread inside the engine while the
interpreter tore down, and the process aborted ("terminate called without an active exception",
exit 134). The profile makes batches long on purpose: input 448, k-NN, flat out in triggered mode.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from station_helpers import LINE_FILES, REPO, write_profile


def test_sigterm_then_ctrl_c_during_a_long_batch_stop_cleanly_with_exit_0(tmp_path):
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "loop": True, "mode": "triggered"}
    profile = write_profile(tmp_path, "long-batches", "pcb-long", camera, engine={"input_size": 448})
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "resad_station", "--data-dir", str(tmp_path / "data"), "inspect",
                             "--profile", str(profile), "--stats"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 400
        line = ""
        while " fps " not in line:  # the first status line: the line runs, a batch is being inspected
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
            line = proc.stderr.readline()
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)  # an impatient second signal must not break the clean stop
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "terminate called" not in err and "Traceback" not in err
    summary = json.loads(out)
    assert summary["interrupted"] is True and summary["frames_inspected"] >= 1
