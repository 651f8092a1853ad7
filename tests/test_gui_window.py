"""Drive the real main window (pytest-qt, offscreen): open a small synthetic patient, navigate, toggle overlays,
import a MAF, set Ki-67/LVI, run the real pipeline, read the predictions, export the PDF, cancel, bad files,
crash restore. Dialogs are routed through ``tnbc_desktop.gui.dialogs`` and monkeypatched here.

Expected numbers: predictions shown are compared with the ``CaseResult`` the pipeline returned (the GUI must
display, not recompute); pixel geometry is compared with the study's voxel spacing.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tnbc_desktop.errors import CancelledError
from tnbc_desktop.gui.session import SessionState, SessionStore
from tests.builders import hand_made_study, make_test_bundle, write_small_patient
from tests.builders import WAIT_MS, make_window, open_case

pytestmark = pytest.mark.gui




@pytest.fixture(scope="module")
def case_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("gui_case")
    bundle = make_test_bundle(root / "bundle.json")
    patient, files = write_small_patient(root / "patient")
    return patient, files, bundle






def test_viewer_navigation_keys_overlays_and_aspect(qtbot, messages):
    from tnbc_desktop.gui.viewer_panel import ViewerPanel

    study, mask = hand_made_study(spacing_mm=(2.0, 0.7, 1.4))
    panel = ViewerPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_study(study, early_phase=1)
    panel.view.set_overlays(mask=mask, centre_on_mask=True)
    view = panel.view
    assert 5 <= view.current_slice < 10  # centred on the tumour
    z0 = view.current_slice
    qtbot.keyClick(view.graphics, Qt.Key.Key_Up)
    assert view.current_slice == z0 + 1 and panel.slice_slider.value() == z0 + 1
    qtbot.keyClick(view.graphics, Qt.Key.Key_Down)
    qtbot.keyClick(view.graphics, "]")
    assert view.current_phase == 2 and panel.phase_combo.currentIndex() == 2
    qtbot.keyClick(view.graphics, "[")
    assert view.current_phase == 1
    assert np.array_equal(view.image.image, study.data[1, z0])
    assert view.outline_image.isVisible() and view.fill_image.isVisible()
    qtbot.keyClick(view.graphics, "g")
    assert not view.outline_image.isVisible() and not view.fill_image.isVisible()
    qtbot.keyClick(view.graphics, "g")
    panel.outline_box.setChecked(False)
    assert not view.outline_image.isVisible()
    panel.opacity_slider.setValue(20)
    assert view.fill_image.opacity() == pytest.approx(0.2)
    # pixel (row, col) spans spacing_y x spacing_x mm: the transform maps image axes to mm
    t = view.image.transform()
    assert (t.m11(), t.m22()) == pytest.approx((1.4, 0.7))
    view.set_window(10.0, 5.0)
    view.reset_window()
    default = view.default_window()
    assert view.window == pytest.approx((default.level, default.width))
    view.set_slice(999)
    assert view.current_slice == study.data.shape[1] - 1


def test_full_case_analysis_and_pdf(qtbot, messages, case_files, tmp_path):
    patient, files, bundle = case_files
    window = make_window(qtbot)
    open_case(qtbot, window, files, bundle)
    assert window.case.mask is not None and window.viewer.view.study is not None
    assert "Tumour" in window.curves.legend_labels()[0]
    window.viewer.view.step_slice(1)
    window.viewer.view.step_phase(1)
    window.import_maf(str(files.maf))
    assert window.mutation_view.table.rowCount() == len(window.mutation_view.panel.variants)
    window.pathology_form.set_values("35 %", "absent")
    window.pathology_form.edited.emit()
    assert window.state.ki67 == "35 %" and window.state.maf_path == str(files.maf)
    with qtbot.waitSignal(window.analysisFinished, timeout=WAIT_MS) as blocker:
        window.run_analysis()
    result = blocker.args[0]
    shown = window.results.shown_probabilities()
    for key in ("model3", "prm", "gprm"):
        pred = result.predictions[key]
        assert pred.available, pred.reason
        assert shown[key] == f"{pred.probability:.0%}"
    assert window.results.km.patient_group == result.survival_groups["model3"].group
    assert window.viewer.view.overlays.labels is not None
    assert window.viewer.mode_combo.count() == 7  # signal, subtraction, MIP + 4 kinetic maps
    window.viewer.mode_combo.setCurrentIndex(window.viewer.mode_combo.findData("PE"))
    assert window.viewer.view.map_image.isVisible()
    # the reading the pipeline returned is what the viewer and the curves panel say
    assert result.reading.diameters.describe() in window.viewer.reading.text()
    assert window.curves.summary.text() == f"Tumour {result.reading.curve_text()}"
    assert any("H3" in label for label in window.curves.legend_labels())
    out = tmp_path / "report.pdf"
    with qtbot.waitSignal(window.reportWritten, timeout=WAIT_MS):
        window.export_pdf(str(out))
    assert out.read_bytes()[:5] == b"%PDF-"
    assert not [m for m in messages["shown"] if m[0] == "error"], messages["shown"]


def test_cancel_mid_run_leaves_app_usable(qtbot, messages, case_files):
    patient, files, bundle = case_files
    window = make_window(qtbot)
    open_case(qtbot, window, files, bundle, ki67="30", lvi="absent")
    with qtbot.waitSignal(window.analysisFailed, timeout=WAIT_MS) as blocker:
        window.run_analysis()
        window.cancel_task()
    assert isinstance(blocker.args[0], CancelledError)
    qtbot.waitUntil(lambda: window.analyze_button.isEnabled(), timeout=WAIT_MS)
    assert window.result is None and not messages["shown"]
    window.viewer.view.step_slice(1)  # still responsive
    with qtbot.waitSignal(window.analysisFinished, timeout=WAIT_MS):
        window.run_analysis()
    assert window.result is not None


def test_bad_files_give_dialogs_not_crashes(qtbot, messages, case_files, tmp_path):
    patient, files, bundle = case_files
    window = make_window(qtbot)
    garbage = tmp_path / "broken.nii.gz"
    garbage.write_bytes(b"this is not an image")
    with qtbot.waitSignal(window.taskDone, timeout=WAIT_MS):
        window.open_case([str(garbage)], None)
    assert window.case is None
    assert messages["shown"] and messages["shown"][-1][0] == "error" and "broken.nii.gz" in messages["shown"][-1][1]
    bad_maf = tmp_path / "bad.maf"
    bad_maf.write_text("nothing useful here\n")
    window.import_maf(str(bad_maf))
    assert "bad.maf" in messages["shown"][-1][1]
    bad_bundle = tmp_path / "bundle.json"
    bad_bundle.write_text("{}")
    window.choose_bundle(str(bad_bundle))
    assert window.bundle is None and "bundle.json" in messages["shown"][-1][1]
    open_case(qtbot, window, files, bundle)  # still works afterwards
    window.pathology_form.set_values("abc", "unknown")
    assert window.run_analysis() is None
    assert "Ki-67" in messages["shown"][-1][1] or "abc" in messages["shown"][-1][1]


def test_unexpected_exception_is_shown_and_app_keeps_running(qtbot, messages):
    window = make_window(qtbot)
    window.report_error(RuntimeError("boom"), "a test")
    kind, text = messages["shown"][-1]
    assert kind == "error" and "RuntimeError: boom" in text


def test_restore_after_simulated_crash(qtbot, messages, case_files):
    patient, files, bundle = case_files
    store = SessionStore()
    store.begin_run()
    saved = SessionState(study_source=[str(files.study)], mask_path=str(files.mask), ki67="42", lvi="present",
                         maf_path=str(files.maf), bundle_path=str(bundle), phase_times_s=None)
    store.save(saved)  # autosave written, no clean-exit marker: the previous run "crashed"
    window = make_window(qtbot, SessionStore())
    qtbot.waitUntil(lambda: window.case is not None, timeout=WAIT_MS)
    assert window.pathology_form.values() == ("42", "present")
    assert window.state.maf_path == str(files.maf) and window.mutation_view.panel is not None
    assert window.state.bundle_path == str(bundle)
    window.close()
    assert SessionStore().marker.exists() and not SessionStore().previous_run_crashed()


def test_phase_edit_reorder_drop_and_times(qtbot, messages, case_files):
    patient, files, bundle = case_files
    window = make_window(qtbot)
    open_case(qtbot, window, files, bundle)
    n = window.case.study.n_phases
    table = window.phase_table
    table.drop_row(2)
    with qtbot.waitSignal(window.caseLoaded, timeout=WAIT_MS):
        table.apply_button.click()
    assert window.case.study.n_phases == n - 1
    assert window.state.phase_order == [i for i in range(n) if i != 2]
    table.set_time(1, 5000.0)  # later than the next phase: refused with a dialog
    table.apply_button.click()
    assert "increase" in messages["shown"][-1][1]


@pytest.mark.slow
def test_cli_gui_scripted_screenshot(case_files, tmp_path):
    """``tnbc-desktop gui --study S --mask M --analyze --screenshot PNG`` runs headless and writes a PNG."""
    import os
    import subprocess
    import sys

    patient, files, bundle = case_files
    png = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TNBC_DESKTOP_HOME=str(tmp_path / "home"))
    cmd = [sys.executable, "-m", "tnbc_desktop", "gui", "--study", str(files.study), "--mask", str(files.mask),
           "--bundle", str(bundle), "--ki67", "30", "--lvi", "absent", "--analyze", "--screenshot", str(png)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run([sys.executable, "-m", "tnbc_desktop", "gui", "--study", str(tmp_path / "missing"),
                          "--mask", str(files.mask), "--quit-after-load"], env=env, capture_output=True, text=True,
                         timeout=240)
    assert bad.returncode == 2 and "missing" in bad.stderr


def test_gui_analysis_of_a_dicom_study_keeps_identity_timing_and_reaches_history(qtbot, messages, tmp_path,
                                                                                 capsys):
    """The window hands its loaded DICOM study to the pipeline: the PDF names the DICOM timing tag and the
    patient (not a sidecar file's timing), and the analysis is in ``tnbc-desktop history --json`` with its
    report attached once exported."""
    import json

    from pypdf import PdfReader

    from tnbc_desktop.cli import main as cli_main

    bundle = make_test_bundle(tmp_path / "bundle.json")
    patient, files = write_small_patient(tmp_path / "dicom_patient", layout="per-phase")
    window = make_window(qtbot)
    open_case(qtbot, window, files, bundle)
    study = window.case.study
    assert study.layout.startswith("dicom") and study.timing_source not in ("", "sidecar")
    with qtbot.waitSignal(window.analysisFinished, timeout=WAIT_MS) as blocker:
        window.run_analysis()
    result = blocker.args[0]
    assert result.study is study and result.qc.timing_source == study.timing_source
    out = tmp_path / "dicom_report.pdf"
    with qtbot.waitSignal(window.reportWritten, timeout=WAIT_MS):
        window.export_pdf(str(out))
    text = " ".join(p.extract_text() for p in PdfReader(str(out)).pages)
    assert f"timing: {study.timing_source}" in " ".join(text.split())
    assert "sidecar" not in text
    assert study.identity.patient_id in text
    capsys.readouterr()
    assert cli_main(["history", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["id"] == window.history_id
    row = rows[0]
    assert row["bundle_sha256"] == result.bundle.sha256 and row["report_path"] == str(out)
    assert row["predictions"]["model3"]["probability"] == pytest.approx(result.predictions["model3"].probability)
    assert row["input_hashes"]["phase_times_s"].endswith(f"({study.timing_source})")
    # phases edited in the table are analysed as shown, still with the DICOM identity (no temporary NIfTI)
    window.phase_table.drop_row(2)
    with qtbot.waitSignal(window.caseLoaded, timeout=WAIT_MS):
        window.phase_table.apply_button.click()
    with qtbot.waitSignal(window.analysisFinished, timeout=WAIT_MS) as blocker:
        window.run_analysis()
    edited = blocker.args[0]
    assert edited.study.n_phases == study.n_phases - 1 and edited.qc.timing_source == "user (phase table)"
    assert edited.study.identity == study.identity and edited.study.layout == study.layout
    assert not [m for m in messages["shown"] if m[0] == "error"], messages["shown"]
