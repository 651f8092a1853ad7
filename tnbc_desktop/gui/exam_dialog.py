"""File > "Open exam...": the exam's series table (as 3D Slicer's DICOM browser shows loadables), the detected DCE
series pre-selected, the phases of the selection previewed from the headers; the user may change the choice.

The exam is scanned off the GUI thread (headers only); the preview sorts the selected images' headers (no
pixels). Accepting opens the case with the chosen series (``SessionState.series``).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QDialogButtonBox, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from tnbc_desktop.core.phase_numbering import phase_number
from tnbc_desktop.errors import TnbcError
from tnbc_desktop.gui import dialogs

SERIES_COLUMNS = ("Use", "#", "Description", "Images", "Plane", "Matrix", "Spacing mm", "Volumes", "Phase key",
                  "Flip", "Role", "Reason")
PHASE_COLUMNS = ("Phase", "Time (s)", "From", "Series")


def _preselected(exam) -> set[tuple[str, int]]:
    """(series UID, part) of the series of the only DCE candidate (none when there are several or none): a
    series split into parts may give only one of them to the DCE."""
    return {(s.uid, s.part) for s in exam.candidates[0].series} if len(exam.candidates) == 1 else set()


def _cell(text) -> QTableWidgetItem:
    item = QTableWidgetItem("-" if text is None or text == "" else str(text))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


class ExamDialog(QDialog):
    """Series table with a "Use" check box per series number, a phase preview and the mixed-study option."""

    def __init__(self, exam, parent=None):
        super().__init__(parent)
        self.exam = exam
        self.setWindowTitle("Open exam: choose the DCE series")
        self.resize(1100, 620)
        layout = QVBoxLayout(self)
        self.summary = QLabel(self._summary_text())
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.table = QTableWidget(0, len(SERIES_COLUMNS))
        self.table.setHorizontalHeaderLabels(SERIES_COLUMNS)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 3)
        layout.addWidget(QLabel("Phases of the selected series (from the headers):"))
        self.phase_table = QTableWidget(0, len(PHASE_COLUMNS))
        self.phase_table.setHorizontalHeaderLabels(PHASE_COLUMNS)
        self.phase_table.verticalHeader().setVisible(False)
        layout.addWidget(self.phase_table, 2)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b00020;")
        layout.addWidget(self.problem)
        self.mixed = QCheckBox("Accept phases from different studies or frames of reference (never another "
                               "patient)")
        self.mixed.toggled.connect(self.update_preview)
        layout.addWidget(self.mixed)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Open")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._fill_series()
        self.table.itemChanged.connect(lambda item: self.update_preview() if item.column() == 0 else None)
        self.update_preview()

    def _summary_text(self) -> str:
        exam = self.exam
        n = len(exam.series)
        if len(exam.candidates) == 1:
            c = exam.candidates[0]
            return (f"{n} series found. Detected DCE: series {', '.join(map(str, c.numbers))} "
                    f"(confidence {c.confidence:.1f}: {c.reason}). Change the selection if needed.")
        if exam.candidates:
            return f"{n} series found; {len(exam.candidates)} could be the DCE: tick the series to use."
        return f"{n} series found; none looks like a DCE series. Tick the series to use only if you are sure."

    def _fill_series(self) -> None:
        chosen = _preselected(self.exam)
        self.table.setRowCount(len(self.exam.series))
        for row, s in enumerate(self.exam.series):
            use = QTableWidgetItem()
            use.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            use.setCheckState(Qt.CheckState.Checked if (s.uid, s.part) in chosen else Qt.CheckState.Unchecked)
            use.setData(Qt.ItemDataRole.UserRole, s.number)
            self.table.setItem(row, 0, use)
            spacing = None if s.spacing_mm is None else "x".join(f"{v:.3g}" for v in s.spacing_mm)
            flips = ", ".join(f"{v:g}" for v in s.flip_angles[:4])
            values = (s.number, s.description, s.n_images, s.plane, f"{s.matrix[0]}x{s.matrix[1]}", spacing,
                      s.n_volumes, s.phase_key, flips, s.role.value, s.reason)
            for col, value in enumerate(values, start=1):
                self.table.setItem(row, col, _cell(value))
        self.table.resizeColumnsToContents()

    def selected_series(self) -> list[int]:
        numbers = set()
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item.checkState() == Qt.CheckState.Checked and item.data(Qt.ItemDataRole.UserRole) is not None:
                numbers.add(int(item.data(Qt.ItemDataRole.UserRole)))
        return sorted(numbers)

    def allow_mixed_study(self) -> bool:
        return self.mixed.isChecked()

    def update_preview(self) -> None:
        """Phase table of the ticked series from their headers; a problem shown in red disables Open."""
        from tnbc_desktop.core.io.dicom_identity import check_identity
        from tnbc_desktop.core.io.dicom_sort import sort_phases
        from tnbc_desktop.core.io.exam_select import select_dce

        self.phase_table.setRowCount(0)
        numbers = self.selected_series()
        ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if not numbers:
            self.problem.setText("Tick the series that make the DCE study.")
            ok_button.setEnabled(False)
            return
        try:
            selection = select_dce(self.exam, tuple(numbers))
            phases = sort_phases(list(selection.headers))
            warnings = check_identity(phases.grid, self.allow_mixed_study())
        except TnbcError as exc:
            self.problem.setText(exc.problem)
            ok_button.setEnabled(False)
            return
        times = phases.times_s
        self.phase_table.setRowCount(len(phases.grid))
        for p, phase in enumerate(phases.grid):
            first = phase[0]
            series = f"{first.series_number} '{first.series_description}'"
            values = (phase_number(p), "-" if times is None else f"{times[p]:.1f}",
                      phases.timing_tag or "not recorded", series)
            for col, value in enumerate(values):
                self.phase_table.setItem(p, col, _cell(value))
        self.phase_table.resizeColumnsToContents()
        text = "; ".join(warnings)
        if times is None:
            text = (text + "; " if text else "") + (f"no phase times in the headers ({len(phases.grid)} phases told "
                                                    f"apart by {phases.phase_key}): set them in the phase table")
        self.problem.setText(text)
        ok_button.setEnabled(True)


def ask_open_exam(window) -> None:
    """Ask for an exam folder, scan it in the background, then show the series table."""
    paths = dialogs.ask_open_paths(window, "Open exam (DICOM folder)", directory=True)
    if paths:
        scan_and_choose(window, paths[0])


def scan_and_choose(window, folder: str, exec_dialog=None):
    """Scan ``folder`` off the GUI thread; on success show :class:`ExamDialog` and open the chosen series.
    ``exec_dialog(dialog) -> bool`` replaces the modal ``exec`` (tests)."""
    def job(progress, cancel):
        from tnbc_desktop.core.io.study_loader import examine_source

        progress("reading the exam's headers", 0.0)
        return examine_source(folder, progress=progress, cancel=cancel)

    def done(exam):
        dialog = ExamDialog(exam, window)
        window.exam_dialog = dialog
        accepted = exec_dialog(dialog) if exec_dialog is not None else dialog.exec() == QDialog.DialogCode.Accepted
        if accepted:
            window.open_case([folder], None, series=dialog.selected_series(),
                             allow_mixed_study=dialog.allow_mixed_study())

    return window.start_task("exam scan", job, done)
