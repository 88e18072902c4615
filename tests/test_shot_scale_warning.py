"""A camera whose frames are not the size of the product's shots is named once: in the log and as a
Notice for the live screen and the outputs, withdrawn when a reference set of the frames' size is active.

Frames are read at the shots' scale (engine/preprocess.py); after a change of camera resolution
that scale is wrong, and the station says so instead of failing good parts without a reason.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import torch
from station_helpers import LINE_FILES, run_to_end, write_profile

from engine.references import ReferenceSet
from resad_station.runtime.scale_check import KIND, ShotScaleCheck


def run(tmp_path, folder, caplog):
    profile = write_profile(tmp_path, "line", "pcb", {"kind": "folder", "uri": str(folder), "mode": "triggered"})
    with caplog.at_level(logging.WARNING, logger="resad_station.runtime.scale_check"):
        events, metrics = run_to_end(profile, tmp_path / "data")
    return events, metrics, [r.getMessage() for r in caplog.records if r.name == "resad_station.runtime.scale_check"]


def test_frames_twice_the_shots_size_are_inspected_and_named_once(tmp_path, caplog):
    folder = tmp_path / "line-2x"
    folder.mkdir()
    for f in LINE_FILES[:3]:  # the demo boards (600 px, the shots' size) at twice the resolution
        image = cv2.imread(str(f))
        cv2.imwrite(str(folder / f.name), cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
    events, metrics, warnings = run(tmp_path, folder, caplog)
    assert metrics.frames_inspected == 3 and metrics.inspection_errors == 0
    assert len(warnings) == 1
    assert "1200x1200 px (short side 1200)" in warnings[0] and "short side of 600 px" in warnings[0]
    assert "enroll the product again from this camera" in warnings[0]
    assert len(events.notices) == 1  # the same words reach the live screen and the outputs
    notice = events.notices[0]
    assert notice.kind == KIND and notice.camera == "cam1" and notice.product == "pcb"
    assert notice.message and notice.message in warnings[0]


def test_frames_of_the_shots_size_say_nothing(tmp_path, caplog):
    folder = tmp_path / "line"
    folder.mkdir()
    for f in LINE_FILES[:2]:
        (folder / f.name).write_bytes(f.read_bytes())
    events, metrics, warnings = run(tmp_path, folder, caplog)
    assert metrics.frames_inspected == 2 and warnings == [] and events.notices == []


def test_the_notice_is_withdrawn_when_a_set_of_the_frames_size_becomes_active():
    def refs(short_side):  # a real reference set: only its recorded shot size matters here
        return ReferenceSet([[torch.zeros(4, 2, 2)]], input_size=64, short_side=short_side)

    check, frame = ShotScaleCheck("cam1"), np.zeros((480, 640, 3), np.uint8)
    small, same, old = refs(200), refs(470), refs(None)
    raised = check.observe(frame, small, "pcb")
    assert raised is not None and "640x480 px" in raised.message and "short side of 200 px" in raised.message
    assert check.observe(frame, small, "pcb") is None  # each set is checked once
    withdrawn = check.observe(frame, same, "pcb")  # enrolled again from this camera
    assert withdrawn is not None and withdrawn.kind == KIND and withdrawn.message == ""
    assert check.observe(frame, old, "pcb") is None  # nothing standing, nothing to withdraw
