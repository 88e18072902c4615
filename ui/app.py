"""Starts the Qt application on a station: window, auto-start, timed screenshot / quit, bench."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui.station_link import StationLink

DEFAULT_SCREENSHOT_S = 6.0


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ResAD Station")
    app.setOrganizationName("resad-station")
    pg.setConfigOptions(antialias=True)
    return app


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def open_link(args: argparse.Namespace) -> StationLink:
    if not args.bench:
        return StationLink.open(args.profile, args.data_dir, args.db_url, progress=_progress)
    from resad_station.profiles import load_profile, find_profile
    from resad_station.runtime.bench_video import camera_shots, make_line_video
    from ui.bench import BENCH_FPS, BENCH_SIZE

    profile = load_profile(find_profile(args.profile))
    video, roi = make_line_video(profile.resolve_path(profile.camera.uri), BENCH_SIZE, BENCH_FPS)
    # a live camera: frames keep coming at BENCH_FPS whatever inspection does (the newest is inspected);
    # the camera frames the part as an installed one would: its box is the ROI, and a first run
    # enrolls shots framed the same way (the ROI cuts them as it cuts the frames)
    camera = profile.camera.model_copy(update={"fps": BENCH_FPS, "loop": True, "mode": "live", "roi": roi})
    shots = camera_shots(profile.resolve_path(profile.enrollment.references), BENCH_SIZE, video.parent)
    fast = profile.model_copy(update={"camera": camera, "enrollment": profile.enrollment.model_copy(
        update={"references": str(shots)})})
    return StationLink.open_with(fast.with_source(profile.source_path), args.data_dir, args.db_url, source=str(video))


def run_app(args: argparse.Namespace) -> int:
    from ui.main_window import MainWindow

    if args.tab == "enroll" and args.screenshot and (reason := _wizard_unavailable(args)):
        print(f"resad-station gui: --tab enroll --screenshot: {reason}; nothing saved", file=sys.stderr)
        return 2
    app = make_app()
    print(f"opening {args.profile}…", file=sys.stderr)  # the station says what it loads or enrolls
    try:
        link = open_link(args)
    except Exception as exc:  # noqa: BLE001 (a start-up failure is told in one line, not a traceback)
        print(f"resad-station gui: cannot open {args.profile}: {exc}", file=sys.stderr)
        return 1
    window = MainWindow(link)
    quit_on_ctrl_c(window)  # before the line starts: a Ctrl-C at any moment after this closes it cleanly
    window.show()
    window.start()
    if args.tab == "enroll":
        QTimer.singleShot(0, window.open_enroll_wizard)
    elif args.tab:
        window.tabs.setCurrentIndex({"live": 0, "review": 1, "settings": 2}[args.tab])

    probe = report = None
    if args.bench:
        from ui.bench import BenchReport, EventLoopProbe

        probe = EventLoopProbe()
        probe.start()
        report = BenchReport(probe, window.live, link.station.stages)
    seconds = args.quit_after if args.quit_after else (DEFAULT_SCREENSHOT_S if args.screenshot or args.bench else None)
    if seconds is not None:
        def finish() -> None:
            if args.screenshot:
                grab_window(window, Path(args.screenshot))
            if report is not None:
                probe.stop()
                print("\n".join(report.lines(link.station.metrics())))
            window.close()

        QTimer.singleShot(int(seconds * 1000), finish)
    app.exec()
    return 0


def _wizard_unavailable(args: argparse.Namespace) -> str:
    """Why a screenshot run cannot show the enrollment wizard ("" when it can)."""
    from resad_station import paths
    from ui.roles import PinStore

    if PinStore(paths.resolve_data_dir(args.data_dir)).is_set():
        return ("the enrollment wizard asks for the engineer PIN, which a screenshot run cannot type "
                "(take the picture with a data directory that has no PIN set, e.g. --data-dir /tmp/shots)")
    return ""


def quit_on_ctrl_c(window) -> None:
    # Qt's event loop runs in C++, where Python never sees SIGINT; a short timer lets the handler run.
    def on_interrupt(*_: object) -> None:
        print("\nCtrl-C: closing the window", file=sys.stderr, flush=True)
        # from the event loop, never in the middle of whatever Python was running (window.start())
        QTimer.singleShot(0, window.close)

    signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, on_interrupt)
    window._signal_poll = QTimer(window, interval=200)  # kept on the window: it lives as long as it does
    window._signal_poll.timeout.connect(lambda: None)
    window._signal_poll.start()


def grab_window(window, path: Path) -> None:
    """The whole window, with a dialog on top of it (the enroll wizard) drawn in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = window.grab()
    wizard = getattr(window, "enroll_wizard", None)
    if wizard is not None and wizard.isVisible():
        from PySide6.QtGui import QPainter

        painter = QPainter(picture)
        shot = wizard.grab()
        painter.drawPixmap((picture.width() - shot.width()) // 2, (picture.height() - shot.height()) // 2, shot)
        painter.end()
    picture.save(str(path))
    print(f"screenshot saved: {path}")
