"""The viewer's reading conventions, driven offscreen: reformats, orientation letters, subtraction / MIP,
default window on the demo patient, kinetic map colours, ruler and longest diameter.

Oracles are the study arrays themselves (a reformat pixel is the study voxel, a subtraction pixel is
early - pre), the direction matrix (letters) and the analytic map levels."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.builders import hand_made_study
from tnbc_desktop.core.study import Geometry

pytestmark = pytest.mark.gui


def make_panel(qtbot, study, mask=None, early=1):
    from tnbc_desktop.gui.viewer_panel import ViewerPanel

    panel = ViewerPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    panel.set_study(study, early_phase=early)
    if mask is not None:
        panel.view.set_overlays(mask=mask, centre_on_mask=True)
    return panel


def random_study(direction=None, spacing=(2.0, 0.7, 1.4)):
    study, mask = hand_made_study(spacing_mm=spacing)
    rng = np.random.default_rng(5)
    data = rng.normal(100, 20, study.data.shape).astype(np.float32)
    geom = study.geometry if direction is None else Geometry(study.geometry.shape, spacing, direction=direction)
    return dataclasses.replace(study, data=data, geometry=geom), mask


@pytest.mark.parametrize("flip_z", [False, True])
def test_reformat_pixels_are_the_study_voxels_with_real_aspect(qtbot, flip_z):
    direction = (1, 0, 0, 0, 1, 0, 0, 0, -1) if flip_z else None
    study, mask = random_study(direction)
    panel = make_panel(qtbot, study, mask)
    view, cor, sag = panel.view, panel.coronal, panel.sagittal
    view.set_phase(2)
    cor.set_slice(31)
    sag.set_slice(17)
    nz = study.data.shape[1]
    for z in (0, 3, nz - 1):
        row = z if flip_z else nz - 1 - z  # the head (high z for +S slices) is drawn at the top
        assert cor.image.image[row, 40] == study.data[2, z, 31, 40]
        assert sag.image.image[row, 12] == study.data[2, z, 12, 17]
    t_cor, t_sag = cor.image.transform(), sag.image.transform()
    assert (t_cor.m11(), t_cor.m22()) == pytest.approx((1.4, 2.0))  # columns x (1.4 mm), rows z (2 mm)
    assert (t_sag.m11(), t_sag.m22()) == pytest.approx((0.7, 2.0))  # columns y (0.7 mm)
    # keys over a reformat step its own slice; phase keys still drive the whole viewer
    from PySide6.QtCore import Qt

    qtbot.keyClick(sag.graphics, Qt.Key.Key_Up)
    assert sag.current_slice == 18 and sag.title.text() == f"Sagittal  slice 19/{study.data.shape[3]}"
    qtbot.keyClick(sag.graphics, "[")
    assert view.current_phase == 1 and sag.image.image[0, 0] == study.data[1, nz - 1 if not flip_z else 0, 0, 18]
    view.set_phase(2)
    # the reformats follow the display mode: subtraction
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("subtraction"))
    assert cor.image.image[0 if flip_z else nz - 1, 5] == pytest.approx(
        study.data[2, 0, 31, 5] - study.data[0, 0, 31, 5])


@pytest.mark.parametrize("direction,axial,sagittal", [
    ((1, 0, 0, 0, 1, 0, 0, 0, 1), dict(left="R", right="L", top="A", bottom="P"),
     dict(left="A", right="P", top="S", bottom="I")),
    ((-1, 0, 0, 0, -1, 0, 0, 0, 1), dict(left="L", right="R", top="P", bottom="A"),
     dict(left="P", right="A", top="S", bottom="I")),
])
def test_orientation_markers_on_every_view(qtbot, direction, axial, sagittal):
    study, mask = random_study(direction)
    panel = make_panel(qtbot, study, mask)
    assert panel.view.markers.letters() == axial
    assert panel.sagittal.markers.letters() == sagittal
    assert panel.coronal.markers.letters() == dict(left=axial["left"], right=axial["right"], top="S", bottom="I")
    # the letters sit on the visible edges: after a zoom they move with the view
    before = panel.view.markers.items["right"].pos().x()
    panel.view.box.scaleBy((0.5, 0.5))
    assert panel.view.markers.items["right"].pos().x() < before


def test_subtraction_and_mip_equal_early_minus_pre(qtbot):
    study, mask = random_study()
    panel = make_panel(qtbot, study, mask, early=1)
    view = panel.view
    z = view.current_slice
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("subtraction"))
    assert np.array_equal(view.image.image, study.data[1, z] - study.data[0, z])
    low, high = view.window[0] - view.window[1] / 2, view.window[0] + view.window[1] / 2
    assert low == pytest.approx(0.0)  # subtraction windows start at 0 (negative differences are black)
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("mip"))
    assert np.array_equal(view.image.image, (study.data[1] - study.data[0]).max(axis=0))
    assert not view.fill_image.isVisible() and view.outline_image.isVisible()  # projected outline only
    assert view.mip(1) is view.mip(1)  # cached per phase
    assert "MIP of phase 2 - phase 1" in panel.status.text()
    assert high > 0


def test_default_window_does_not_saturate_the_demo_lesion(qtbot):
    from tnbc_desktop.core.kinetics import select_early_late
    from tnbc_desktop.core.synthetic import make_demo_patient

    patient = make_demo_patient()
    study, mask = patient.study, patient.mask.array
    early = select_early_late(study.phase_times_s)[0]
    panel = make_panel(qtbot, study, mask, early=early)
    level, width = panel.view.window
    lesion = study.data[early][mask]
    assert level + width / 2 > np.percentile(lesion, 95)
    assert level + width / 2 > np.percentile(lesion, 99.5)  # the top lies above nearly every lesion voxel
    assert level - width / 2 < np.percentile(study.data[early], 5)  # background stays dark
    names = [panel.window_combo.itemText(i) for i in range(panel.window_combo.count())]
    assert names[0].startswith("Default") and "Full range" in names and "Lesion" in names
    panel.window_combo.activated.emit(names.index("Full range"))
    level, width = panel.view.window
    assert level + width / 2 == pytest.approx(float(study.data[early, ::2, ::2, ::2].max()))


def test_kinetic_maps_diverging_wos_banded_ser_and_no_habitat_fill(qtbot):
    study, mask = random_study()
    panel = make_panel(qtbot, study, mask)
    labels = np.where(mask, 2, 0).astype(np.uint8)
    panel.view.set_overlays(mask=mask, labels=labels)
    rng = np.random.default_rng(1)
    wos = np.where(mask, rng.uniform(-30.0, 80.0, mask.shape), np.nan)
    ser = np.where(mask, rng.uniform(0.5, 1.6, mask.shape), np.nan)
    panel.set_kinetic_maps({"PE": np.where(mask, 100.0, np.nan), "SER": ser, "WIS": np.where(mask, 50.0, np.nan),
                            "WOS": wos})
    view = panel.view
    assert view.fill_opacity == pytest.approx(0.6)
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("WOS"))
    lo, hi = view.map_image.levels
    finite = wos[np.isfinite(wos)]
    half = max(abs(np.percentile(finite, 1)), abs(np.percentile(finite, 99)))
    assert (lo, hi) == pytest.approx((-half, half))  # centred at 0
    cmap = view.map_styles["WOS"].colour_map
    mid, neg, pos = (np.asarray(cmap.map(v, mode="byte"))[:3].astype(int) for v in (0.5, 0.0, 1.0))
    assert np.ptp(mid) < 40 and mid.min() > 180  # 0 %/min is a light neutral
    assert neg[0] > neg[2] and pos[2] > pos[0]  # wash-out (negative) red, persistent blue
    # the habitat fill does not hide the map; returning to the signal brings it back
    assert view.fill_opacity == 0.0 and view.fill_image.opacity() == 0.0 and panel.opacity_slider.value() == 0
    assert view.outline_image.isVisible()
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("SER"))
    lut = view.map_styles["SER"].colour_map.getLookupTable(0.0, 1.0, 201)  # 0..2 in steps of 0.01
    from tnbc_desktop.gui.kinetic_colours import SER_BAND_COLOURS

    for value, colour in ((0.85, 0), (0.95, 1), (1.05, 1), (1.15, 2)):
        assert tuple(lut[int(round(value * 100))][:3]) == SER_BAND_COLOURS[colour], value
    assert view.map_image.levels == pytest.approx((0.0, 2.0))
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("signal"))
    assert view.fill_image.opacity() == pytest.approx(0.6) and panel.opacity_slider.value() == 60


def test_ruler_and_longest_diameter_in_mm(qtbot):
    from tnbc_desktop.core.tumour_reading import read_tumour

    study, mask = random_study()
    panel = make_panel(qtbot, study, mask)
    view = panel.view
    view.ruler.start((10.0, 10.0), (40.0, 50.0))
    assert view.ruler.length_mm() == pytest.approx(50.0)
    assert view.ruler.label.toPlainText() == "50.0 mm"
    panel.ruler_button.setChecked(True)
    panel.ruler_button.setChecked(False)
    assert not view.ruler.active
    reading = read_tumour(mask, study.spacing_mm, {})
    panel.set_reading(reading, curve_type_known=False)
    d = reading.diameters
    # the box mask 5:10, 20:40, 20:40 at 0.7 x 1.4 mm in-plane: diagonal of 20 x 20 voxels, outer edges
    assert d.axial_mm == pytest.approx(np.hypot(20 * 0.7, 20 * 1.4), abs=1e-6)
    view.set_slice(d.axial_slice)
    assert view.diameter.visible
    xs, ys = view.diameter.line.getData()
    assert np.hypot(xs[1] - xs[0], ys[1] - ys[0]) == pytest.approx(d.axial_mm)
    view.set_slice(0)
    assert not view.diameter.visible
    assert f"{d.axial_mm:.1f} mm axial" in panel.reading.text() and "curve type" not in panel.reading.text()


def test_user_window_survives_a_mask_change_and_reset_follows_the_lesion(qtbot):
    study, _ = random_study()
    mask = np.zeros(study.data.shape[1:], bool)
    mask[7:12:2, 31:36:2, 31:36:2] = True  # odd indices: a bright lesion the 1/8 body sample never sees
    study.data[1][mask] += np.linspace(1500.0, 2500.0, int(mask.sum()), dtype=np.float32)
    panel = make_panel(qtbot, study, None)
    view = panel.view
    top_without = view.window[0] + view.window[1] / 2
    view.set_window(150.0, 60.0)
    view.set_overlays(mask=mask.copy())
    assert view.window == pytest.approx((150.0, 60.0))  # the reader's window is kept
    view.reset_window()
    level, width = view.window
    assert level + width / 2 > np.percentile(study.data[1][mask], 99.5) > top_without


def test_editing_the_mask_updates_the_diameters_shown(qtbot, tmp_path):
    from tests.builders import make_test_bundle, write_small_patient
    from tests.builders import make_window, open_case
    from tnbc_desktop.core.tumour_size import tumour_diameters

    _, files = write_small_patient(tmp_path / "patient")
    window = make_window(qtbot)
    open_case(qtbot, window, files, make_test_bundle(tmp_path / "bundle.json"))
    view, seg = window.viewer.view, window.segmentation
    before = tumour_diameters(view.overlays.mask, view.study.spacing_mm)
    assert before.describe() in window.viewer.reading.text()
    view.set_slice(before.axial_slice)
    seg.clear_slice()  # removes the slice holding the longest axial diameter
    after = tumour_diameters(seg.editor.array, view.study.spacing_mm)
    assert after.describe() != before.describe()
    qtbot.waitUntil(lambda: after.describe() in window.viewer.reading.text(), timeout=5000)


def test_reformat_overlays_follow_toggles_and_in_place_edits_but_not_phase(qtbot):
    from tnbc_desktop.gui.overlays import OverlayToggles

    study, mask = random_study()
    panel = make_panel(qtbot, study, None)
    labels = np.where(mask, 3, 0).astype(np.uint8)
    edited = mask.copy()
    panel.view.set_overlays(mask=edited, labels=labels, centre_on_mask=True)
    cor = panel.coronal
    drawn = cor.fill_image.image.copy()
    assert drawn[..., 3].any()
    panel.view.set_phase(3)
    assert cor.fill_image.image is not None and np.array_equal(cor.fill_image.image, drawn)
    panel.view.set_toggles(OverlayToggles(habitats=False, ring=False))
    assert not cor.fill_image.image[..., 3].any()
    panel.view.set_toggles(OverlayToggles())
    edited[:, cor.current_slice, :] = False  # an in-place edit (the brush) of the shown coronal section
    panel.view.refresh_overlays()
    assert not cor.outline_image.isVisible() or not cor.outline_image.image[..., 3].any()


@pytest.mark.parametrize("flip_z", [False, True])
def test_a_click_moves_the_other_planes_through_the_voxel(qtbot, flip_z):
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest

    study, mask = random_study((1, 0, 0, 0, 1, 0, 0, 0, -1) if flip_z else None)
    panel = make_panel(qtbot, study, mask)
    view, cor, sag = panel.view, panel.coronal, panel.sagittal
    sz, sy, sx = study.spacing_mm

    def click(plane_view, col_mm, row_mm):
        scene = plane_view.box.mapViewToScene(QPointF(col_mm, row_mm))
        QTest.mouseClick(plane_view.graphics.viewport(), Qt.MouseButton.LeftButton,
                         pos=plane_view.graphics.mapFromScene(scene))

    click(view, (41 + 0.5) * sx, (23 + 0.5) * sy)  # axial voxel (y 23, x 41)
    assert (sag.current_slice, cor.current_slice) == (41, 23)
    nz = study.data.shape[1]
    z = 4
    row = z if flip_z else nz - 1 - z
    click(cor, (12 + 0.5) * sx, (row + 0.5) * sz)  # coronal voxel (z 4, x 12)
    assert (view.current_slice, sag.current_slice, cor.current_slice) == (4, 12, 23)


def test_help_menu_explains_the_viewer(qtbot, monkeypatch):
    from tests.builders import make_window
    from tnbc_desktop.gui import dialogs

    shown = []
    monkeypatch.setattr(dialogs, "show_message", lambda parent, kind, title, text: shown.append(text))
    window = make_window(qtbot)
    actions = {a.text(): a for menu in window.menuBar().actions() if menu.menu() for a in menu.menu().actions()}
    actions["Viewer mouse and keys"].trigger()
    assert "ctrl + double-click" in shown[-1] and "subtraction" in shown[-1]
