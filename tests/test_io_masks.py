"""Tumour masks: same grid, resampled grid, labels, DICOM-SEG, refusals (incl. real I-SPY2 masks)."""
from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest

from tests.helpers import shared_data
from tests.builders import random_study as make_study
from tnbc_desktop.core.io.dicom_write import write_dicom_study
from tnbc_desktop.core.io.masks import covers_same_region, load_mask
from tnbc_desktop.core.io.volumes import write_volume
from tnbc_desktop.core.study import Geometry
from tnbc_desktop.errors import GeometryError, MaskError

STUDY = Geometry(shape=(8, 16, 16), spacing_mm=(2.0, 1.0, 1.0), origin_mm=(0.0, 0.0, 0.0))


def box(shape, z, y, x) -> np.ndarray:
    a = np.zeros(shape, dtype=np.uint8)
    a[z[0]:z[1], y[0]:y[1], x[0]:x[1]] = 1
    return a


def test_same_grid_binary(tmp_path):
    arr = box(STUDY.shape, (2, 5), (4, 10), (5, 12))
    mask = load_mask(write_volume(arr, STUDY, tmp_path / "m.nii.gz"), STUDY)
    assert not mask.resampled and mask.label == 1
    np.testing.assert_array_equal(mask.array, arr.astype(bool))
    assert mask.volume_ml == pytest.approx(3 * 6 * 7 * 2.0 / 1000)


def test_finer_grid_over_same_region_is_resampled_exactly(tmp_path):
    """Mask grid: in-plane spacing 1/3 mm with voxel edges on the study's edges (origin -1/3 mm), so study voxel
    centre k maps to mask index 3k+1 exactly. A box of mask voxels 3*4 .. 3*10-1 (y) and 3*5 .. 3*12-1 (x) is
    then exactly study voxels 4..9 and 5..11: the expected array is written by hand."""
    fine = Geometry(shape=(8, 48, 48), spacing_mm=(2.0, 1 / 3, 1 / 3), origin_mm=(-1 / 3, -1 / 3, 0.0))
    arr = box(fine.shape, (2, 5), (12, 30), (15, 36))
    mask = load_mask(write_volume(arr, fine, tmp_path / "fine.nrrd"), STUDY)
    assert mask.resampled and mask.notes
    np.testing.assert_array_equal(mask.array, box(STUDY.shape, (2, 5), (4, 10), (5, 12)).astype(bool))


def test_flipped_axes_same_region_is_resampled(tmp_path):
    """Same voxels stored with x reversed (direction -x, origin at the far edge): numpy flip is the oracle."""
    arr = box(STUDY.shape, (1, 3), (2, 6), (0, 4))
    flipped = Geometry(STUDY.shape, STUDY.spacing_mm, origin_mm=(15.0, 0.0, 0.0),
                       direction=(-1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0))
    mask = load_mask(write_volume(arr[:, :, ::-1].copy(), flipped, tmp_path / "f.nii.gz"), STUDY)
    assert mask.resampled
    np.testing.assert_array_equal(mask.array, arr.astype(bool))


def test_labelled_mask_needs_a_label(tmp_path):
    arr = box(STUDY.shape, (2, 5), (4, 10), (5, 12))
    arr[0, 0, 0] = 3
    path = write_volume(arr, STUDY, tmp_path / "l.nii.gz")
    with pytest.raises(MaskError, match=r"several labels \(1, 3\)"):
        load_mask(path, STUDY)
    assert load_mask(path, STUDY, label=3).n_voxels == 1
    with pytest.raises(MaskError, match="label 7 is not in the mask"):
        load_mask(path, STUDY, label=7)


def test_empty_probability_and_missing_masks_are_refused(tmp_path):
    with pytest.raises(MaskError, match="empty"):
        load_mask(write_volume(np.zeros(STUDY.shape, np.uint8), STUDY, tmp_path / "e.nii.gz"), STUDY)
    prob = np.full(STUDY.shape, 0.3, dtype=np.float32)
    with pytest.raises(MaskError, match="non-integer"):
        load_mask(write_volume(prob, STUDY, tmp_path / "p.nii.gz"), STUDY)
    with pytest.raises(MaskError, match="does not exist"):
        load_mask(tmp_path / "nope.nii.gz", STUDY)


