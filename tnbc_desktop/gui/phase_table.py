"""The phase table: time, timing source and series of each phase; editable (reorder, set times, drop).

Edits are only *committed* with "Apply": the table then emits ``phasesEdited(order, times)`` where ``order``
lists the loaded phase indices kept, in their new order, and ``times`` their times in seconds.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from tnbc_desktop.core.phase_numbering import phase_number
from tnbc_desktop.core.phase_times import validate_phase_times
from tnbc_desktop.core.study import PhaseInfo
from tnbc_desktop.errors import TimingError

COLUMNS = ("Phase", "Time (s)", "Timing from", "Series")


def checked_table_times(times: list[float]) -> tuple[float, ...]:
    """The kept phases' times under the app's one rule set (:func:`validate_phase_times`: relative to the first
    kept phase), after checking that at least 3 phases (pre-contrast, early, late) are kept."""
    if len(times) < 3:
        raise TimingError(f"at least 3 phases are needed (pre-contrast, early, late); {len(times)} kept",
                          "phase table")
    return validate_phase_times(times, source="phase table")


class PhaseTable(QWidget):
    """Editable phase table. ``set_phases(phases)`` loads it; ``edited_phases()`` returns (order, times)."""

    phasesEdited = Signal(list, list)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setMinimumHeight(150)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        self.drop_button = QPushButton("Drop")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Reload the study with this phase order and these times")
        buttons = QHBoxLayout()
        for b in (self.up_button, self.down_button, self.drop_button, self.apply_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.up_button.clicked.connect(lambda: self.move_row(self.table.currentRow(), -1))
        self.down_button.clicked.connect(lambda: self.move_row(self.table.currentRow(), 1))
        self.drop_button.clicked.connect(lambda: self.drop_row(self.table.currentRow()))
        self.apply_button.clicked.connect(self._apply)
        self._error_handler = None

    def set_error_handler(self, handler) -> None:
        """``handler(exc)`` shows a TimingError from Apply (the window's dialog function)."""
        self._error_handler = handler

    def set_phases(self, phases: tuple[PhaseInfo, ...], order: list[int] | None = None) -> None:
        """Show ``phases`` (rows in ``order`` of their loaded indices, default all)."""
        by_index = {p.index: p for p in phases}
        order = list(order) if order is not None else [p.index for p in phases]
        self.table.setRowCount(0)
        for row, idx in enumerate(order):
            p = by_index[idx]
            self.table.insertRow(row)
            series = p.series_description or (f"series {p.series_number}" if p.series_number is not None else "")
            cells = (f"{phase_number(idx)}", f"{p.time_s:g}", p.source_tag, series)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col != 1:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, idx)
                self.table.setItem(row, col, item)

    def move_row(self, row: int, delta: int) -> None:
        target = row + delta
        if row < 0 or not 0 <= target < self.table.rowCount():
            return
        taken = [self.table.takeItem(row, c) for c in range(self.table.columnCount())]
        other = [self.table.takeItem(target, c) for c in range(self.table.columnCount())]
        for c in range(self.table.columnCount()):
            self.table.setItem(target, c, taken[c])
            self.table.setItem(row, c, other[c])
        self.table.setCurrentCell(target, 1)

    def drop_row(self, row: int) -> None:
        if 0 <= row < self.table.rowCount():
            self.table.removeRow(row)

    def set_time(self, row: int, seconds: float) -> None:
        self.table.item(row, 1).setText(f"{seconds:g}")

    def edited_phases(self) -> tuple[list[int], list[float]]:
        """(order, times) as shown; raises TimingError when a time is not a number or times do not increase."""
        order, times = [], []
        for row in range(self.table.rowCount()):
            order.append(int(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)))
            text = self.table.item(row, 1).text().strip().replace(",", ".")
            try:
                times.append(float(text))
            except ValueError:
                raise TimingError(f"row {row + 1}: time '{text}' is not a number of seconds", "phase table") from None
        return order, list(checked_table_times(times))

    def _apply(self) -> None:
        try:
            order, times = self.edited_phases()
        except TimingError as exc:
            if self._error_handler is not None:
                self._error_handler(exc)
            return
        self.phasesEdited.emit(order, times)
