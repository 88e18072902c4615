"""PySide6 + pyqtgraph views on top of the resad_station runtime. Thin: no inference here."""