def test_mask_on_another_region_gives_both_geometries(tmp_path):
    shifted = Geometry(STUDY.shape, STUDY.spacing_mm, origin_mm=(40.0, 0.0, 0.0))
    path = write_volume(box(STUDY.shape, (1, 2), (1, 2), (1, 2)), shifted, tmp_path / "s.nii.gz")
    assert not covers_same_region(shifted, STUDY)
    with pytest.raises(GeometryError) as info:
        load_mask(path, STUDY)
    assert shifted.describe() in str(info.value) and STUDY.describe() in str(info.value)


def test_ispy2_masks_with_wrong_header_are_refused():
    """I-SPY2 masks declare 1 mm voxels with z first (PROVENANCE): against the synthetic study grid
    (48x192x192 at 2x0.7x0.7 mm) they cover a different region and must be refused with both geometries."""
    study = Geometry(shape=(48, 192, 192), spacing_mm=(2.0, 0.7, 0.7), origin_mm=(-67.2, -67.2, -48.0))
    paths = sorted(shared_data("ispy2_masks").glob("*_mask.nii.gz"))
    assert len(paths) == 3
    for path in paths:
        with pytest.raises(GeometryError, match="does not cover the study") as info:
            load_mask(path, study)
        assert study.describe() in str(info.value)


def _seg_from_study(tmp_path: Path, labels: np.ndarray, study) -> Path:
    """DICOM-SEG written by highdicom (independent writer) on our phase-0 DICOM slices."""
    files = write_dicom_study(study, tmp_path / "dicom", layout="per-phase")
    sources = [pydicom.dcmread(f) for f in sorted(files) if "phase_00" in str(f)]
    n = int(labels.max())
    descriptions = [hd.seg.SegmentDescription(
        segment_number=i, segment_label=f"lesion {i}",
        segmented_property_category=hd.sr.CodedConcept("49755003", "SCT", "Morphologically Altered Structure"),
        segmented_property_type=hd.sr.CodedConcept("108369006", "SCT", "Neoplasm"),
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL) for i in range(1, n + 1)]
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=labels.astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY, segment_descriptions=descriptions,
        series_instance_uid=hd.UID(), series_number=900, sop_instance_uid=hd.UID(), instance_number=1,
        manufacturer="test", manufacturer_model_name="test", software_versions="1", device_serial_number="1")
    out = tmp_path / "seg.dcm"
    seg.save_as(out)
    return out


def test_dicom_seg_round_trip(tmp_path):
    study = make_study()
    labels = box(study.geometry.shape, (2, 6), (5, 20), (4, 15))
    path = _seg_from_study(tmp_path, labels, study)
    mask = load_mask(path, study.geometry)
    np.testing.assert_array_equal(mask.array, labels.astype(bool))
    assert not mask.resampled


def test_dicom_seg_two_segments_need_a_label(tmp_path):
    study = make_study()
    labels = box(study.geometry.shape, (2, 6), (5, 20), (4, 15))
    labels[7, 0:3, 0:3] = 2
    path = _seg_from_study(tmp_path, labels, study)
    with pytest.raises(MaskError, match="several labels"):
        load_mask(path, study.geometry)
    assert load_mask(path, study.geometry, label=2).n_voxels == 9


def test_dicom_seg_on_other_grid_is_refused(tmp_path):
    study = make_study()
    path = _seg_from_study(tmp_path, box(study.geometry.shape, (2, 6), (5, 20), (4, 15)), study)
    other = make_study(spacing=(2.5, 0.9, 0.8)).geometry
    with pytest.raises(GeometryError, match="do not lie on the study grid"):
        load_mask(path, other)
