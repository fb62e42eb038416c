"""A workflow's results as a table: one row per document (or item), a column per label or
field, the source and the row's state; sortable (by value, names without case); each cell's
citation in its tooltip; a double-click asks for the cited passage (``citation_opened``)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from anyllm_desktop.workers.workflows import Citation, WorkflowResult

_SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_STATE = {"done": "Done", "skipped": "Skipped"}
Index = QModelIndex | QPersistentModelIndex


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class ResultsModel(QAbstractTableModel):
    """The result's rows: Document, each column, Source, State (a skipped row's reason in the
    state's tooltip)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: WorkflowResult | None = None

    def set_result(self, result: WorkflowResult | None) -> None:
        self.beginResetModel()
        self.result = result
        self.endResetModel()

    @property
    def headers(self) -> list[str]:
        columns = self.result.columns if self.result is not None else []
        return ["Document", *(c.replace("_", " ").capitalize() for c in columns), "Source",
                "State"]  # fmt: skip

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.result is None else len(self.result.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.result is None else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # fmt: skip
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None

    def citation(self, row: int) -> Citation | None:
        return self.result.rows[row].citation if self.result is not None else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if self.result is None or not index.isValid():
            return None
        row, column = self.result.rows[index.row()], index.column()
        columns = self.result.columns
        if column == 0:
            value: Any = row.document
        elif column <= len(columns):
            value = row.values.get(columns[column - 1])
        elif column == len(columns) + 1:
            value = row.citation.describe()
        else:
            value = _STATE.get(row.status, row.status)
        if role == Qt.ItemDataRole.DisplayRole:
            return _text(value)
        if role == _SORT_ROLE:
            return value if isinstance(value, int | float) else _text(value).casefold()
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == len(columns) + 2 and row.reason:
                return f"Skipped: {row.reason}"
            return f"{row.citation.describe()} — double-click to open the passage"
        return None


class ResultsTable(QTableView):
    #: (Citation) a row was double-clicked: open its passage.
    citation_opened = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results = ResultsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.results)
        self.proxy.setSortRole(_SORT_ROLE)
        self.setModel(self.proxy)
        self.setAccessibleName("Workflow results")
        self.setSortingEnabled(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.doubleClicked.connect(self._open)

    def show_result(self, result: WorkflowResult | None) -> None:
        self.results.set_result(result)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the run's order until one is chosen
        self.proxy.sort(-1)
        self.resizeColumnsToContents()
        for column in range(self.results.columnCount()):
            self.setColumnWidth(column, min(self.columnWidth(column), 320))

    def cell(self, row: int, column: int) -> str:
        """The text shown at (row, column) as sorted now."""
        return str(self.proxy.data(self.proxy.index(row, column)) or "")

    def _open(self, index: QModelIndex) -> None:
        citation = self.results.citation(self.proxy.mapToSource(index).row())
        if citation is not None:
            self.citation_opened.emit(citation)
