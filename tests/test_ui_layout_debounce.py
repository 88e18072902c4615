"""Layout requests from a page reach the window's tab widget a few times a second, and never get lost."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent  # noqa: E402
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget  # noqa: E402

from ui.layout_debounce import INTERVAL_MS, LayoutRequestDebounce  # noqa: E402


class CountingTabs(QTabWidget):
    def __init__(self) -> None:
        super().__init__()
        self.layout_requests = 0

    def event(self, event: QEvent) -> bool:  # noqa: D102
        if event.type() == QEvent.Type.LayoutRequest:
            self.layout_requests += 1
        return super().event(event)


def test_a_caption_changing_every_frame_relays_out_the_tabs_a_few_times_not_every_time(qtbot):
    tabs = CountingTabs()
    page = QWidget()
    caption = QLabel("frame 0")
    QVBoxLayout(page).addWidget(caption)
    tabs.addTab(page, "Live")
    qtbot.addWidget(tabs)
    tabs.show()
    qtbot.waitExposed(tabs)
    qtbot.wait(50)

    undebounced = tabs.layout_requests
    for i in range(20):  # without the filter: a request per caption change reaches the tabs
        caption.setText(f"frame {10 ** (i % 6)}")
        qtbot.wait(5)
    undebounced = tabs.layout_requests - undebounced
    assert undebounced >= 10

    debounce = LayoutRequestDebounce(tabs)
    before = tabs.layout_requests
    for i in range(20):  # 20 changes in about 100 ms: held, then one request delivered
        caption.setText(f"frame {10 ** (i % 6)}")
        qtbot.wait(5)
    assert tabs.layout_requests - before <= 1
    qtbot.waitUntil(lambda: tabs.layout_requests - before >= 1, timeout=4 * INTERVAL_MS)  # never lost
    assert debounce.held >= 10
