"""New workspace: its name and where its index lives (this computer, an S3-compatible bucket
or LanceDB Cloud). The secret is only held here until the workspace is created; it then goes
to the secret store (store/locations.remember)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from anyllm_desktop.workers.workspace_locations import StoreLocation

_KINDS = (("This computer", ""), ("S3-compatible storage", "s3://"), ("LanceDB Cloud", "db://"))


class NewWorkspaceDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New workspace")
        form = QFormLayout(self)
        self.name = QLineEdit()
        self.kind = QComboBox()
        for label, prefix in _KINDS:
            self.kind.addItem(label, prefix)
        self.uri = QLineEdit(placeholderText="s3://bucket/prefix")
        self.endpoint = QLineEdit(placeholderText="https://minio.example.org:9000 (empty: AWS)")
        self.region = QLineEdit(placeholderText="us-east-1")
        self.access_key_id = QLineEdit()
        self.secret = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.problem = QLabel(wordWrap=True)
        form.addRow("Name:", self.name)
        form.addRow("Location:", self.kind)
        self._remote_rows: list[QWidget] = []
        for label, field in (("Address:", self.uri), ("Endpoint:", self.endpoint),
                             ("Region:", self.region), ("Access key id:", self.access_key_id),
                             ("Secret key:", self.secret)):  # fmt: skip
            form.addRow(label, field)
            self._remote_rows += [form.labelForField(field), field]
        form.addRow(self.problem)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self) -> None:
        prefix = self.kind.currentData()
        for widget in self._remote_rows:
            widget.setVisible(bool(prefix))
        self.uri.setPlaceholderText("db://project" if prefix == "db://" else "s3://bucket/prefix")
        if prefix and not self.uri.text().startswith(prefix):
            self.uri.setText(prefix)

    def location(self) -> StoreLocation:
        """Raises ValueError with what is wrong."""
        if not self.kind.currentData():
            return StoreLocation()
        return StoreLocation(
            self.uri.text().strip(), self.endpoint.text().strip(), self.region.text().strip(),
            self.access_key_id.text().strip(),
        )  # fmt: skip

    def _check(self) -> None:
        try:
            location = self.location()
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        if not self.name.text().strip():
            self.problem.setText("A workspace needs a name.")
        elif location.remote and not self.secret.text():
            self.problem.setText("The store's secret key (or API key) is needed.")
        else:
            self.accept()
