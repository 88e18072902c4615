"""PySide6 + pyqtgraph views on top of the resad_station runtime. Thin: no inference here."""

from ui import qt_fixes

qt_fixes.install()  # before any signal is emitted (see qt_fixes: a PySide6 6.12.0 refcount bug)
