"""One patient, one truth on screen (pytest-qt, offscreen): a result belongs to its inputs, a refused open
changes nothing, another study starts a clean case, inputs of another patient are questioned."""
from __future__ import annotations

import numpy as np
import pytest
from pypdf import PdfReader

from tests.builders import WAIT_MS, make_test_bundle, make_window, open_case, write_small_patient
from tnbc_desktop.gui.results_panel import OUTDATED_TEXT

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def two_patients(tmp_path_factory):
    """Patients A and B (different seeds) as per-phase DICOM, so each study carries its PatientID."""
    root = tmp_path_factory.mktemp("two_patients")
    bundle = make_test_bundle(root / "bundle.json")
    a, files_a = write_small_patient(root / "A", seed=3, layout="per-phase")
    b, files_b = write_small_patient(root / "B", seed=4, layout="per-phase")
    return (a, files_a), (b, files_b), bundle


def _analyse(qtbot, window):
    with qtbot.waitSignal(window.analysisFinished, timeout=WAIT_MS) as blocker:
        window.run_analysis()
    qtbot.waitUntil(lambda: window.task is None or not window.task.running, timeout=WAIT_MS)
    return blocker.args[0]


def _set_pathology(window, ki67, lvi):
    window.pathology_form.set_values(ki67, lvi)
    window.pathology_form.edited.emit()


def test_changed_ki67_greys_prm_gprm_disables_export_and_a_fresh_run_exports_the_form(qtbot, messages, two_patients,
                                                                                       tmp_path):
    (_a, files), _b, bundle = two_patients
    window = make_window(qtbot)
    open_case(qtbot, window, files, bundle, ki67="51", lvi="absent", maf_path=str(files.maf))
    first = _analyse(qtbot, window)
    assert window.export_button.isEnabled() and not window.results.outdated_models()
    _set_pathology(window, "5", "present")
    assert window.results.outdated_models() == ("prm", "gprm")  # Model 3 reads the images only
    for key in ("prm", "gprm"):
        card = window.results.cards[key]
        assert card.group.text() == OUTDATED_TEXT and not card.isEnabled()
    assert window.results.cards["model3"].isEnabled()
    assert "Ki-67 / LVI" in window.results.outdated_label.text() and window.results.outdated_label.isVisible()
    assert not window.export_button.isEnabled()
    assert window.export_pdf(str(tmp_path / "stale.pdf")) is None and not (tmp_path / "stale.pdf").exists()
    # putting the values back makes the result current again
    _set_pathology(window, "51", "absent")
    assert not window.results.outdated_models() and window.export_button.isEnabled()
    # clearing the panel touches GPRM only
    window.import_maf(None)
    assert window.results.outdated_models() == ("gprm",)
    window.import_maf(str(files.maf))
    _set_pathology(window, "5", "present")
    fresh = _analyse(qtbot, window)
    assert fresh is not first and not window.results.outdated_models() and window.export_button.isEnabled()
    shown = window.results.shown_probabilities()
    for key in ("model3", "prm", "gprm"):
        assert shown[key] == f"{fresh.predictions[key].probability:.0%}"
    assert fresh.predictions["prm"].probability != pytest.approx(first.predictions["prm"].probability)
    out = tmp_path / "fresh.pdf"
    with qtbot.waitSignal(window.reportWritten, timeout=WAIT_MS):
        window.export_pdf(str(out))
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(out)).pages)
    ki67_form, lvi_form = window.pathology_form.values()
    assert f"Ki-67 {ki67_form} %" in text and "Ki-67 51" not in text
    assert f"LVI {lvi_form}" in text


def test_mask_and_phase_edits_mark_the_result_outdated_and_cancel_leaves_no_result(qtbot, messages, two_patients):
    (_a, files), _b, bundle = two_patients
    window = make_window(qtbot)
    open_case(qtbot, window, files, bundle, ki67="30", lvi="absent")
    _analyse(qtbot, window)
    editor = window.segmentation.editors[1]
    z = int(np.argmax(editor.array.reshape(editor.array.shape[0], -1).sum(axis=1)))
    editor.array[z] = False  # erase the tumour's largest slice, as the eraser does
    window.segmentation.maskEdited.emit()
    assert window.results.outdated_models() == ("model3", "prm", "gprm") and window.outdated == ("mask",)
    assert not window.export_button.isEnabled()
    with qtbot.waitSignal(window.analysisFailed, timeout=WAIT_MS):
        window.run_analysis()
        window.cancel_task()
    qtbot.waitUntil(lambda: not window.task.running, timeout=WAIT_MS)
    assert window.result is None and not window.export_button.isEnabled()
    assert window.results.shown_probabilities() == {"model3": "-", "prm": "-", "gprm": "-"}
    assert window.progress.value() == 0  # not left at the step where the job stopped


