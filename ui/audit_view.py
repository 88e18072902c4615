"""The audit list: who changed what and when (thresholds, profiles, references, labels, PIN)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable, Sequence

from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

AUDIT_ROWS = 500
COLUMNS = ("time", "actor", "action", "details")


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


class AuditView(QWidget):
    """`load(limit)` returns the newest events first, each with .time .actor .action .details."""

    def __init__(self, load: Callable[[int], Sequence[Any]] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.load = load
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)

    def refresh(self) -> None:
        events = list(self.load(AUDIT_ROWS)) if self.load else []
        self.table.setRowCount(len(events))
        for r, e in enumerate(events):
            cells = (_when(e.time), e.actor, e.action, json.dumps(e.details, default=str, ensure_ascii=False))
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def actions(self) -> list[str]:
        return [self.table.item(r, 2).text() for r in range(self.table.rowCount())]
