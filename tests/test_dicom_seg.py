"""The general DICOM-SEG writer (core/dicom_export/seg.py) and the mask loader's multi-segment SEG reading."""
from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.sr.codedict import codes

from tnbc_desktop.core.dicom_export.seg import NO_DICOM_SOURCE, Segment, read_source_datasets, write_seg
from tnbc_desktop.core.io.masks import load_mask
from tnbc_desktop.core.io.study_loader import load_study
from tnbc_desktop.errors import MaskError, OutputError

MAS = codes.SCT.MorphologicallyAbnormalStructure


@pytest.fixture(scope="module")
def dicom_case(tmp_path_factory):
    from tests.builders import write_small_patient

    root = tmp_path_factory.mktemp("segcase")
    patient, files = write_small_patient(root / "p", seed=8, layout="per-phase")
    study = load_study(files.study)
    mask = load_mask(files.mask, study.geometry)
    return root, study, mask


def _segments(tumour: np.ndarray) -> list[Segment]:
    stripes = tumour & (np.arange(tumour.shape[2])[None, None, :] % 2 == 0)
    return [Segment("Tumour", tumour, MAS, codes.SCT.Neoplasm, (240, 228, 66), "tumour", codes.SCT.Breast),
            Segment("H1 poorly perfused", stripes, MAS, codes.SCT.Neoplasm, (0, 114, 178), "H1",
                    algorithm_family=codes.cid7162.ClusterAnalysis)]


def test_seg_round_trip_masks_references_and_colours(dicom_case, tmp_path):
    root, study, mask = dicom_case
    phase = 1
    segments = _segments(mask.array)
    path = write_seg(read_source_datasets(study.source_images[phase]), segments, tmp_path / "seg.dcm")
    seg = hd.seg.segread(path)
    source_uids = [im.sop_instance_uid for im in study.source_images[phase]]
    # every frame references an image of the chosen phase, and only those
    referenced = {uid for _, _, uid in seg.get_source_image_uids()}
    assert referenced == set(source_uids)
    assert referenced.isdisjoint(im.sop_instance_uid for im in study.source_images[0])
    # highdicom gives back, source image by source image (= slice by slice), the arrays that went in
    pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=source_uids, segment_numbers=[1, 2],
                                               ignore_spatial_locations=True, assert_missing_frames_are_empty=True)
    for i, s in enumerate(segments):
        np.testing.assert_array_equal(pixels[..., i].astype(bool), s.array)
    # labels, tracking ids, codes and recommended colours as given
    for i, s in enumerate(segments):
        desc = seg.get_segment_description(i + 1)
        assert desc.segment_label == s.label and desc.tracking_id == s.tracking_id
        assert desc.segmented_property_type.value == s.property_type.value
        rgb = hd.color.CIELabColor.from_dicom_value(desc.RecommendedDisplayCIELabValue).to_rgb()
        assert np.max(np.abs(np.asarray(rgb, dtype=int) - np.asarray(s.colour_rgb))) <= 1
    assert seg.PatientID == pydicom.dcmread(study.source_images[phase][0].path, stop_before_pixels=True).PatientID


def test_mask_loader_takes_the_tumour_segment_of_a_multi_segment_seg(dicom_case, tmp_path):
    root, study, mask = dicom_case
    segments = _segments(mask.array)
    path = write_seg(read_source_datasets(study.source_images[1]), segments, tmp_path / "seg.dcm")
    loaded = load_mask(path, study.geometry)
    assert loaded.label == 1
    np.testing.assert_array_equal(loaded.array, mask.array)  # not overwritten by the overlapping H1 segment
    h1 = load_mask(path, study.geometry, label=2)
    np.testing.assert_array_equal(h1.array, segments[1].array)
    untitled = [Segment(f"region {i}", s.array, s.category, s.property_type, s.colour_rgb, f"r{i}")
                for i, s in enumerate(segments)]
    path2 = write_seg(read_source_datasets(study.source_images[1]), untitled, tmp_path / "seg2.dcm")
    with pytest.raises(MaskError, match=r"several labels \(segments 1 'region 0', 2 'region 1'\).*--mask-label"):
        load_mask(path2, study.geometry)
    with pytest.raises(MaskError, match="segment 5 is not in the DICOM-SEG"):
        load_mask(path2, study.geometry, label=5)


def test_seg_of_an_enhanced_multiframe_study(tmp_path):
    from tests.builders import write_small_patient

    _, files = write_small_patient(tmp_path / "p", seed=8, layout="enhanced")
    study = load_study(files.study)
    mask = load_mask(files.mask, study.geometry)
    path = write_seg(read_source_datasets(study.source_images[1]), _segments(mask.array), tmp_path / "seg.dcm",
                     geometry=study.geometry)
    seg = hd.seg.segread(path)
    assert {uid for _, _, uid in seg.get_source_image_uids()} == {study.source_images[1][0].sop_instance_uid}
    np.testing.assert_array_equal(load_mask(path, study.geometry).array, mask.array)


def test_no_seg_without_dicom_source_images(dicom_case, tmp_path):
    with pytest.raises(OutputError, match="NIfTI/NRRD"):
        read_source_datasets(())
    assert "no DICOM source images" in NO_DICOM_SOURCE


def test_seg_refuses_empty_or_off_grid_segments(dicom_case, tmp_path):
    root, study, mask = dicom_case
    src = read_source_datasets(study.source_images[1])
    empty = Segment("Nothing", np.zeros_like(mask.array), MAS, codes.SCT.Neoplasm, (1, 2, 3), "x")
    with pytest.raises(OutputError, match="'Nothing' is empty"):
        write_seg(src, [empty], tmp_path / "a.dcm")
    small = Segment("Small", mask.array[:-1], MAS, codes.SCT.Neoplasm, (1, 2, 3), "x")
    with pytest.raises(OutputError, match="not on the study grid"):
        write_seg(src, [_segments(mask.array)[0], small], tmp_path / "b.dcm")
    with pytest.raises(OutputError, match="3 source image"):
        write_seg(src[:3], _segments(mask.array), tmp_path / "c.dcm")
    assert not any(tmp_path.glob("*.dcm"))
