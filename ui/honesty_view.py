"""Settings > Station record: per product, the enrollment self-test and the reviewers' false-alarm rate."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from resad_station.reports.honesty import flatten, product_honesty


def _pct(rate: float | None, n: int) -> str:
    return "no reviewed defects yet" if rate is None else f"{rate:.1%} of {n} reviewed"


class HonestyView(QWidget):
    def __init__(self, db, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["product / measure", "value"])
        self.tree.setColumnWidth(0, 360)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("How the station does on each product: the enrollment's self-test (when the "
                                "calibration holds one) and how often reviewers marked a flagged frame a false alarm."))
        layout.addWidget(self.tree, 1)
        layout.addWidget(refresh)
        self.refresh()

    def refresh(self) -> None:
        self.tree.clear()
        for h in product_honesty(self.db):
            top = QTreeWidgetItem([h.product, f"reference set v{h.version}" if h.version is not None else "not enrolled"])
            QTreeWidgetItem(top, ["false alarms (all time)", _pct(h.false_alarm_rate, h.reviewed)])
            QTreeWidgetItem(top, ["false alarms (last 7 days)", _pct(h.false_alarm_rate_recent, h.reviewed_recent)])
            if h.self_test:
                tests = QTreeWidgetItem(top, ["enrollment self-test", ""])
                for name, value in flatten(h.self_test):
                    QTreeWidgetItem(tests, [name, value])
            else:
                QTreeWidgetItem(top, ["enrollment self-test", "none stored with this reference set"])
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        self.tree.expandAll()
