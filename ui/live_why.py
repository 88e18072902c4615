"""The live view's "why": click the inspected picture and see that region against the part of the
reference shot the engine compared it with (from the frame's own NN matches)."""

from __future__ import annotations

from typing import Any

from ui.why_panel import WhyPanel


class LiveWhy:
    def __init__(self, screen: Any) -> None:
        self.screen = screen
        self.panel = WhyPanel()
        self.panel.clear("Why: click the inspected picture to compare that region with its reference")
        self.shots = None  # resad_station.why.ReferenceShots, set by the main window
        self.last: Any = None  # the Why shown
        screen.view.box.scene().sigMouseClicked.connect(self._clicked)

    def set_reference_shots(self, shots) -> None:
        self.shots = shots

    def _clicked(self, event) -> None:
        frame = self.screen.last_frame
        if frame is None:
            return
        point = self.screen.view.box.mapSceneToView(event.scenePos())
        self.show_at(point.x(), point.y())

    def show_at(self, x: float, y: float) -> None:
        """(x, y) in the displayed picture's pixels."""
        from resad_station.why import explain, why_crops

        frame = self.screen.last_frame
        result = getattr(frame, "result", None)
        if result is None or result.nearest is None or self.shots is None:
            self.panel.clear("Why: this frame has no reference matches to show")
            return
        scale = result.image.shape[1] / frame.image.shape[1]  # displayed -> inspected pixels
        h, w = result.image.shape[:2]
        at = (min(max(x * scale, 0), w - 1), min(max(y * scale, 0), h - 1))
        found = self.shots.get(result.product, result.reference_version)
        if found is None:
            self.panel.clear("Why: the reference set of this frame is no longer stored")
            return
        _, images, names = found
        why = explain(result.image.shape, result.anomaly_map, result.nearest, [i.shape[:2] for i in images],
                      at=at, shot_names=names)
        crop, ref_crop = why_crops(result.image, images[why.shot], why)
        self.last = why
        self.panel.show_why(crop, ref_crop, f"frame {result.frame_index}: {why.caption()}")
