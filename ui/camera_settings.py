"""Camera settings form: fps, exposure, gain, region of interest, loop.

The form edits the camera section of the profile; "Apply to profile" puts the changed YAML into
the profile editor, so camera changes go through the same validation, role check, save and
audit as any profile edit.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from resad_station.profiles import Profile, profile_to_yaml


def _optional_box(maximum: float, decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(0.0, maximum)
    box.setSpecialValueText("auto")  # 0 shows "auto" and means: leave it to the camera
    return box


class CameraSettings(QWidget):
    yaml_ready = Signal(str)  # the profile with these camera settings, as YAML

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile: Profile | None = None
        self.source = QLabel("-")
        self.fps = _optional_box(1000.0, 1)
        self.exposure = _optional_box(1e7, 1)
        self.gain = _optional_box(100.0, 2)
        self.loop = QCheckBox("loop finite sources (video, folder)")
        self.roi = [QSpinBox() for _ in range(4)]
        for box in self.roi:
            box.setRange(0, 100_000)
        roi_row = QHBoxLayout()
        for name, box in zip("xywh", self.roi):
            roi_row.addWidget(QLabel(name))
            roi_row.addWidget(box)
        self.apply_button = QPushButton("Apply to profile")
        self.apply_button.clicked.connect(self._apply)
        form = QFormLayout(self)
        form.addRow("Source", self.source)
        form.addRow("Frames per second", self.fps)
        form.addRow("Exposure (µs)", self.exposure)
        form.addRow("Gain", self.gain)
        form.addRow("Region of interest (0 0 0 0: whole frame)", roi_row)
        form.addRow("", self.loop)
        form.addRow("", self.apply_button)

    def load(self, profile: Profile) -> None:
        self.profile = profile
        cam = profile.camera
        self.source.setText(f"{cam.kind}: {cam.uri} ({cam.name}, {cam.mode})")
        self.fps.setValue(cam.fps or 0.0)
        self.exposure.setValue(cam.exposure or 0.0)
        self.gain.setValue(cam.gain or 0.0)
        self.loop.setChecked(cam.loop)
        for box, value in zip(self.roi, cam.roi or (0, 0, 0, 0)):
            box.setValue(value)

    def edited_profile(self) -> Profile:
        assert self.profile is not None
        roi = tuple(b.value() for b in self.roi)
        camera = self.profile.camera.model_copy(
            update={
                "fps": self.fps.value() or None,
                "exposure": self.exposure.value() or None,
                "gain": self.gain.value() or None,
                "loop": self.loop.isChecked(),
                "roi": roi if roi[2] and roi[3] else None,
            }
        )
        return self.profile.model_copy(update={"camera": camera})

    def _apply(self) -> None:
        if self.profile is not None:
            self.yaml_ready.emit(profile_to_yaml(self.edited_profile()))
