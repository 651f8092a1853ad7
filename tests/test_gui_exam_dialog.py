"""File > Open exam...: the series table with the detected DCE pre-selected, the phase preview following the
selection, and the case opened from the chosen series (pytest-qt, offscreen). Oracle: the DCE-only folder the
same writer produced, loaded without the exam scan's help."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.builders import random_study as make_study
from tnbc_desktop.core.io.exam_write import write_exam
from tnbc_desktop.core.io.study_loader import examine_source, load_study
from tnbc_desktop.gui import dialogs

pytestmark = pytest.mark.gui
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    return write_exam(make_study(), tmp_path_factory.mktemp("exam") / "exam", dce_layout="per-phase")


def _tick(dialog, number, checked):
    for row in range(dialog.table.rowCount()):
        item = dialog.table.item(row, 0)
        if item.data(Qt.ItemDataRole.UserRole) == number:
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)


def test_dialog_preselects_the_dce_and_the_phase_table_follows(qtbot, exam):
    from tnbc_desktop.gui.exam_dialog import ExamDialog

    dialog = ExamDialog(examine_source(exam.folder))
    qtbot.addWidget(dialog)
    assert dialog.selected_series() == [100, 101, 102, 103]
    assert dialog.phase_table.rowCount() == 4
    assert [dialog.phase_table.item(r, 1).text() for r in range(4)] == ["0.0", "75.5", "160.0", "290.0"]
    roles = {dialog.table.item(r, 1).text(): dialog.table.item(r, 10).text() for r in range(dialog.table.rowCount())}
    assert roles["1"] == "localizer" and roles["3"] == "diffusion" and roles["500"] == "derived"
    _tick(dialog, 103, False)
    assert dialog.phase_table.rowCount() == 3
    _tick(dialog, 2, True)  # the T2 has another matrix: no phases, a message, no Open
    assert dialog.phase_table.rowCount() == 0 and "matrix" in dialog.problem.text()
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()


def test_open_exam_loads_the_chosen_series(qtbot, exam, monkeypatch):
    from tnbc_desktop.gui.app import create_window
    from tnbc_desktop.gui.exam_dialog import scan_and_choose

    monkeypatch.setattr(dialogs, "show_message", lambda *a, **k: None)
    window, _ = create_window(None)
    qtbot.addWidget(window)

    def choose(dialog):
        _tick(dialog, 100, False)  # the user drops the first phase series: 3 phases remain
        return True

    with qtbot.waitSignal(window.caseLoaded, timeout=WAIT_MS):
        scan_and_choose(window, str(exam.folder), exec_dialog=choose)
    study = window.case.study
    alone = load_study(exam.dce_folder)
    assert study.n_phases == 3 and window.state.series == [101, 102, 103]
    assert np.array_equal(study.data, alone.data[1:])


def test_dialog_ticks_only_the_part_of_a_series_that_makes_the_dce(qtbot, tmp_path):
    from tnbc_desktop.core.io.dicom_write import write_dicom_study
    from tnbc_desktop.core.io.exam_write import add_contrast_copy, relabel_contrast
    from tnbc_desktop.gui.exam_dialog import ExamDialog

    write_dicom_study(make_study(), tmp_path, layout="single-series")
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    relabel_contrast(files, image_type=("ORIGINAL", "PRIMARY", "M", "ND"))
    add_contrast_copy(files, "phase", image_type=("ORIGINAL", "PRIMARY", "P", "ND"))
    dialog = ExamDialog(examine_source(tmp_path))
    qtbot.addWidget(dialog)
    ticked = {dialog.table.item(r, 10).text(): dialog.table.item(r, 0).checkState() == Qt.CheckState.Checked
              for r in range(dialog.table.rowCount())}
    assert ticked == {"dce": True, "other": False}
    assert dialog.phase_table.rowCount() == 4
