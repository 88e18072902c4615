"""`resad-station gui` on an X11 desktop that lacks Qt's xcb libraries: one line with the apt
command, then the line runs headless (before, Qt aborted the process with exit 134)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from station_helpers import LINE_FILES, REPO, write_profile

from ui.platform_check import debian_package, missing_libraries

HAS_CC = shutil.which("cc") is not None and shutil.which("ldd") is not None
if not HAS_CC and os.environ.get("CI") == "true":  # CI installs gcc (.ci/run): a skip there would hide a failure
    raise RuntimeError("CI=true but no C compiler: install the Debian package gcc")
needs_cc = pytest.mark.skipif(not HAS_CC, reason="needs a C compiler (Debian package gcc) and ldd (libc-bin)")


def fake_plugin(folder):
    """A real shared library linked against one that is then removed: what ldd sees on a bare Debian."""
    (folder / "dep.c").write_text("int resad_dep(void) { return 1; }\n")
    (folder / "plugin.c").write_text("int resad_dep(void);\nint resad_plugin(void) { return resad_dep(); }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", folder / "libresadmissing.so.0", folder / "dep.c",
                    "-Wl,-soname,libresadmissing.so.0"], check=True)
    platforms = folder / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", platforms / "libqxcb.so", folder / "plugin.c",
                    folder / "libresadmissing.so.0"], check=True)
    (folder / "libresadmissing.so.0").unlink()
    return platforms / "libqxcb.so"


def test_debian_package_names():
    assert debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert debian_package("libdbus-1.so.3") == "libdbus-1-3"
    assert debian_package("libEGL.so.1") == "libegl1"


@needs_cc
def test_missing_libraries_are_found_with_ldd(tmp_path):
    assert missing_libraries(fake_plugin(tmp_path)) == ["libresadmissing.so.0"]


@needs_cc
def test_gui_says_what_to_install_and_runs_headless(tmp_path):
    plugin = fake_plugin(tmp_path)
    camera = {"kind": "folder", "uri": str(LINE_FILES[0].parent), "loop": True, "mode": "triggered"}
    profile = write_profile(tmp_path, "x11", "pcb", camera)
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env |= {"DISPLAY": ":97", "QT_PLUGIN_PATH": str(plugin.parent.parent), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", "import sys; from ui.cli import main; sys.exit(main())",
                           "--data-dir", str(tmp_path / "data"), "gui", "--profile", str(profile), "--quit-after", "3"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    first = proc.stderr.splitlines()[0]
    assert first == ("resad-station gui: Qt's X11 plugin needs system libraries that are missing "
                     "(libresadmissing.so.0): sudo apt-get install libresadmissing0; running the line headless instead")
    assert "stopped: " in proc.stderr  # the headless line ran and ended cleanly
