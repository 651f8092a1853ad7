"""The mask tools in the real main window (pytest-qt, offscreen): click a seed -> live preview -> accept ->
brush an extra blob -> undo -> analyse; the analysed mask is the accepted one voxel for voxel. Also: the
Dice/volume of a second reader, saving, and the autosave of an unsaved mask."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from tests.builders import make_test_bundle, write_small_patient
from tests.builders import WAIT_MS, make_window
from tests.builders import deep_seed
from tnbc_desktop.core.io.masks import load_mask
from tnbc_desktop.gui.session import SessionState

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def no_mask_case(tmp_path_factory):
    root = tmp_path_factory.mktemp("gui_seg")
    patient, files = write_small_patient(root / "patient")
    return patient, files, make_test_bundle(root / "bundle.json")


def _open_study_only(qtbot, window, files, bundle):
    state = SessionState(study_source=[str(files.study)], bundle_path=str(bundle), ki67="30", lvi="absent")
    with qtbot.waitSignal(window.caseLoaded, timeout=WAIT_MS):
        window.restore_state(state)


def _viewport_point(view, y: int, x: int):
    """Widget coordinates of the centre of voxel (y, x) of the shown slice."""
    sy, sx = view.study.spacing_mm[1], view.study.spacing_mm[2]
    scene = view.box.mapViewToScene(QPointF((x + 0.5) * sx, (y + 0.5) * sy))
    return view.graphics.mapFromScene(scene)


def test_seed_preview_accept_brush_undo_analyse_uses_the_accepted_mask(qtbot, messages, no_mask_case):  # noqa: F811
    patient, files, bundle = no_mask_case
    window = make_window(qtbot)
    _open_study_only(qtbot, window, files, bundle)
    seg, panel, view = window.segmentation, window.segment_panel, window.viewer.view
    assert seg.editor is not None and seg.editor.n_voxels == 0

    x, y, z = deep_seed(patient)
    view.set_slice(z)
    qtbot.mouseClick(panel.tool_buttons["seed"], Qt.MouseButton.LeftButton)
    assert view.box.left_tool is seg
    with qtbot.waitSignal(seg.previewReady, timeout=WAIT_MS) as first:
        QTest.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=_viewport_point(view, y, x))
    assert not isinstance(first.args[0], Exception), first.args[0]
    assert seg.editor.n_voxels == 0  # a preview is not the mask yet
    with qtbot.waitSignal(seg.previewReady, timeout=WAIT_MS) as second:  # live preview follows the slider
        panel.threshold_slider.setValue(80)
    preview = second.args[0]
    assert preview.provenance.threshold_pe == 80.0 and preview.provenance.seed_xyz == (x, y, z)
    assert np.array_equal(view.overlays.mask, preview.mask.array)
    truth = patient.mask.array
    assert 2 * np.sum(preview.mask.array & truth) / (preview.mask.array.sum() + truth.sum()) > 0.85

    qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    accepted = seg.editor.array.copy()
    assert np.array_equal(accepted, preview.mask.array)
    assert panel.volume_label.text().startswith(f"Mask: {preview.mask.volume_ml:.2f} ml")
    assert [line.name for line in window.curves.lines] == ["Tumour"]  # the curve follows the new mask

    qtbot.mouseClick(panel.tool_buttons["paint"], Qt.MouseButton.LeftButton)
    viewport = view.graphics.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_viewport_point(view, 4, 4))
    for step in range(1, 8):
        QTest.mouseMove(viewport, _viewport_point(view, 4, 4 + 2 * step))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_viewport_point(view, 4, 18))
    blob = seg.editor.array & ~accepted
    assert blob[z, 2:7, 2:21].any() and not blob[:, 9:].any() and not blob[:z].any() and not blob[z + 1:].any()
    assert seg.editor.n_voxels == int(np.count_nonzero(seg.editor.array))
    assert f"{seg.editor.volume_ml:.2f} ml" in panel.volume_label.text()  # the volume follows the brush

    qtbot.mouseClick(panel.undo_button, Qt.MouseButton.LeftButton)  # the whole stroke is one step
    assert np.array_equal(seg.editor.array, accepted)

    with qtbot.waitSignal(window.analysisFinished, timeout=WAIT_MS) as done:
        window.run_analysis()
    result = done.args[0]
    assert np.array_equal(result.mask.array, accepted)
    assert result.inputs.mask_path == "" and result.qc.mask_provenance.startswith(
        f"semi-automatic: seed (x {x}, y {y}, z {z}), PE >= 80 %")
    assert not [m for m in messages["shown"] if m[0] == "error"], messages["shown"]


def test_seed_in_air_shows_the_reason_and_keeps_the_mask(qtbot, messages, no_mask_case):  # noqa: F811
    patient, files, bundle = no_mask_case
    window = make_window(qtbot)
    _open_study_only(qtbot, window, files, bundle)
    seg, panel, view = window.segmentation, window.segment_panel, window.viewer.view
    seg.set_tool("seed")
    with qtbot.waitSignal(seg.previewReady, timeout=WAIT_MS) as blocker:
        QTest.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=_viewport_point(view, 0, 32))
    assert isinstance(blocker.args[0], Exception)
    assert "outside tissue" in panel.message_label.text()
    assert not panel.accept_button.isEnabled() and seg.editor.n_voxels == 0


def test_second_reader_agreement_save_and_autosave_of_an_unsaved_mask(qtbot, messages, no_mask_case, tmp_path):  # noqa: F811
    patient, files, bundle = no_mask_case
    window = make_window(qtbot)
    _open_study_only(qtbot, window, files, bundle)
    seg, panel = window.segmentation, window.segment_panel
    x, y, z = deep_seed(patient)
    seg.set_tool("seed")
    with qtbot.waitSignal(seg.previewReady, timeout=WAIT_MS):
        seg.start_preview((z, y, x))
    seg.accept()
    reader1 = seg.editor.array.copy()

    window.autosave()  # the unsaved mask survives a crash: written beside the session and restored
    assert window.state.mask_autosave and window.state.mask_provenance["origin"] == "semi-automatic"
    assert np.array_equal(load_mask(window.state.mask_autosave, window.case.study.geometry).array, reader1)
    restored = make_window(qtbot, store=window.store)
    with qtbot.waitSignal(restored.caseLoaded, timeout=WAIT_MS):
        restored.restore_state(window.state)
    assert np.array_equal(restored.segmentation.editor.array, reader1)
    assert restored.segmentation.editor.provenance.origin.value == "semi-automatic"

    seg.load_reader2(str(files.mask_reader2))
    expected = 2 * np.sum(reader1 & patient.mask_reader2.array) / (reader1.sum() + patient.mask_reader2.array.sum())
    assert f"Dice {expected:.3f}" in panel.agreement_label.text()
    panel.reader2_button.setChecked(True)  # draw reader 2 over the loaded one: agreement updates live
    seg.editor.dab((z, y, x), 6.0, "sphere")
    seg._edited(True)
    assert seg.active == 2 and "Dice" in panel.agreement_label.text()
    panel.reader2_button.setChecked(False)
    assert np.array_equal(seg.editor.array, reader1)

    out = tmp_path / "mask.nii.gz"
    with qtbot.waitSignal(seg.maskSaved, timeout=WAIT_MS):
        seg.save(str(out))
    assert np.array_equal(load_mask(out, window.case.study.geometry).array, reader1)
    assert window.state.mask_path == str(out) and not seg.editor.modified
    window.autosave()
    assert window.state.mask_autosave is None and window.state.mask_provenance["source"] == str(out)


def test_tool_keys_as_in_3d_slicer_work_from_the_viewer(qtbot, messages, no_mask_case):  # noqa: F811
    patient, files, bundle = no_mask_case
    window = make_window(qtbot)
    _open_study_only(qtbot, window, files, bundle)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    seg, panel, graphics = window.segmentation, window.segment_panel, window.viewer.view.graphics
    graphics.setFocus()
    qtbot.keyClick(graphics, Qt.Key.Key_P)
    assert panel.tool() == "paint" and window.viewer.view.box.left_tool is seg
    x, y, z = deep_seed(patient)
    seg.editor.dab((z, y, x), 3.0)
    seg._edited(True)
    painted = seg.editor.array.copy()
    qtbot.keyClick(graphics, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert seg.editor.n_voxels == 0
    qtbot.keyClick(graphics, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(seg.editor.array, painted)
    radius = panel.brush_spin.value()
    qtbot.keyClick(graphics, Qt.Key.Key_Plus)
    assert panel.brush_spin.value() == pytest.approx(radius * 1.2)
    qtbot.keyClick(graphics, Qt.Key.Key_Minus)
    assert panel.brush_spin.value() == pytest.approx(radius * 1.2 * 0.8)
    qtbot.keyClick(graphics, Qt.Key.Key_Escape)
    assert panel.tool() == "navigate" and window.viewer.view.box.left_tool is None


def test_an_unsaved_mask_does_not_follow_the_user_to_another_study(qtbot, messages, no_mask_case, tmp_path):  # noqa: F811
    patient, files, bundle = no_mask_case
    other_patient, other = write_small_patient(tmp_path / "other", seed=8)
    window = make_window(qtbot)
    _open_study_only(qtbot, window, files, bundle)
    seg = window.segmentation
    x, y, z = deep_seed(patient)
    seg.editor.dab((z, y, x), 4.0)
    seg._edited(True)
    window.autosave()
    assert window.state.mask_autosave
    with qtbot.waitSignal(window.caseLoaded, timeout=WAIT_MS):
        window.open_case([str(other.study)], None)
    assert seg.editor.n_voxels == 0 and window.state.mask_autosave is None
    assert not [m for m in messages["shown"] if m[0] == "error"], messages["shown"]


def test_a_case_opened_with_a_mask_shows_that_mask_in_the_mask_tools(qtbot, messages, no_mask_case):  # noqa: F811
    """The mask panel and the case's mask line describe the mask that was opened (not 'none')."""
    patient, files, bundle = no_mask_case
    window = make_window(qtbot)
    state = SessionState(study_source=[str(files.study)], mask_path=str(files.mask), bundle_path=str(bundle))
    with qtbot.waitSignal(window.caseLoaded, timeout=WAIT_MS):
        window.restore_state(state)
    n = int(np.count_nonzero(window.case.mask.array))
    assert n > 0
    panel_text = window.segment_panel.volume_label.text()
    assert "none" not in panel_text and f"{n} voxels" in panel_text
    assert "none" not in window.mask_label.text()
