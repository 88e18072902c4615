"""Makes the README screenshots on the demo line: `python -m ui.screenshots [PROFILE] [OUT_DIR]`.

Uses a throw-away data directory and PIN, drives the real window (no mocks) and saves
live_alarm.png (an alarm up), enroll.png (the wizard's calibration page) and review.png.
Needs QT_QPA_PLATFORM=offscreen (or a display).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from resad_station.runtime.events import Verdict
from ui.app import grab_window, make_app
from ui.main_window import MainWindow
from ui.station_link import StationLink


def wait_until(app: QApplication, condition, timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("screenshot scene did not come up in time")
        app.processEvents()
        time.sleep(0.02)


def main(profile: str = "profiles/demo.yaml", out: str = "ui/doc_images") -> int:
    app = make_app()
    work = Path(tempfile.mkdtemp(prefix="resad-shots-"))
    out_dir = Path(out)
    window = MainWindow(StationLink.open(profile, work / "data"), QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat))
    window.show()
    window.start()
    wait_until(app, window.live.banner.isVisible)
    wait_until(app, lambda: window.live.frames_shown > 40)
    # show a failing board: the picture should have its heatmap, not a clean pass
    window.live.view.fit()
    wait_until(app, lambda: window.live.badge.verdict == Verdict.FAIL)
    grab_window(window, out_dir / "live_alarm.png")

    window.session.pins.set_pin("246813")
    window.session.log_in("246813")
    wizard = window.open_enroll_wizard()
    refs = window.link.profile.resolve_path(window.link.profile.enrollment.references or ".")
    wizard.images.add_files(sorted(p for p in refs.iterdir() if p.suffix in (".jpg", ".png")))
    wait_until(app, wizard.images.isComplete)
    wizard.next()  # -> images
    wizard.next()  # -> build (starts it)
    wait_until(app, lambda: wizard.build.isComplete() or "failed" in wizard.build.message.text())
    if not wizard.build.isComplete():
        raise RuntimeError(wizard.build.message.text())
    grab_window(window, out_dir / "enroll.png")
    wizard.reject()

    window.stop()
    wait_until(app, lambda: window.link.station.pipeline is None)
    window.tabs.setCurrentWidget(window.review)
    window.review.apply_filter()
    wait_until(app, lambda: window.review.model.total > 0)
    end = time.monotonic() + 2.0  # let the thumbnails load
    wait_until(app, lambda: time.monotonic() > end)
    grab_window(window, out_dir / "review.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
