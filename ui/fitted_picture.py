"""An image in a label, scaled to fit while keeping its aspect ratio, rescaled on resize."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel

from ui.thumbnail_loader import rgb_to_qimage


class FittedPicture(QLabel):
    def __init__(self, caption: str, min_size: tuple[int, int] = (240, 240), smooth: bool = True) -> None:
        super().__init__(caption)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(*min_size)
        self.setStyleSheet("background: #202020; color: #aaaaaa;")
        # Fast scaling for pictures that change many times a second (the camera tiles).
        self._mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
        self._pixmap: QPixmap | None = None

    @property
    def has_picture(self) -> bool:
        return self._pixmap is not None

    def set_rgb(self, rgb, missing: str = "file missing") -> None:
        """Show an RGB uint8 image; None shows `missing` instead."""
        self._pixmap = QPixmap.fromImage(rgb_to_qimage(rgb)) if rgb is not None else None
        if self._pixmap is None:
            self.setText(missing)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._pixmap is not None:
            self.setPixmap(self._pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio, self._mode))
