"""The review gallery's model: defect rows fetched page by page from the database, never all.

rowCount is the filtered total (one COUNT query); a row's data is read from its page, fetched on
first use. A page that follows a cached one is fetched by keyset (`before=` the last row of the
page above: constant cost at any depth); a jump far down uses OFFSET once. Pages are kept in a
small LRU, so memory stays flat with 100,000 rows. Thumbnails come from the ThumbnailLoader.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QImage

from resad_station.defects.review import DefectReview, DefectRow
from ui.thumbnail_loader import ThumbnailLoader

PAGE_SIZE = 100
PAGES_KEPT = 40
DefectRole = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class DefectFilter:
    product: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    verdict: str | None = None
    label: str | None = None
    station: str | None = None  # a plant's stations share one database
    camera: str | None = None
    reference: str | None = None  # a defect_id from a line message (MQTT, webhook, OPC UA)


def query_filters(defect_filter: DefectFilter) -> dict[str, Any]:
    """The gallery's filter as query_defects keyword filters (also what defects.export takes)."""
    return {k: v for k, v in dataclasses.asdict(defect_filter).items() if v is not None}


class DefectPageModel(QAbstractListModel):
    def __init__(self, defects: DefectReview, thumbnails: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self.defects = defects
        self.thumbnails = thumbnails
        self.filter = DefectFilter()
        self.total = 0
        self.queries = 0  # page queries made (tests check that a page is not re-read per row)
        self._pages: OrderedDict[int, list[DefectRow]] = OrderedDict()
        self._rows_by_key: dict[str, QPersistentModelIndex] = {}
        thumbnails.loaded.connect(self._thumbnail_loaded)
        self._placeholder = QImage(thumbnails.size, thumbnails.size, QImage.Format.Format_RGB888)
        self._placeholder.fill(QColor("#3a3a3a"))

    # -- filtering / refresh --
    def set_filter(self, defect_filter: DefectFilter) -> None:
        self.filter = defect_filter
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()
        self._pages.clear()
        self._rows_by_key.clear()
        rows, self.total = self.defects.page(**query_filters(self.filter), limit=PAGE_SIZE)  # one snapshot
        self._keep_page(0, rows)
        self.queries += 1
        self.endResetModel()

    def count_now(self) -> int:
        """Rows the current filter matches in the database now (one COUNT, no rows read)."""
        return self.defects.count(**query_filters(self.filter))

    # -- Qt model --
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else self.total

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.row_at(index.row())
        if row is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            mark = {"defect": " ✔ defect", "false_alarm": " ✘ false alarm"}.get(row.label, "")
            why = f" ({row.reason})" if row.reason else ""
            return f"#{row.id} {row.verdict}{why} {row.score:.3g}{mark}"
        if role == Qt.ItemDataRole.ToolTipRole:
            why = f"\n{row.reason}" if row.reason else ""
            ref = f"\ndefect_id {row.reference}" if row.reference else ""
            return (f"defect {row.id}{ref}\n{row.time.astimezone():%Y-%m-%d %H:%M:%S} on {row.station + ' / ' if row.station else ''}"
                    f"{row.camera}\nscore {row.score:.4g}, label {row.label}{why}")
        if role == Qt.ItemDataRole.DecorationRole:
            key = row.heatmap_path or row.image_path
            image = self.thumbnails.get(key, self.defects.file(key))
            if image is None:
                self._rows_by_key[key] = QPersistentModelIndex(index)
                return self._placeholder  # same size as a thumbnail: uniform item sizes stay right
            return image
        if role == DefectRole:
            return row
        return None

    def row_at(self, row: int) -> DefectRow | None:
        if not 0 <= row < self.total:
            return None
        page_no, offset = divmod(row, PAGE_SIZE)
        page = self._pages.get(page_no)
        if page is None:
            page = self._fetch_page(page_no)
        else:
            self._pages.move_to_end(page_no)
        return page[offset] if offset < len(page) else None

    def replace_row(self, row: int, new: DefectRow) -> None:
        """After a label change: update the cached copy and repaint, without re-querying."""
        page_no, offset = divmod(row, PAGE_SIZE)
        page = self._pages.get(page_no)
        if page is not None and offset < len(page) and page[offset].id == new.id:
            page[offset] = new
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def find_row(self, defect_id: int) -> int | None:
        for page_no, page in self._pages.items():
            for offset, r in enumerate(page):
                if r.id == defect_id:
                    return page_no * PAGE_SIZE + offset
        return None

    # -- internals --
    def _fetch_page(self, page_no: int) -> list[DefectRow]:
        above = self._pages.get(page_no - 1)
        args = query_filters(self.filter)
        if above and len(above) == PAGE_SIZE:  # keyset: cheap at any depth
            page, _ = self.defects.page(**args, before=(above[-1].time, above[-1].id), limit=PAGE_SIZE)
        else:
            page, _ = self.defects.page(**args, offset=page_no * PAGE_SIZE, limit=PAGE_SIZE)
        self.queries += 1
        self._keep_page(page_no, page)
        return page

    def _keep_page(self, page_no: int, page: list[DefectRow]) -> None:
        self._pages[page_no] = page
        while len(self._pages) > PAGES_KEPT:
            self._pages.popitem(last=False)

    def _thumbnail_loaded(self, key: str, _image: object) -> None:
        index = self._rows_by_key.pop(key, None)
        if index is not None and index.isValid():
            i = self.index(index.row())
            self.dataChanged.emit(i, i, [Qt.ItemDataRole.DecorationRole])
