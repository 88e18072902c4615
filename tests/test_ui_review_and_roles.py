"""Review gallery on a real SQLite database; engineer PIN and the operator's threshold gate."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import sqlalchemy as sa

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from resad_station.defects.review import DefectReview  # noqa: E402
from resad_station.storage import repository as repo  # noqa: E402
from resad_station.storage.models import Defect  # noqa: E402
from ui.audit_view import AuditView  # noqa: E402
from ui.defect_model import PAGE_SIZE  # noqa: E402
from ui.review_screen import ReviewScreen  # noqa: E402
from ui.roles import PinError, PinStore, RoleSession  # noqa: E402
from ui.settings_screen import SettingsScreen  # noqa: E402
from ui.tasks import TaskRunner  # noqa: E402
from ui.thumbnail_loader import ThumbnailLoader  # noqa: E402


def fill_defects(db, n: int) -> None:
    rng = np.random.default_rng(0)
    image = db.images.put_image(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    base = datetime.now(timezone.utc)
    with db.session() as s:
        p = repo.get_or_create_product(s, "board")
        s.execute(sa.insert(Defect), [
            dict(product_id=p.id, camera="cam1", time=base - timedelta(seconds=i), verdict="fail" if i % 2 else "uncertain",
                 score=1.0 + i / n, image_path=image.path, image_sha256=image.sha256, heatmap_path=image.path,
                 heatmap_sha256=image.sha256, label="none")
            for i in range(n)
        ])


@pytest.fixture
def review(qtbot, station_db, tmp_path):
    runner, thumbs = TaskRunner(), ThumbnailLoader()
    screen = ReviewScreen(DefectReview(station_db), RoleSession(PinStore(tmp_path), user="rita"), runner, thumbs)
    qtbot.addWidget(screen)
    yield screen
    runner.wait()
    thumbs.stop()


def test_gallery_pages_and_labels_persist(qtbot, review, station_db, tmp_path):
    fill_defects(station_db, 5 * PAGE_SIZE + 7)
    review.set_products(["board"])
    review.apply_filter()
    assert review.model.total == 5 * PAGE_SIZE + 7
    assert review.model.queries == 1  # one page, not all rows
    last = review.model.row_at(review.model.total - 1)
    assert last is not None and review.model.queries == 2
    first = review.current
    review.label_current("defect")  # the D key's action
    qtbot.waitUntil(lambda: review.model.row_at(0).label == "defect")
    with station_db.session() as s:
        row = repo.get_defect(s, first.id)
        assert (row.label, row.reviewer) == ("defect", "operator:rita")
        assert [e.action for e in repo.list_audit_events(s)] == ["label_defect"]
    assert review.current.id != first.id  # moved on to the next defect

    review.label_filter.setCurrentText("defect")
    assert review.model.total == 1
    out = tmp_path / "defects.csv"
    review.start_export(out, csv=True)
    review.runner.wait()
    rows = list(csv.DictReader(out.open()))
    assert [int(r["id"]) for r in rows] == [first.id] and rows[0]["product"] == "board"


def test_pin_is_a_salted_hash(tmp_path):
    pins = PinStore(tmp_path)
    with pytest.raises(PinError):
        pins.set_pin("12")
    with pytest.raises(PinError, match="at least 6 digits"):
        pins.set_pin("2468")
    pins.set_pin("246813")
    stored = pins.path.read_text()
    assert "246813" not in stored and pins.verify("246813") and not pins.verify("246814")
    first_salt = stored
    with pytest.raises(PinError, match="needs the current PIN"):
        pins.set_pin("135790")
    pins.set_pin("246813", current="246813")
    assert pins.path.read_text() != first_salt  # a new salt each time


def answer_pin_dialog(qtbot, pin: str | None) -> None:
    """When the modal PIN dialog opens: type `pin` and press OK (None: cancel)."""
    def answer():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(10, answer)
            return
        if pin is None:
            dialog.reject()
            return
        dialog.pin.setText(pin)
        dialog._try()
        if dialog.isVisible():  # wrong PIN: the dialog says so and stays; give up
            assert dialog.error.text() == "wrong PIN"
            dialog.reject()
    QTimer.singleShot(0, answer)


def test_operator_cannot_change_thresholds_without_pin(qtbot, tmp_path):
    session = RoleSession(PinStore(tmp_path), user="olga")
    session.pins.set_pin("246813")
    screen = SettingsScreen(session, AuditView())
    qtbot.addWidget(screen)
    editor = screen.thresholds
    editor.set_good_scores([0.2, 0.25, 0.3])
    editor.set_current(0.4, 0.8)
    applied = []
    screen.thresholds_changed.connect(lambda a, b: applied.append((a, b)))

    editor.t2.setValue(0.6)
    answer_pin_dialog(qtbot, "0000")
    editor.apply_button.click()
    assert applied == [] and editor.edited() == (0.4, 0.8)  # refused, and put back
    assert session.role == "operator"

    editor.t2.setValue(0.6)
    answer_pin_dialog(qtbot, "246813")
    editor.apply_button.click()
    assert applied == [(0.4, 0.6)] and session.role == "engineer"


def test_custom_time_range_filters_the_gallery(qtbot, review, station_db):
    from PySide6.QtCore import QDateTime

    from ui.review_screen import CUSTOM_PERIOD

    fill_defects(station_db, 120)  # one defect a second, the newest now
    review.set_products(["board"])
    review.apply_filter()
    assert review.model.total == 120 and review.since_edit.isHidden()
    now = QDateTime.currentDateTime()
    review.since_edit.setDateTime(now.addSecs(-90))  # the last minute and a half
    review.until_edit.setDateTime(now.addSecs(-30))  # ... but not the newest half minute
    review.period.setCurrentText(CUSTOM_PERIOD)
    assert 55 <= review.model.total <= 65 and not review.since_edit.isHidden()
    f = review.current_filter()
    assert f.until - f.since == timedelta(seconds=60)
    review.period.setCurrentText("all time")
    assert review.model.total == 120 and review.current_filter().until is None and review.until_edit.isHidden()


def add_newer_defects(db, n: int) -> None:
    """n defects logged now, newer than fill_defects' (the line keeps running while one reviews)."""
    rng = np.random.default_rng(1)
    image = db.images.put_image(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    base = datetime.now(timezone.utc) + timedelta(seconds=5)
    with db.session() as s:
        p = repo.get_or_create_product(s, "board")
        s.execute(sa.insert(Defect), [
            dict(product_id=p.id, camera="cam1", time=base + timedelta(seconds=i), verdict="fail", score=9.0,
                 image_path=image.path, image_sha256=image.sha256, heatmap_path=image.path,
                 heatmap_sha256=image.sha256, label="none") for i in range(n)])


def test_review_follows_new_defects_at_the_top_and_offers_refresh_further_down(qtbot, review, station_db):
    fill_defects(station_db, 3 * PAGE_SIZE)
    review.resize(900, 700)
    review.show()
    review.apply_filter()
    first = review.current
    add_newer_defects(station_db, 3)
    qtbot.waitUntil(lambda: review.model.total == 3 * PAGE_SIZE + 3, timeout=30_000)  # followed by the poll
    assert review.current.id == first.id  # the defect being looked at stays open
    assert review.gallery.currentIndex().row() == 3
    # Scrolled down, reviewing row 40: nothing moves, a button offers the new ones with their count.
    review.gallery.setCurrentIndex(review.model.index(40))
    review.gallery.scrollTo(review.model.index(40))
    qtbot.waitUntil(lambda: review.gallery.verticalScrollBar().value() > 0, timeout=10_000)
    looking_at = review.current.id
    add_newer_defects(station_db, 5)
    assert review.check_new() == 5
    assert review.refresh_button.isVisible() and review.refresh_button.text() == "Refresh (5 new)"
    assert review.model.total == 3 * PAGE_SIZE + 3 and review.current.id == looking_at
    review.refresh_button.click()
    assert review.model.total == 3 * PAGE_SIZE + 8 and not review.refresh_button.isVisible()
    assert review.current.id == looking_at and review.gallery.currentIndex().row() == 45


def test_gallery_filters_by_station_and_camera(qtbot, review, station_db):
    image = station_db.images.put_image(np.zeros((32, 32, 3), np.uint8))
    base = datetime.now(timezone.utc)
    with station_db.session() as s:
        p = repo.get_or_create_product(s, "board")
        for i, (station, camera) in enumerate([("line1", "cam1")] * 3 + [("line1", "top")] * 2 + [("line2", "cam1")] * 4):
            repo.add_defect(s, product_id=p.id, station=station, camera=camera, time=base - timedelta(seconds=i),
                            verdict="fail", score=1.0, image=image)
    review.set_products(["board"])
    review.apply_filter()
    assert review.model.total == 9
    assert [review.station.itemText(i) for i in range(review.station.count())] == ["all stations", "line1", "line2"]
    assert [review.camera.itemText(i) for i in range(review.camera.count())] == ["all cameras", "cam1", "top"]
    review.station.setCurrentText("line1")
    assert review.model.total == 5 and {review.model.row_at(i).station for i in range(5)} == {"line1"}
    review.camera.setCurrentText("cam1")
    assert review.model.total == 3 and "line1 / cam1" in review.info.text()
    review.set_products(["board"])  # a refresh of the choices keeps what is chosen
    assert (review.station.currentText(), review.camera.currentText()) == ("line1", "cam1")
    review.station.setCurrentText("all stations")
    assert review.model.total == 7


def test_a_defect_id_from_a_line_message_finds_its_defect(qtbot, review, station_db):
    image = station_db.images.put_image(np.zeros((32, 32, 3), np.uint8))
    base = datetime.now(timezone.utc)
    refs = [f"0000000{i}-aaaa-4bbb-8ccc-dddddddddddd" for i in range(4)]
    with station_db.session() as s:
        p = repo.get_or_create_product(s, "board")
        for i, ref in enumerate(refs):
            repo.add_defect(s, product_id=p.id, camera="cam1", time=base - timedelta(seconds=i), verdict="fail",
                            score=1.0 + i, image=image, reference=ref)
    review.set_products(["board"])
    review.apply_filter()
    assert review.model.total == 4
    review.reference.setText(f"  {refs[2].upper()} ")  # pasted from the MES message
    review.reference.editingFinished.emit()
    assert review.model.total == 1 and review.current.reference == refs[2]
    assert f"defect_id {refs[2]}" in review.info.text() and review.current.score == 3.0
    review.reference.clear()
    review.reference.editingFinished.emit()
    assert review.model.total == 4
