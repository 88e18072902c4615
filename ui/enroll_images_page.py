"""Enroll wizard, page 2: K good images from files or the live feed, with the quality verdicts.

Every change re-runs the enrollment quality checks (decodes, size, blur, near-duplicates) in a
worker thread; each thumbnail says "ok" or why it is rejected. Only accepted shots are built on.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSpinBox, QVBoxLayout, QWizardPage

from resad_station.enrollment.quality import QualityReport, Shot, check_shots, load_shots
from ui.bridge import RuntimeBridge
from ui.overlay import fit_longest_side
from ui.tasks import TaskRunner
from ui.thumbnail_loader import rgb_to_qimage

MIN_SHOTS = 2
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff)"


def check_files_and_frames(paths: list[Path], frames: list[Shot]) -> tuple[QualityReport, list[Shot]]:
    shots, decode_rejects = load_shots(paths)
    all_shots = shots + frames
    report = check_shots(all_shots)
    report.rejects = decode_rejects + report.rejects
    return report, all_shots


class ImagesPage(QWizardPage):
    def __init__(self, runner: TaskRunner, bridge: RuntimeBridge | None, shots_wanted: int = 8) -> None:
        super().__init__()
        self.setTitle("Good images")
        self.setSubTitle("Import K images of good parts, or capture them from the live feed. Rejected images are not used.")
        self.runner = runner
        self.bridge = bridge
        self.paths: list[Path] = []
        self.frames: list[Shot] = []
        self.report: QualityReport | None = None
        self.checking = False
        self.count = QSpinBox()
        self.count.setRange(MIN_SHOTS, 64)
        self.count.setValue(shots_wanted)
        import_button = QPushButton("Import files…")
        import_button.clicked.connect(self._import)
        self.capture_button = QPushButton("Capture from live")
        self.capture_button.setEnabled(bridge is not None)
        self.capture_button.clicked.connect(self._capture)
        clear_button = QPushButton("Clear")
        clear_button.clicked.connect(self.clear)
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(128, 128))
        self.thumbs.setGridSize(QSize(200, 190))
        self.thumbs.setWordWrap(True)
        self.thumbs.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.summary = QLabel("")
        row = QHBoxLayout()
        row.addWidget(import_button)
        row.addWidget(QLabel("frames"))
        row.addWidget(self.count)
        row.addWidget(self.capture_button)
        row.addStretch(1)
        row.addWidget(clear_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.thumbs, 1)
        layout.addWidget(self.summary)
        if bridge is not None:
            bridge.raw_frames_ready.connect(self._frames_captured)

    def accepted_shots(self) -> list[Shot]:
        return list(self.report.accepted) if self.report else []

    def isComplete(self) -> bool:  # noqa: N802 (Qt override)
        return not self.checking and len(self.accepted_shots()) >= MIN_SHOTS

    def add_files(self, paths: list[Path]) -> None:
        self.paths += [Path(p) for p in paths if Path(p) not in self.paths]
        self._recheck()

    def clear(self) -> None:
        self.paths, self.frames, self.report = [], [], None
        self.thumbs.clear()
        self.summary.setText("")
        self.completeChanged.emit()

    def _import(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Good images", "", IMAGE_FILTER)
        if files:
            self.add_files([Path(f) for f in files])

    def _capture(self) -> None:
        assert self.bridge is not None
        self.summary.setText(f"capturing {self.count.value()} frames from the live feed…")
        self.bridge.capture_raw(self.count.value())

    def _frames_captured(self, frames: list) -> None:
        if self.isVisible():
            self.frames += [Shot(name, image, "live") for name, image in frames]
            self._recheck()

    def _recheck(self) -> None:
        self.checking = True
        self.completeChanged.emit()
        self.summary.setText("checking image quality…")
        self.runner.submit(check_files_and_frames, list(self.paths), list(self.frames), on_done=self._checked, name="quality")

    def _checked(self, outcome: tuple[QualityReport, list[Shot]]) -> None:
        self.report, shots = outcome
        self.checking = False
        rejected = {r.name: r.reason for r in self.report.rejects}
        self.thumbs.clear()
        for shot in shots:
            self._add_thumb(shot.name, shot.image, rejected.get(shot.name))
        for name, reason in rejected.items():  # files that did not decode have no image
            if not any(s.name == name for s in shots):
                self._add_thumb(name, None, reason)
        ok = len(self.report.accepted)
        self.summary.setText(f"{ok} accepted, {len(self.report.rejects)} rejected (at least {MIN_SHOTS} needed)")
        self.completeChanged.emit()

    def _add_thumb(self, name: str, image, reason: str | None) -> None:
        label = Path(name).name + ("\nok" if reason is None else f"\nREJECTED: {reason}")
        item = QListWidgetItem(label)
        if image is not None:
            item.setIcon(QIcon(QPixmap.fromImage(rgb_to_qimage(fit_longest_side(image, 128)))))
        item.setForeground(QColor("#2a9a45") if reason is None else QColor("#d03030"))
        item.setToolTip(reason or "passes the quality checks")
        item.setData(Qt.ItemDataRole.UserRole, reason is None)
        self.thumbs.addItem(item)