def test_another_patient_starts_a_clean_case_and_refused_inputs_change_nothing(qtbot, messages, two_patients,
                                                                             tmp_path):
    (_a, files_a), (_b, files_b), bundle = two_patients
    window = make_window(qtbot)
    assert not window.analyze_button.isEnabled()  # nothing loaded yet
    open_case(qtbot, window, files_a, bundle, ki67="42", lvi="present", maf_path=str(files_a.maf))
    ident_a = window.case.study.identity
    assert ident_a.patient_id and ident_a.patient_id in window.study_label.text()
    assert window.analyze_button.isEnabled()
    _analyse(qtbot, window)
    window._cursor_moved(*np.argwhere(window.case.mask.array)[0])
    window._update_cursor_curve()
    assert window.curves.cursor_line is not None

    # a refused study: A stays on screen, in the session and in the autosave
    garbage = tmp_path / "broken.nii.gz"
    garbage.write_bytes(b"not an image")
    with qtbot.waitSignal(window.taskDone, timeout=WAIT_MS):
        window.open_case([str(garbage)], None)
    assert messages["shown"][-1][0] == "error"
    assert window.state.study_source == [str(files_a.study)] and window.state.ki67 == "42"
    from tnbc_desktop.gui.session import SessionStore

    saved, _ = SessionStore().load()
    assert saved.study_source == [str(files_a.study)]
    # a refused mask (not on this study): the same
    bad_mask = tmp_path / "empty_mask.nii.gz"
    from tnbc_desktop.core.io.volumes import write_volume

    write_volume(np.zeros(window.case.study.geometry.shape, np.uint8), window.case.study.geometry, bad_mask)
    with qtbot.waitSignal(window.taskDone, timeout=WAIT_MS):
        window.open_mask(str(bad_mask))
    assert messages["shown"][-1][0] == "error" and "empty" in messages["shown"][-1][1]
    assert window.state.mask_path == str(files_a.mask) and window.case.mask is not None
    assert window.result is not None  # A's result is still A's and still current
    again = _analyse(qtbot, window)
    assert again.inputs.study_paths()[0] == files_a.study and again.study.identity == ident_a

    # patient B: a clean case, after the question
    n_questions = len(messages["asked"])
    with qtbot.waitSignal(window.caseLoaded, timeout=WAIT_MS):
        window.open_case([str(files_b.study)], str(files_b.mask))
    assert len(messages["asked"]) == n_questions + 1
    ident_b = window.case.study.identity
    assert ident_b.patient_id and ident_b.patient_id != ident_a.patient_id
    assert window.pathology_form.values() == ("", "unknown")
    assert window.state.ki67 == "" and window.state.maf_path is None and window.mutation_view.panel is None
    assert window.result is None and window.results.shown_probabilities() == {"model3": "-", "prm": "-", "gprm": "-"}
    assert window.curves.cursor_line is None and window.viewer._cursor_voxel is None
    from tnbc_desktop.core.curves import region_curve

    expected = region_curve(window.case.study, window.case.mask.array)
    assert [ln.name for ln in window.curves.lines] == ["Tumour"]
    assert window.curves.lines[0].mean == pytest.approx(tuple(expected.enhancement_percent))  # % as in the PDF
    assert ident_a.patient_id not in window.study_label.text()
    assert ident_b.patient_id in window.study_label.text()
    assert not window.export_button.isEnabled()
    labels = [e["label"] for e in SessionStore().recent_cases()]
    assert labels[0].startswith(ident_b.patient_name.replace("^", " ")) and ident_b.patient_id in labels[0]


def test_a_mutation_file_of_another_patient_asks_and_no_imports_nothing(qtbot, messages, two_patients):
    (_a, files_a), (_b, files_b), bundle = two_patients
    window = make_window(qtbot)
    open_case(qtbot, window, files_a, bundle)
    asked = len(messages["asked"])
    messages["answers"]["yes_no"] = False
    window.import_maf(str(files_b.maf))  # B's only sample
    assert len(messages["asked"]) == asked + 1 and window.case.study.identity.patient_id in messages["asked"][-1]
    assert window.mutation_view.panel is None and window.state.maf_path is None
    window.import_maf(str(files_a.maf))  # A's own sample: no question
    assert len(messages["asked"]) == asked + 1
    assert window.mutation_view.panel is not None and window.state.maf_path == str(files_a.maf)


def test_a_dicom_seg_of_another_study_asks_and_no_keeps_the_mask(qtbot, messages, two_patients, tmp_path):
    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study
    from tnbc_desktop.core.segmentation.save import save_mask

    (_a, files_a), (_b, files_b), bundle = two_patients
    study_b = load_study(files_b.study)
    seg_b = tmp_path / "b_seg.dcm"
    save_mask(load_mask(files_b.mask, study_b.geometry).array, study_b, seg_b)
    window = make_window(qtbot)
    open_case(qtbot, window, files_a, bundle)
    before = window.case
    messages["answers"]["yes_no"] = False
    assert window.open_mask(str(seg_b)) is None
    assert "another study" in messages["asked"][-1]
    assert window.case is before and window.state.mask_path == str(files_a.mask)
