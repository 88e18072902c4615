"""A warning when a camera's frames are not the size of the product's shots.

The engine reads every frame at the scale of the reference set's shots (engine/preprocess.py), so
a texture or a defect keeps its size when crops vary. If the camera's resolution or field of view
changed since enrollment, the part itself has another size in pixels, and its frames would be
compared at the wrong scale: the scores rise and the station fails good parts without saying why.
The first frame after each reference set becomes active is checked, once: a mismatch is logged
and becomes a Notice for the live screen and the outputs, withdrawn when a later set matches.
"""

from __future__ import annotations

import logging
import time

from resad_station.runtime.events import Notice

log = logging.getLogger(__name__)

RATIO = 1.5  # short sides further apart than this are worth a word; crops of one product vary less
KIND = "frame_scale"


class ShotScaleCheck:
    def __init__(self, camera: str) -> None:
        self.camera = camera
        self._checked = None  # the reference set the last check was for
        self._standing = False  # a notice is out and not withdrawn

    def observe(self, image, refs, product: str) -> Notice | None:
        """The notice to publish when this frame changes what is said about the camera, else None.

        Only the first frame after each change of reference set is looked at.
        """
        if refs is self._checked:
            return None
        self._checked = refs
        shots, frame = refs.short_side, min(image.shape[:2])
        if shots is None or max(frame, shots) <= RATIO * min(frame, shots):  # None: a set from before the scale
            if not self._standing:
                return None
            self._standing = False
            return Notice(self.camera, product, KIND, time.time())
        message = (f"frames are {image.shape[1]}x{image.shape[0]} px (short side {frame}), the shots of {product!r} "
                   f"had a short side of {shots} px; frames are read at the shots' scale, so if the camera's "
                   "resolution or field of view changed since enrollment, enroll the product again from this camera")
        log.warning("camera %s: %s", self.camera, message)
        self._standing = True
        return Notice(self.camera, product, KIND, time.time(), message)
