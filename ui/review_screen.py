"""Review: a paged defect gallery with filters, image / heatmap side by side, labels, teach, export.

Keys: D = real defect, F = false alarm, T = teach as good (false alarm + add to references),
arrows move through the gallery. Labels are written by a worker thread (never the UI thread)
and audited; the gallery updates the one row in place.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

from PySide6.QtCore import QDateTime, QItemSelectionModel, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from resad_station.defects.review import DefectReview, DefectRow
from ui.defect_model import DefectFilter, DefectPageModel, DefectRole, query_filters
from ui.fitted_picture import FittedPicture
from ui.review_extras import load_why, write_report
from ui.roles import RoleSession
from ui.tasks import TaskRunner
from ui.thumbnail_loader import ThumbnailLoader, read_rgb
from ui.why_panel import WhyPanel

POLL_MS = 2000  # how often the list looks for newly logged defects (one COUNT query)
PERIODS = {"all time": None, "last hour": timedelta(hours=1), "last 24 h": timedelta(days=1), "last 7 days": timedelta(days=7)}
CUSTOM_PERIOD = "from … to …"  # two date-time editors, in local time
VERDICT_CHOICES = ("all verdicts", "uncertain", "fail")
LABEL_CHOICES = {"all labels": None, "not reviewed": "none", "defect": "defect", "false alarm": "false_alarm"}
ALL_STATIONS, ALL_CAMERAS = "all stations", "all cameras"




class ReviewScreen(QWidget):
    teach_requested = Signal(object)  # DefectRow; the main window hands it to the runtime

    def __init__(self, defects: DefectReview, session: RoleSession, runner: TaskRunner, thumbnails: ThumbnailLoader,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.defects = defects  # the runtime's defect review, from the station link
        self.session = session
        self.runner = runner
        self.model = DefectPageModel(defects, thumbnails, self)

        self.product = QComboBox()
        self.period = QComboBox()
        self.period.addItems([*PERIODS, CUSTOM_PERIOD])
        now = QDateTime.currentDateTime()
        self.since_edit, self.until_edit = QDateTimeEdit(now.addDays(-1)), QDateTimeEdit(now.addSecs(3600))
        for edit in (self.since_edit, self.until_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setVisible(False)
            edit.dateTimeChanged.connect(self.apply_filter)
        self.verdict = QComboBox()
        self.verdict.addItems(VERDICT_CHOICES)
        self.label_filter = QComboBox()
        self.label_filter.addItems(list(LABEL_CHOICES))
        self.station = QComboBox()  # filled from the stations and cameras that logged defects
        self.camera = QComboBox()
        self.station.addItem(ALL_STATIONS)
        self.camera.addItem(ALL_CAMERAS)
        # from a line message to its defect: paste the defect_id that MQTT / the webhook / OPC UA carried
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("defect_id from the line…")
        self.reference.setClearButtonEnabled(True)
        self.reference.editingFinished.connect(self.apply_filter)
        self.count = QLabel("")
        for combo in (self.product, self.period, self.verdict, self.label_filter, self.station, self.camera):
            combo.currentIndexChanged.connect(self.apply_filter)
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_zip_button = QPushButton("Export zip…")
        self.export_csv_button.clicked.connect(lambda: self._export(csv=True))
        self.export_zip_button.clicked.connect(lambda: self._export(csv=False))
        self.report_button = QPushButton("Shift report…")
        self.report_button.setToolTip("A PDF of the filter's product and period (the last 8 h for all time)")
        self.report_button.clicked.connect(self._report)
        bar = QHBoxLayout()
        for w in (QLabel("Product"), self.product, self.period, self.since_edit, self.until_edit, self.verdict,
                  self.label_filter, self.station, self.camera, self.reference, self.count):
            bar.addWidget(w)
        # New defects: followed while the reviewer is at the top of the list, else offered with a count.
        self.refresh_button = QPushButton("")
        self.refresh_button.setVisible(False)
        self.refresh_button.clicked.connect(self.refresh_keeping_place)
        bar.addWidget(self.refresh_button)
        self.poll = QTimer(self, interval=POLL_MS)
        self.poll.timeout.connect(self.check_new)
        self.poll.start()
        bar.addStretch(1)
        bar.addWidget(self.export_csv_button)
        bar.addWidget(self.export_zip_button)
        bar.addWidget(self.report_button)

        self.gallery = QListView()
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setUniformItemSizes(True)  # no per-row size query: scrolling 100k rows stays cheap
        self.gallery.setIconSize(QSize(150, 150))
        self.gallery.setGridSize(QSize(172, 190))
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.setModel(self.model)
        self.gallery.selectionModel().currentChanged.connect(lambda cur, _prev: self._show(cur.row()))

        self.image = FittedPicture("image")
        self.heatmap = FittedPicture("heatmap")
        self.info = QLabel("")
        self.info.setStyleSheet("font-size: 13pt;")
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy the defect_id
        self.defect_button = QPushButton("Defect (D)")
        self.false_button = QPushButton("False alarm (F)")
        self.teach_button = QPushButton("Teach as good (T)")
        self.defect_button.clicked.connect(lambda: self.label_current("defect"))
        self.false_button.clicked.connect(lambda: self.label_current("false_alarm"))
        self.teach_button.clicked.connect(self.teach_current)
        for key, slot in (("D", lambda: self.label_current("defect")), ("F", lambda: self.label_current("false_alarm")), ("T", self.teach_current)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        pictures = QHBoxLayout()
        pictures.addWidget(self.image)
        pictures.addWidget(self.heatmap)
        self.why = WhyPanel()
        pictures.addWidget(self.why, 0, Qt.AlignmentFlag.AlignTop)
        actions = QHBoxLayout()
        actions.addWidget(self.info, 1)
        for b in (self.defect_button, self.false_button, self.teach_button):
            b.setMinimumHeight(40)
            actions.addWidget(b)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.addLayout(pictures, 1)
        detail_layout.addLayout(actions)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.gallery)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        self.status = QLabel("")
        layout.addWidget(self.status)
        self.current: DefectRow | None = None
        self._set_actions_enabled(False)

    # -- filters --
    def set_products(self, names: list[str]) -> None:
        self.product.blockSignals(True)
        self.product.clear()
        self.product.addItems(["all products", *names])
        self.product.blockSignals(False)
        self.refresh_cameras()

    def refresh_cameras(self) -> None:
        """The station and camera choices: every one that has logged a defect (the choice is kept)."""
        pairs = self.defects.cameras()
        for combo, first, values in ((self.station, ALL_STATIONS, sorted({st for st, _ in pairs})),
                                     (self.camera, ALL_CAMERAS, sorted({cam for _, cam in pairs}))):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([first, *values])
            combo.setCurrentIndex(max(0, combo.findText(current)))
            combo.blockSignals(False)

    def current_filter(self) -> DefectFilter:
        custom = self.period.currentText() == CUSTOM_PERIOD
        for edit in (self.since_edit, self.until_edit):
            edit.setVisible(custom)
        if custom:
            since, until = (datetime.fromtimestamp(e.dateTime().toSecsSinceEpoch(), timezone.utc)
                            for e in (self.since_edit, self.until_edit))
        else:
            period = PERIODS[self.period.currentText()]
            since, until = (datetime.now(timezone.utc) - period if period else None), None
        return DefectFilter(
            product=self.product.currentText() if self.product.currentIndex() > 0 else None,
            since=since,
            until=until,
            verdict=self.verdict.currentText() if self.verdict.currentIndex() > 0 else None,
            label=LABEL_CHOICES[self.label_filter.currentText()],
            station=self.station.currentText() if self.station.currentIndex() > 0 else None,
            camera=self.camera.currentText() if self.camera.currentIndex() > 0 else None,
            reference=self.reference.text().strip() or None,
        )

    def apply_filter(self) -> None:
        self.model.set_filter(self.current_filter())
        self.count.setText(f"{self.model.total:,} defects")
        self.gallery.scrollToTop()
        if self.model.total:
            self.gallery.selectionModel().setCurrentIndex(self.model.index(0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
        else:
            self._show(-1)

    # -- new defects --
    def check_new(self) -> int:
        """Looks for defects logged since the list was loaded; returns how many are new."""
        if not self.isVisible() or self.model.queries == 0:  # not loaded yet
            return 0
        new = self.model.count_now() - self.model.total
        if new <= 0:
            self.refresh_button.setVisible(False)
            return 0
        if self.gallery.verticalScrollBar().value() == 0:  # at the top: nothing to lose, follow
            self.refresh_keeping_place()
        else:
            self.refresh_button.setText(f"Refresh ({new:,} new)")
            self.refresh_button.setVisible(True)
        return new

    def refresh_keeping_place(self) -> None:
        """Reload; the defect the reviewer had open stays open and in view."""
        current = self.current.id if self.current is not None else None
        old_row = self.gallery.currentIndex().row()
        before = self.model.total
        self.model.refresh()
        self.count.setText(f"{self.model.total:,} defects")
        self.refresh_button.setVisible(False)
        if current is None or old_row < 0:
            if self.model.total:
                self.gallery.selectionModel().setCurrentIndex(self.model.index(0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
            return
        row = old_row + max(0, self.model.total - before)  # newest first: new rows came in above
        if (r := self.model.row_at(row)) is None or r.id != current:
            row = self.model.find_row(current)
            row = old_row if row is None else row
        index = self.model.index(min(row, max(0, self.model.total - 1)))
        self.gallery.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.gallery.scrollTo(index)

    # -- detail --
    def _show(self, row: int) -> None:
        self.current = self.model.row_at(row) if row >= 0 else None
        self._set_actions_enabled(self.current is not None)
        if self.current is None:
            self.info.setText("no defect selected")
            return
        d = self.current
        self.image.set_rgb(read_rgb(self.defects.file(d.image_path)))
        self.heatmap.set_rgb(read_rgb(self.defects.file(d.heatmap_path)) if d.heatmap_path else None)
        why = load_why(self.defects.database, d.id)
        if why is None:
            self.why.clear()
        else:
            self.why.show_why(*why)
        reviewed = f" by {d.reviewer}" if d.reviewer else ""
        where = f"{d.station} / {d.camera}" if d.station else d.camera
        ref = f"<br>defect_id {d.reference}" if d.reference else ""
        self.info.setText(f"#{d.id}  {d.time.astimezone():%Y-%m-%d %H:%M:%S}  {where}  <b>{d.verdict}</b> score {d.score:.4g}  label: <b>{d.label}</b>{reviewed}{ref}")

    def _set_actions_enabled(self, enabled: bool) -> None:
        for b in (self.defect_button, self.false_button, self.teach_button):
            b.setEnabled(enabled)

    # -- actions --
    def label_current(self, label: str) -> None:
        row = self.gallery.currentIndex().row()
        if self.current is None:
            return
        self.runner.submit(self.defects.label, self.current.id, label, self.session.actor,
                           on_done=lambda new: self._labelled(row, new), on_error=self._failed, name="label")
        self._advance(row)  # the next defect is shown at once; the write lands in the background

    def _labelled(self, row: int, new: DefectRow) -> None:
        self.model.replace_row(row, new)
        self.status.setText(f"defect #{new.id} labelled {new.label}")
        if self.current is not None and self.current.id == new.id:
            self._show(row)

    def teach_current(self) -> None:
        if self.current is not None:
            self.teach_requested.emit(self.current)

    def _advance(self, row: int) -> None:
        if row + 1 < self.model.total:
            self.gallery.setCurrentIndex(self.model.index(row + 1))

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(f"<span style='color:#e04040'>failed: {exc}</span>")

    def _export(self, csv: bool) -> None:
        suffix, kind = (".csv", "CSV (*.csv)") if csv else (".zip", "Zip archive (*.zip)")
        path, _ = QFileDialog.getSaveFileName(self, "Export defects", f"defects{suffix}", kind)
        if not path:
            return
        self.start_export(Path(path), csv)

    def _report(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Shift report", "shift-report.pdf", "PDF (*.pdf)")
        if path:
            self.start_report(Path(path))

    def start_report(self, path: Path) -> None:
        f = self.current_filter()
        self.status.setText(f"writing the shift report to {path}…")
        self.runner.submit(write_report, self.defects.database, path, f.product, f.since, f.until, name="report",
                           on_done=self.status.setText, on_error=self._failed)

    def start_export(self, path: Path, csv: bool) -> None:
        self.status.setText(f"exporting to {path}…")
        skipped: list[tuple[int, str]] = []
        task = partial(self.defects.export, path, csv, skipped=skipped, **query_filters(self.current_filter()))  # as the CLI does

        def done(n: int) -> None:
            extra = f"; skipped {len(skipped)}: " + ", ".join(f"#{i} ({why})" for i, why in skipped[:5]) if skipped else ""
            self.status.setText(f"exported {n:,} defects to {path}{extra}")

        self.runner.submit(task, name="export", on_done=done, on_error=self._failed)
