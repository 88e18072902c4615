"""The enroll wizard: product -> good images (+ quality) -> build + calibration -> save and switch.

Building the reference set and saving it run in worker threads, never on the UI thread. The wizard
talks to the runtime through an `EnrollBackend` (the main window passes StationLink's, over
Station.prepare_enrollment / save_enrollment): build(product, profile_path, shots) returns a draft
with `.calibration` (enrollment.Calibration), nothing stored yet; save(draft, note) stores it as a
new reference-set version, makes it active, switches the running line to it and returns the
version number.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Protocol, Sequence

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from resad_station.enrollment.quality import Shot
from resad_station.enrollment.self_test_text import self_test_lines
from resad_station.profiles import ProfileEntry
from ui.bridge import RuntimeBridge
from ui.enroll_images_page import ImagesPage
from ui.score_histogram import ScoreHistogram
from ui.tasks import TaskRunner


class EnrollBackend(Protocol):
    def build(self, product: str, profile_path: Path | None, shots: Sequence[Shot]) -> Any: ...

    def save(self, built: Any, note: str) -> int: ...


class ProductPage(QWizardPage):
    def __init__(self, products: Sequence[str], profiles: Sequence[ProfileEntry], current: str) -> None:
        super().__init__()
        self.setTitle("Product")
        self.setSubTitle("Enroll an existing product again (a new version), or a new product from a profile.")
        self.product = QComboBox()
        self.product.setEditable(True)  # typing a new name creates a product
        self.product.addItems(list(products))
        self.product.setCurrentText(current)
        self.profile = QComboBox()
        self.profile.addItem("(none)", None)
        for entry in profiles:
            if entry.error is None:
                self.profile.addItem(f"{entry.name} ({entry.product}, {entry.origin})", entry)
        self.profile.currentIndexChanged.connect(self._profile_chosen)
        self.product.currentTextChanged.connect(lambda _t: self.completeChanged.emit())
        form = QFormLayout(self)
        form.addRow("Product", self.product)
        form.addRow("From profile", self.profile)

    def _profile_chosen(self) -> None:
        entry = self.profile.currentData()
        if entry is not None:
            self.product.setCurrentText(entry.product)

    def product_name(self) -> str:
        return self.product.currentText().strip()

    def profile_path(self) -> Path | None:
        entry = self.profile.currentData()
        return entry.path if entry is not None else None

    def isComplete(self) -> bool:  # noqa: N802 (Qt override)
        return bool(self.product_name())


class BuildPage(QWizardPage):
    def __init__(self, runner: TaskRunner, backend: EnrollBackend) -> None:
        super().__init__()
        self.setTitle("Build and calibrate")
        self.setSubTitle("The reference set is built from the accepted shots; leave-one-out scores of the shots and synthetic defects pasted on them give the proposed thresholds and the self-test.")
        self.runner = runner
        self.backend = backend
        self.built: Any = None
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy indicator: the engine gives no partial progress
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.histogram = ScoreHistogram()
        layout = QVBoxLayout(self)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.histogram, 1)

    def initializePage(self) -> None:  # noqa: N802 (Qt override)
        wizard: EnrollWizard = self.wizard()  # type: ignore[assignment]
        self.built = None
        self.progress.show()
        shots = wizard.images.accepted_shots()
        self.message.setText(f"building the reference set of {wizard.products.product_name()} from {len(shots)} shots…")
        self.runner.submit(self.backend.build, wizard.products.product_name(), wizard.products.profile_path(), shots,
                           on_done=self._built, on_error=self._failed, name="enroll-build")
        self.completeChanged.emit()

    def _built(self, built: Any) -> None:
        self.built = built
        self.progress.hide()
        cal = built.calibration
        self.histogram.set_good_scores(cal.scores)
        self.histogram.set_thresholds(cal.t_uncertain, cal.t_fail)
        lines = [f"good scores: mean {cal.mean:.4g}, max {cal.max:.4g}, std {cal.std:.3g} → proposed T1 {cal.t_uncertain:.4g}, "
                 f"T2 {cal.t_fail:.4g}"] + self_test_lines(cal.self_test)
        self.message.setText("<br>".join(html.escape(line) if not line.startswith("warning:")
                                         else f"<span style='color:#e0a040'>{html.escape(line)}</span>" for line in lines))
        self.completeChanged.emit()

    def _failed(self, exc: BaseException) -> None:
        self.progress.hide()
        self.message.setText(f"<span style='color:#e04040'>build failed: {exc}</span>")

    def isComplete(self) -> bool:  # noqa: N802 (Qt override)
        return self.built is not None


class SavePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Save")
        self.setSubTitle("Finish stores the set as a new reference-set version and switches the line to it.")
        self.note = QLineEdit()
        self.note.setPlaceholderText("why this enrollment (optional)")
        self.result = QLabel("")
        form = QFormLayout(self)
        form.addRow("Note", self.note)
        form.addRow(self.result)


class EnrollWizard(QWizard):
    def __init__(
        self,
        runner: TaskRunner,
        backend: EnrollBackend,
        products: Sequence[str],
        profiles: Sequence[ProfileEntry],
        current_product: str,
        bridge: RuntimeBridge | None = None,
        shots_wanted: int = 8,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Enroll a product")
        self.runner = runner
        self.backend = backend
        self.products = ProductPage(products, profiles, current_product)
        self.images = ImagesPage(runner, bridge, shots_wanted)
        self.build = BuildPage(runner, backend)
        self.save_page = SavePage()
        for page in (self.products, self.images, self.build, self.save_page):
            self.addPage(page)
        self.saved_version: int | None = None
        self.save_error: BaseException | None = None
        self.resize(900, 640)

    def accept(self) -> None:
        """Save in a worker; the wizard closes when the new version is stored and active."""
        if self.saved_version is not None:
            super().accept()
            return
        self.button(QWizard.WizardButton.FinishButton).setEnabled(False)
        self.save_page.result.setText("saving…")
        self.runner.submit(self.backend.save, self.build.built, self.save_page.note.text(),
                           on_done=self._saved, on_error=self._save_failed, name="enroll-save")

    def _saved(self, version: int) -> None:
        self.saved_version = version
        super().accept()

    def _save_failed(self, exc: BaseException) -> None:
        self.save_error = exc
        self.button(QWizard.WizardButton.FinishButton).setEnabled(True)
        self.save_page.result.setText(f"<span style='color:#e04040'>save failed: {exc}</span>")
