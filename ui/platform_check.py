"""Before Qt opens a window on X11: are the system libraries its xcb plugin links against there?

Without them Qt aborts the process ("no Qt platform plugin could be initialized", exit 134) with
no hint of what to install. `ldd` on the plugin lists what the dynamic loader cannot find; each
missing library is named with its Debian package (policy naming: libxcb-cursor.so.0 ->
libxcb-cursor0), so the user gets one line with the apt command.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PLUGIN = Path("platforms") / "libqxcb.so"


def uses_xcb() -> bool:
    """True when Qt would pick its X11 (xcb) platform plugin here."""
    if not sys.platform.startswith("linux"):
        return False
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0]
    if platform:
        return platform == "xcb"
    return bool(os.environ.get("DISPLAY")) and not os.environ.get("WAYLAND_DISPLAY")


def xcb_plugin() -> Path | None:
    """The plugin Qt would load: QT_PLUGIN_PATH's first, then PySide6's own."""
    dirs = [Path(d) for d in os.environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if d]
    try:
        import PySide6

        dirs.append(Path(PySide6.__file__).parent / "Qt" / "plugins")
    except ImportError:
        pass
    return next((d / PLUGIN for d in dirs if (d / PLUGIN).is_file()), None)


def missing_libraries(library: Path) -> list[str]:
    """Sonames `library` needs that the dynamic loader cannot find ([] when ldd is not there)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    try:
        out = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({m.group(1) for m in re.finditer(r"^\s*(\S+)\s+=>\s+not found", out, re.M)})


def debian_package(soname: str) -> str:
    """libxcb-cursor.so.0 -> libxcb-cursor0, libdbus-1.so.3 -> libdbus-1-3 (Debian's library naming)."""
    m = re.match(r"^(.+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    name, major = m.group(1).lower(), m.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def missing_for_xcb() -> str:
    """One line naming what is missing and how to install it; "" when Qt can open its window."""
    if not uses_xcb():
        return ""
    plugin = xcb_plugin()
    missing = missing_libraries(plugin) if plugin is not None else []
    if not missing:
        return ""
    packages = " ".join(dict.fromkeys(debian_package(s) for s in missing))
    return (f"resad-station gui: Qt's X11 plugin needs system libraries that are missing ({', '.join(missing)}): "
            f"sudo apt-get install {packages}; running the line headless instead")
