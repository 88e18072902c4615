"""A warning when a camera's frames are not the size of the product's shots.

The engine reads every frame at the scale of the reference set's shots (engine/preprocess.py), so
a texture or a defect keeps its size when crops vary. If the camera's resolution or field of view
changed since enrollment, the part itself has another size in pixels, and its frames would be
compared at the wrong scale: the scores rise and the station fails good parts without saying why.
The first frame after each reference set becomes active is checked, once, and logged.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

RATIO = 1.5  # short sides further apart than this are worth a word; crops of one product vary less


class ShotScaleCheck:
    def __init__(self, camera: str) -> None:
        self.camera = camera
        self._checked = None  # the reference set the last check was for

    def observe(self, image, refs, product: str) -> str | None:
        """The warning for this frame against refs (logged), or None; each set is checked once."""
        if refs is self._checked:
            return None
        self._checked = refs
        shots = getattr(refs, "short_side", None)
        if shots is None or image is None:
            return None
        frame = min(image.shape[:2])
        if max(frame, shots) <= RATIO * min(frame, shots):
            return None
        message = (f"camera {self.camera}: its frames are {image.shape[1]}x{image.shape[0]} px (short side {frame}), "
                   f"the shots of {product!r} had a short side of {shots} px; frames are read at the shots' scale, "
                   "so if the camera's resolution or field of view changed since enrollment, enroll the product "
                   "again from this camera")
        log.warning("%s", message)
        return message
