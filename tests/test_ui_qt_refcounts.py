"""The pinned PySide6 must not leak references to True/None (PySide6 6.12.0 did).

6.12.0 lost one reference to True per Python-side Signal.emit() and one to None per Python
override of a void virtual that C++ called (every pyqtgraph paint()); on Python 3.11 the
process then aborted in bool_dealloc / none_dealloc within a minute of live view. The pin
was moved to 6.11.3, which measured no drift. Keep this test when bumping PySide6.
"""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QObject, Signal  # noqa: E402

N = 500  # far below the ~2,500 references True has at start: a leak fails here, it can't abort


class _Source(QObject):
    plain = Signal()
    flag = Signal(bool)
    anything = Signal(object)


def _refcounts() -> tuple[int, int, int]:
    gc.collect()
    return sys.getrefcount(True), sys.getrefcount(None), sys.getrefcount(False)


def _drift(action) -> tuple[int, int, int]:
    action()
    action()  # warm caches before the baseline
    before = _refcounts()
    for _ in range(N):
        action()
    after = _refcounts()
    return tuple(a - b for a, b in zip(after, before))


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None/True/False are immortal (PEP 683)")
def test_signal_emit_keeps_singleton_refcounts(qtbot):
    source = _Source()
    source.flag.connect(lambda value: None)
    source.anything.connect(lambda value: None)
    assert _drift(source.plain.emit) == (0, 0, 0)  # unconnected too
    assert _drift(lambda: source.flag.emit(True)) == (0, 0, 0)
    assert _drift(lambda: source.anything.emit(None)) == (0, 0, 0)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None/True/False are immortal (PEP 683)")
def test_pyqtgraph_repaint_keeps_singleton_refcounts(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(320, 240)
    plot.plot(np.linspace(0.0, 1.0, 100), pen="y")
    plot.addItem(pg.ImageItem(np.random.default_rng(0).random((32, 32))))
    plot.show()
    assert _drift(plot.viewport().repaint) == (0, 0, 0)
