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

    def observe(self, image, refs, product: str) -> None:
        """Log a warning when this frame's size is unlike refs' shots; each set is checked once."""
        if refs is self._checked:
            return
        self._checked = refs
        shots, frame = refs.short_side, min(image.shape[:2])
        if shots is None or max(frame, shots) <= RATIO * min(frame, shots):  # None: a set from before the scale
            return
        log.warning("camera %s: its frames are %dx%d px (short side %d), the shots of %r had a short side of %d px; "
                    "frames are read at the shots' scale, so if the camera's resolution or field of view changed "
                    "since enrollment, enroll the product again from this camera",
                    self.camera, image.shape[1], image.shape[0], frame, product, shots)
