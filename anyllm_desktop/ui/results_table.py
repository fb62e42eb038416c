"""A workflow's results: the table (one row per document or item, a column per label or
field, the source and the row's state; sortable by value, names without case; each cell's
citation in its tooltip; a double-click asks for the cited passage, ``citation_opened``), and
:class:`ResultsView` around it: which run, its models, the report, the notes, Export, and the
cited passage opened in a dialog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QMessageBox,
    QPushButton,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from anyllm_desktop.core.events import Done, Error, Event
from anyllm_desktop.ui.markdown_view import markdown_to_html
from anyllm_desktop.ui.passage_dialog import PassageDialog
from anyllm_desktop.workers.workflows import EXPORT_FORMATS, Citation, RunRecord, WorkflowResult

_SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_STATE = {"done": "Done", "skipped": "Skipped"}
Index = QModelIndex | QPersistentModelIndex
_EXPORT_FILTERS = (
    "CSV (*.csv);;Excel workbook (*.xlsx);;JSON (*.json);;Markdown (*.md);;"
    "Web page to print (*.html)"
)


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


class ResultsView(QWidget):
    """The shown run: a heading (which run, its models, its error), the table, the report and
    the notes in tabs, and Export (``export`` writes the file; ``written`` says where)."""

    written = Signal(str)

    def __init__(self, export: Callable[[WorkflowResult, Path], None],
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._export = export
        self.shown: WorkflowResult | None = None
        #: The passage dialog a double-click opened last.
        self.passage: PassageDialog | None = None
        self._say: Callable[[str], None] = lambda _text: None
        self.heading = QLabel("Run a workflow to see its results here.")
        self.heading.setWordWrap(True)
        self.table = ResultsTable()
        self.report = QTextBrowser()
        self.report.setAccessibleName("Workflow report")
        self.notes = QListWidget()
        self.notes.setAccessibleName("Workflow notes")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.table, "Table")
        self.tabs.addTab(self.report, "Report")
        self.tabs.addTab(self.notes, "Notes")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip(
            "Write the shown result as CSV, Excel, JSON, Markdown or a web page to print"
        )
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._pick_export)
        hint = QLabel("Each value cites its document (hover over it); double-click a row to "
                      "read the passage. Click a column's title to sort by it.")  # fmt: skip
        hint.setObjectName("EmptyHint")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.export_button)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(hint)

    def show_run(self, record: RunRecord) -> None:
        result = record.result
        models = ", ".join(f"{step}: {model}" for step, model in record.models.items())
        heading = f"<b>{record.describe()}</b><br>Models: {models or 'none'}"
        if record.error:
            heading += f"<br><span style='color:#b00020'>{record.error}</span>"
        self.heading.setText(heading)
        self.shown = result
        self.table.show_result(result)
        report = result.report if result is not None else None
        self.report.setHtml(markdown_to_html(report) if report else
                            "<i>This workflow wrote no report.</i>")  # fmt: skip
        self.notes.clear()
        notes = result.notes if result is not None else []
        rows = result.rows if result is not None else []
        skipped = [f"{r.document} was skipped: {r.reason}" for r in rows if r.status == "skipped"]
        self.notes.addItems([*notes, *skipped] or ["No notes."])
        self.tabs.setTabText(2, f"Notes ({len(notes) + len(skipped)})")
        self.export_button.setEnabled(result is not None)

    def open_passages(self, read: Callable[[Citation], Any], say: Callable[[str], None]) -> None:
        """A double-clicked row opens its cited passage in a dialog: ``read`` starts reading it
        off the UI thread (a worker whose ``event`` ends in Done or Error); ``say`` tells why
        it could not be read."""
        self._say = say
        self.table.citation_opened.connect(lambda c: read(c).event.connect(self._on_passage))

    def _on_passage(self, event: Event) -> None:
        if isinstance(event, Done):
            self.passage = PassageDialog(event.result, self.window())
            self.passage.open()
        elif isinstance(event, Error):
            self._say(event.message)

    def _pick_export(self) -> None:
        if self.shown is None:
            return
        name, chosen = QFileDialog.getSaveFileName(self, "Export the results",
                                                   f"{self.shown.workflow}.csv",
                                                   _EXPORT_FILTERS)  # fmt: skip
        if not name:
            return
        path = Path(name)
        if path.suffix.lower() not in EXPORT_FORMATS:
            suffix = chosen.rsplit("*", 1)[-1].rstrip(")") if "*" in chosen else ".csv"
            path = path.with_name(path.name + suffix)
        try:
            self._export(self.shown, path)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Export the results", f"{path.name} was not written: "
                                f"{exc}\n\nChoose another folder or name.")  # fmt: skip
            return
        self.written.emit(str(path))
