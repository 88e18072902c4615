"""A GenICam camera (GigE Vision / USB3 Vision) through `harvesters` and the vendor's GenTL producer.

Optional extra: `pip install 'resad-station[genicam]'` and install the camera vendor's SDK, which
ships the .cti producer. harvesters is imported only when such a source is opened.

uri: "<path to producer.cti>" optionally followed by "#serial=<serial number>" or "#index=<n>"
(default: the first camera). Without a .cti path, the GENICAM_GENTL64_PATH variable set by vendor
SDKs is searched for .cti files.

The harvesters API used (1.4): Harvester().add_file(cti), .update(), .device_info_list,
.create(index | {"serial_number": s}), .reset(); ImageAcquirer.remote_device.node_map, .start(),
.fetch(timeout=s) as a context manager giving buffer.payload.components[0] (.data, .width, .height,
.data_format), .stop(), .destroy().
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from .base import APPLIED, UNSUPPORTED, Frame, FrameSource, ReadTimeout, SourceError, SourceOptions
from .decode import to_rgb8
from .registry import register_source

_BAYER = {  # GenICam pixel format -> OpenCV conversion to RGB (OpenCV names Bayer by the 2nd row)
    "BayerRG": cv2.COLOR_BayerBG2RGB, "BayerBG": cv2.COLOR_BayerRG2RGB,
    "BayerGR": cv2.COLOR_BayerGB2RGB, "BayerGB": cv2.COLOR_BayerGR2RGB,
}
_NODE_NAMES = {  # standard (SFNC) name first, then the older *Abs/*Raw names some cameras still use
    "exposure": ("ExposureTime", "ExposureTimeAbs"),
    "gain": ("Gain", "GainRaw"),
}
FETCH_TIMEOUT_S = 1.0


def _default_harvester() -> Any:
    from harvesters.core import Harvester  # lazy: an optional extra

    return Harvester()


def component_to_rgb(data: np.ndarray, width: int, height: int, data_format: str) -> np.ndarray:
    """A GenICam buffer component (1-D pixel data) as HxWx3 uint8 RGB."""
    fmt = str(data_format)
    bits = 8
    for depth in (10, 12, 14, 16):
        if fmt.endswith(str(depth)):
            bits = depth
    pixels = np.asarray(data)
    if bits > 8:
        # unpacked 10/12/14-bit formats sit in 16-bit words; scale by their real depth, not 65535
        pixels = (pixels.astype(np.uint32) * 255 // ((1 << bits) - 1)).astype(np.uint8)
    for prefix, code in _BAYER.items():
        if fmt.startswith(prefix):
            return cv2.cvtColor(pixels.reshape(height, width).astype(np.uint8), code)
    if fmt.startswith("Mono"):
        return to_rgb8(pixels.reshape(height, width).astype(np.uint8), bgr=False)
    if fmt.startswith(("RGB8", "BGR8")):
        image = pixels.reshape(height, width, 3).astype(np.uint8)
        return to_rgb8(image, bgr=fmt.startswith("BGR"))
    raise ValueError(f"unsupported pixel format '{fmt}' (use Mono8/10/12/16, Bayer*, RGB8 or BGR8)")


@register_source
class GenICamSource(FrameSource):
    kind = "genicam"
    is_live = True
    uri_required = False  # no uri: the producers on GENICAM_GENTL64_PATH, first camera
    hardware_trigger = True

    @classmethod
    def from_config(cls, uri: str, options: SourceOptions) -> GenICamSource:
        # "<producer.cti>#serial=..": only the producer's path resolves against the profile's folder
        cti, sep, selector = uri.partition("#")
        if cti:
            uri = options.path(cti) + sep + selector
        return cls(uri, name=options.name, settings=options.settings)

    def __init__(self, uri: str, *, name: str = "cam1", settings: dict | None = None,
                 harvester_factory: Callable[[], Any] | None = None) -> None:
        super().__init__(uri, name=name, settings=settings)
        cti, _, selector = self.uri.partition("#")
        self.cti = cti.strip()
        self.selector = selector.strip()
        self._harvester_factory = harvester_factory or _default_harvester
        self._h: Any = None
        self._ia: Any = None

    def _cti_files(self) -> list[str]:
        if self.cti:
            if not Path(self.cti).is_file():
                raise self.error(f"cannot open (GenTL producer '{self.cti}' not found)")
            return [self.cti]
        found = [f for d in os.environ.get("GENICAM_GENTL64_PATH", "").split(os.pathsep) if d
                 for f in sorted(glob.glob(os.path.join(d, "*.cti")))]
        if not found:
            raise self.error("no GenTL producer: give the vendor's .cti path in the uri or set GENICAM_GENTL64_PATH")
        return found

    def _search_key(self) -> Any:
        key, _, value = self.selector.partition("=")
        if not self.selector:
            return 0
        if key == "serial" and value:
            return {"serial_number": value}
        if key == "index" and value.isdigit():
            return int(value)
        raise self.error(f"bad camera selector '#{self.selector}' (expected #serial=<serial> or #index=<n>)")

    def open(self) -> None:
        if self._ia is not None:
            return
        search_key = self._search_key()
        try:
            h = self._harvester_factory()
        except ImportError as exc:
            raise self.error("the 'harvesters' package is not installed; install the optional extra "
                             "(pip install 'resad-station[genicam]') and the camera vendor's GenTL producer (.cti)") from exc
        try:
            files = self._cti_files()
            for f in files:
                h.add_file(f)
            h.update()
            if not h.device_info_list:
                raise self.error("no GenICam camera found by the producer(s) " + ", ".join(files))
            ia = h.create(search_key)
        except Exception as exc:
            h.reset()
            if isinstance(exc, SourceError):
                raise
            raise self.error(f"cannot open camera {search_key!r} ({type(exc).__name__}: {exc})") from exc
        self._h, self._ia = h, ia
        self._apply_wanted()  # before start(): some nodes (TriggerMode) are locked while streaming
        try:
            ia.start()
        except Exception as exc:
            self.close()
            raise self.error(f"cannot start acquisition ({type(exc).__name__}: {exc})") from exc

    def close(self) -> None:
        ia, h, self._ia, self._h = self._ia, self._h, None, None
        for step in ((ia, "stop"), (ia, "destroy"), (h, "reset")):
            obj, method = step
            if obj is not None:
                try:
                    getattr(obj, method)()
                except Exception:  # noqa: BLE001 - closing a camera that already vanished must not raise
                    pass

    def read(self, timeout: float | None = None) -> Frame | None:
        if self._ia is None:
            raise self.error("read before open()")
        if self._wanted.get("trigger") == "software":
            self._execute("TriggerSoftware")
        try:
            with self._ia.fetch(timeout=FETCH_TIMEOUT_S if timeout is None else timeout) as buffer:
                comp = buffer.payload.components[0]
                # copy: the buffer goes back to the producer when the with-block ends
                image = component_to_rgb(comp.data, comp.width, comp.height, comp.data_format).copy()
        except Exception as exc:
            if "timeout" in type(exc).__name__.lower():
                raise ReadTimeout(f"{self.describe()}: no frame within the timeout") from exc
            if isinstance(exc, ValueError):
                raise self.error(str(exc)) from exc
            raise self.error(f"acquisition failed ({type(exc).__name__}: {exc})") from exc
        return self._frame(image, f"{self.uri}#{self._next_index}")

    def _node_map(self) -> Any:
        return self._ia.remote_device.node_map

    def _execute(self, node: str) -> None:
        try:
            getattr(self._node_map(), node).execute()
        except Exception as exc:
            raise self.error(f"cannot execute {node} ({type(exc).__name__}: {exc})") from exc

    def _set_node(self, names: tuple[str, ...], value: Any) -> str:
        nm = self._node_map()
        for n in names:
            node = getattr(nm, n, None)
            if node is None:
                continue
            try:
                node.value = value
            except Exception as exc:  # noqa: BLE001 - the camera's reason goes into the report
                return f"{n} rejected {value!r} ({type(exc).__name__}: {exc})"
            return APPLIED
        return UNSUPPORTED

    def _apply(self, settings: dict[str, Any]) -> dict[str, str]:
        if self._ia is None:
            return {k: "not applied yet (the source is not open; applied when it opens)" for k in settings}
        report: dict[str, str] = {}
        for key, value in settings.items():
            if key in _NODE_NAMES:
                report[key] = self._set_node(_NODE_NAMES[key], value)
            elif value == "off":
                report[key] = self._set_node(("TriggerMode",), "Off")
            else:
                source = "Software" if value == "software" else value.capitalize()  # line1 -> Line1
                steps = [self._set_node(("TriggerSelector",), "FrameStart"), self._set_node(("TriggerMode",), "On"),
                         self._set_node(("TriggerSource",), source)]
                bad = [s for s in steps[1:] if s != APPLIED]
                report[key] = bad[0] if bad else APPLIED
        return report
