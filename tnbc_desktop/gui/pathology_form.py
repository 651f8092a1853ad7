"""Ki-67 and LVI entry, validated with :mod:`tnbc_desktop.core.io.clinical` as the user types."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

from tnbc_desktop.core.io.clinical import PathologyInputs
from tnbc_desktop.errors import ClinicalInputError

LVI_CHOICES = ("unknown", "present", "absent")


class PathologyForm(QWidget):
    """Signals ``edited()`` on each committed edit (Enter / focus out on Ki-67, LVI choice)."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.ki67_edit = QLineEdit()
        self.ki67_edit.setPlaceholderText("e.g. 35, 35 %, >=20 % (empty = unknown)")
        self.lvi_combo = QComboBox()
        self.lvi_combo.addItems(LVI_CHOICES)
        self.feedback = QLabel()
        self.feedback.setWordWrap(True)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Ki-67", self.ki67_edit)
        layout.addRow("LVI", self.lvi_combo)
        layout.addRow(self.feedback)
        self.ki67_edit.textChanged.connect(self._validate)
        self.ki67_edit.editingFinished.connect(self.edited)
        self.lvi_combo.currentIndexChanged.connect(lambda _i: (self._validate(), self.edited.emit()))
        self._validate()

    def values(self) -> tuple[str, str]:
        """(Ki-67 text as typed, LVI "unknown" | "present" | "absent")."""
        return self.ki67_edit.text().strip(), self.lvi_combo.currentText()

    def set_values(self, ki67: str, lvi: str) -> None:
        self.ki67_edit.setText(ki67 or "")
        self.lvi_combo.setCurrentText(lvi if lvi in LVI_CHOICES else "unknown")
        self._validate()

    def pathology(self) -> PathologyInputs:
        """Parsed inputs; raises ClinicalInputError naming the field when a value is not valid."""
        ki67, lvi = self.values()
        return PathologyInputs.from_values(ki67 or None, lvi, source="pathology form")

    def is_valid(self) -> bool:
        try:
            self.pathology()
        except ClinicalInputError:
            return False
        return True

    def _validate(self) -> None:
        try:
            p = self.pathology()
        except ClinicalInputError as exc:
            self.feedback.setText(f'<span style="color:#b00000">{exc.problem}</span>')
            return
        ki = p.ki67.describe()
        high = {True: "high (>= 20 %)", False: "low (< 20 %)", None: "unknown"}[p.ki67_high]
        missing = p.missing()
        note = f" - {', '.join(missing)} unknown: PRM and GPRM will not be available" if missing else ""
        self.feedback.setText(f"Ki-67 {ki}: {high}; LVI {p.lvi.value}{note}")
