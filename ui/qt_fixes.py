"""Work-around for PySide6 6.12.0 reference-count bugs, installed when the ui package loads.

Two leaks of references to the None/True/False singletons were measured here:
- SignalInstance.emit() returns True without taking a reference: every Python-side emit (ours
  and pyqtgraph's, hundreds a second on the live screen) steals one reference to True;
- a C++ call into a Python override of a void virtual (paint(), paintEvent(), ...) drops one
  reference to the None it returns: every pyqtgraph item painted steals one.
After enough of them CPython frees the singleton and aborts ("bool_dealloc" / "none_dealloc:
deallocating None"); a live window died within a minute. CPython 3.12+ makes these singletons
immortal (PEP 683); on 3.11 we do the same by hand: their counts are raised by 2**40, which a
leak of 10,000 a second takes years to use up. Only done when a probe shows the leak.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

HEADROOM = 1 << 40
_installed = False


class _Probe(QObject):
    ping = Signal()


def emit_leaks(tries: int = 64) -> int:
    """How many references to True `tries` emits lost (and gives them back)."""
    probe = _Probe()
    probe.ping.emit()
    before = sys.getrefcount(True)
    for _ in range(tries):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    if lost > 0:
        ctypes.c_ssize_t.from_address(id(True)).value += lost
    return lost


def install() -> bool:
    """Make None/True/False effectively immortal when this PySide6 leaks them; True if done."""
    global _installed
    if _installed:
        return True
    if sys.version_info >= (3, 12) or emit_leaks() < 32:
        return False  # immortal already, or a PySide6 without the leak
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object.
        ctypes.c_ssize_t.from_address(id(singleton)).value += HEADROOM
    _installed = True
    return True
