"""The shift report: from a database whose contents are known, a PDF whose text has those numbers."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from resad_station.reports import gather, write_pdf
from resad_station.storage import repository as repo

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def need_poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is missing: CI must install the Debian package poppler-utils (.ci/run does)")
        pytest.skip(f"{tool} is missing: install the Debian package poppler-utils")
    return path


@pytest.fixture
def shift_db(station_db, rgb_texture):
    """Two hours of one product on cam1 (and an old row outside the period, and another camera's row)."""
    db = station_db
    image = db.images.put_image(rgb_texture, ".png")
    heat = db.images.put_image(rgb_texture[::-1].copy(), ".jpg")
    with db.session() as s:
        p = repo.get_or_create_product(s, "widget")
        repo.add_reference_set(s, p, features=b"-", backbone="b", engine_version="e", input_size=256, shots=4,
                               calibration={"mean": 2.0, "std": 0.5, "max": 3.0, "t_uncertain": 3.5, "t_fail": 5.0,
                                            "shot_scores": [1.5, 2.0, 2.5, 3.0], "validation_scores": [2.2],
                                            "self_test": {"synthetic_defects": {"found": 9, "of": 10}, "auroc": 0.975}})
        records = []
        # 90 passes, 6 uncertain, 4 fails over the last 100 minutes, one a minute
        verdicts = ["pass"] * 90 + ["uncertain"] * 6 + ["fail"] * 4
        for i, v in enumerate(verdicts):
            score = {"pass": 2.0, "uncertain": 4.0, "fail": 6.0 + i / 100}[v]
            records.append(repo.InspectionRecord(p.id, "cam1", NOW - timedelta(minutes=100 - i), score, v, 50.0, i))
        records.append(repo.InspectionRecord(p.id, "cam1", NOW - timedelta(hours=30), 9.0, "fail", 50.0, 999))
        records.append(repo.InspectionRecord(p.id, "cam2", NOW - timedelta(minutes=5), 9.5, "fail", 50.0, 1000))
        repo.add_inspections(s, records)
        ids = []
        for i, score in enumerate((6.96, 6.97, 6.98, 6.99)):
            d = repo.add_defect(s, product_id=p.id, camera="cam1", time=NOW - timedelta(minutes=10 - i), verdict="fail",
                                score=score, image=image, heatmap=heat)
            ids.append(d.id)
        repo.label_defect(s, ids[0], "defect", reviewer="rita")
        repo.label_defect(s, ids[1], "false_alarm", reviewer="rita")
        repo.label_defect(s, ids[2], "false_alarm", reviewer="rita")
        alarm = {"camera": "cam1", "product": "widget", "score": 6.0, "frame_index": 96, "message": "2 consecutive"}
        repo.add_audit_event(s, "system", "alarm_raised", alarm, time=NOW - timedelta(minutes=30))
        repo.add_audit_event(s, "operator", "alarm_acknowledged", alarm, time=NOW - timedelta(minutes=30, seconds=-42))
        repo.add_audit_event(s, "system", "alarm_cleared", alarm, time=NOW - timedelta(minutes=29))
        repo.add_audit_event(s, "engineer", "thresholds_changed", {"product": "widget", "from": [3.5, 5.0],
                                                                   "to": [3.6, 5.2]}, time=NOW - timedelta(minutes=20))
        repo.add_audit_event(s, "engineer", "thresholds_changed", {"product": "widget", "from": [3.0, 4.0],
                                                                   "to": [3.5, 5.0]}, time=NOW - timedelta(days=3))
        repo.add_audit_event(s, "system", "drift_raised", {"camera": "cam1", "product": "widget", "message":
                             "good parts scoring higher than at enrollment (2.1 sigma over the last 40 s): check "
                             "lighting and camera"}, time=NOW - timedelta(minutes=15))
    return db


def test_report_numbers(shift_db):
    data = gather(shift_db, NOW - timedelta(hours=8), NOW + timedelta(seconds=1), camera="cam1")
    assert data.counts == {"pass": 90, "uncertain": 6, "fail": 4}
    assert data.total == 100 and abs(data.rate("fail") - 0.04) < 1e-12
    assert sum(n for _, n, _ in data.trend) == 100 and sum(f for *_, f in data.trend) == 4
    assert [d.score for d in data.worst][:2] == [6.99, 6.98]
    assert data.labels == {"none": 1, "defect": 1, "false_alarm": 2} and abs(data.false_alarm_rate - 2 / 3) < 1e-12
    (alarm,) = data.alarms
    assert alarm.seconds_to_acknowledge == 42 and alarm.by == "operator" and alarm.cleared is not None
    assert [e.action for e in data.changes] == ["thresholds_changed"]  # the one three days ago is outside
    assert len(data.drift) == 1
    # all cameras: cam2's fail counts too
    assert gather(shift_db, NOW - timedelta(hours=8), NOW + timedelta(seconds=1)).counts["fail"] == 5


def test_report_pdf_text_and_rendering(shift_db, tmp_path):
    pdftotext, pdftoppm = need_poppler("pdftotext"), need_poppler("pdftoppm")
    from pypdf import PdfReader

    out = write_pdf(shift_db, gather(shift_db, NOW - timedelta(hours=8), NOW + timedelta(seconds=1), camera="cam1"),
                    tmp_path / "shift.pdf")
    text = subprocess.run([pdftotext, "-layout", str(out), "-"], check=True, capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    for expected in ("Shift report", "camera cam1", "pass 90 90.0%", "uncertain 6 6.0%", "fail 4 4.0%", "total 100",
                     "Confirmed defects: 1. False alarms: 2. Not reviewed: 1.", "66.7%", "Alarms (1)", "42 s",
                     "operator", "Configuration changes (1)", "thresholds_changed by engineer", "to=",
                     "Drift warnings (1 raised)", "score 6.99", "T1 3.5", "T2 5"):
        assert expected in flat, f"{expected!r} not in the report's text:\n{text}"
    assert "three" not in flat and "[3.0, 4.0]" not in flat  # the change outside the period is not listed
    pages = PdfReader(str(out)).pages
    assert len(pages) >= 1 and "Shift report" in pages[0].extract_text()
    # renders: every page to PNG without an error, and the first page is not blank
    subprocess.run([pdftoppm, "-r", "40", "-png", str(out), str(tmp_path / "page")], check=True, capture_output=True)
    import cv2

    first = sorted(tmp_path.glob("page*.png"))
    assert len(first) == len(pages)
    assert cv2.imread(str(first[0]), cv2.IMREAD_GRAYSCALE).std() > 10


def test_report_cli(shift_db, tmp_path, capsys):
    from resad_station.cli.main import main

    url = str(shift_db.engine.url)
    shift_db.close()
    code = main(["--db-url", url, "--data-dir", str(tmp_path), "report", "--since", "8h", "--camera", "cam1",
                 "--pdf", str(tmp_path / "r.pdf")])
    assert code == 0 and (tmp_path / "r.pdf").stat().st_size > 1000
    assert "100 recorded inspections, 4 fails, 1 alarms" in capsys.readouterr().out
    assert main(["--db-url", url, "report", "--since", "8h", "--product", "nope", "--pdf", str(tmp_path / "x.pdf")]) == 2
    assert "no such product" in capsys.readouterr().err and not (tmp_path / "x.pdf").exists()


def test_station_record_per_product(shift_db):
    from resad_station.reports.honesty import flatten, product_honesty

    (h,) = product_honesty(shift_db)
    assert h.product == "widget" and h.version == 1
    assert h.reviewed == 3 and h.false_alarms == 2 and abs(h.false_alarm_rate - 2 / 3) < 1e-12
    assert h.reviewed_recent == 3 and abs(h.false_alarm_rate_recent - 2 / 3) < 1e-12
    # whatever self-test the calibration holds is shown, the thresholds' own inputs are not
    assert dict(flatten(h.self_test)) == {"self_test.synthetic_defects.found": "9", "self_test.synthetic_defects.of": "10",
                                          "self_test.auroc": "0.975"}
