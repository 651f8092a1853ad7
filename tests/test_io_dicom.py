"""DICOM DCE loading: layouts, sorting, timing, refusals, real edge-case files, the QIBA DRO.

Oracle for round trips: the float array and times we wrote ourselves; the loader must give them back within
the writer's documented quantisation (|error| <= slope/2, plus float32 rounding of the decoded value).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from tests.helpers import shared_data
from tnbc_desktop.core.io.dicom_pixels import read_slice_pixels
from tnbc_desktop.core.io.dicom_header import parse_dicom_time
from tnbc_desktop.core.io.dicom_read import read_headers_file
from tnbc_desktop.core.io.dicom_write import write_dicom_study
from tnbc_desktop.core.io.study_loader import load_study
from tnbc_desktop.errors import DicomError, GeometryError, TimingError, TnbcError
from tnbc_desktop.logsafe import redact
from tests.builders import random_study
from tests.builders import tolerance







@pytest.mark.parametrize("layout, expected_layout, tag", [
    ("per-phase", "dicom-per-phase", "AcquisitionTime"),
    ("single-series", "dicom-single-series", "TriggerTime"),
    ("pre-post", "dicom-pre-post", "AcquisitionTime"),
    ("enhanced", "dicom-enhanced", "FrameAcquisitionDateTime"),
])
def test_every_layout_round_trips(tmp_path, layout, expected_layout, tag):
    """Written study == loaded study: arrays within quantisation, identical times and grid, identity kept."""
    study = random_study()
    write_dicom_study(study, tmp_path, layout=layout)
    loaded = load_study(tmp_path)
    assert loaded.layout == expected_layout
    assert loaded.timing_source == tag
    assert loaded.phase_times_s == pytest.approx(study.phase_times_s, abs=1e-6)
    assert loaded.geometry.same_grid(study.geometry), (loaded.geometry, study.geometry)
    assert loaded.data.dtype == np.float32 and loaded.data.shape == study.data.shape
    assert np.abs(loaded.data - study.data).max() <= tolerance(study)
    assert [p.source_tag for p in loaded.phases] == [tag] * 4
    assert loaded.identity.patient_id == "ZZCANARY42"
    assert "ZZCANARY42" not in redact("patient ZZCANARY42 loaded")


def test_single_series_instance_numbers_are_not_time_order(tmp_path):
    """The Philips-style writer scrambles InstanceNumber; the loader must order by TemporalPositionIdentifier."""
    study = random_study()
    files = write_dicom_study(study, tmp_path, layout="single-series")
    tags = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    slice0 = sorted((int(d.InstanceNumber), int(d.TemporalPositionIdentifier)) for d in tags
                    if abs(float(d.SliceLocation) - float(tags[0].SliceLocation)) < 1e-6)
    assert [tp for _, tp in slice0] != sorted(tp for _, tp in slice0)
    assert not any(f.suffix for f in files)  # files without .dcm suffix
    loaded = load_study(sorted(files))  # a list of files works like the folder
    assert np.abs(loaded.data - study.data).max() <= tolerance(study)


def test_nested_folders_and_non_dicom_files_are_ignored(tmp_path):
    study = random_study()
    write_dicom_study(study, tmp_path / "a" / "b", layout="per-phase")
    (tmp_path / "README.txt").write_text("not dicom")
    (tmp_path / "a" / "notes.json").write_text("{}")
    loaded = load_study(tmp_path)
    assert loaded.n_phases == 4
    assert any("ignored 2 file(s)" in n for n in loaded.notes)


def test_derived_subtraction_series_is_dropped(tmp_path):
    study = random_study()
    write_dicom_study(study, tmp_path / "orig", layout="per-phase")
    sub = random_study(n_phases=4, seed=5)
    write_dicom_study(sub, tmp_path / "sub", layout="per-phase")
    for f in (tmp_path / "sub").rglob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.ImageType = ["DERIVED", "SECONDARY", "SUBTRACTION"]
        ds.SeriesInstanceUID = pydicom.uid.generate_uid(entropy_srcs=[str(ds.SeriesInstanceUID), "sub"])
        ds.save_as(f)
    loaded = load_study(tmp_path)
    assert np.abs(loaded.data - study.data).max() <= tolerance(study)
    assert any("derived/subtraction/MIP" in n for n in loaded.notes)


def test_missing_slice_in_every_phase_is_refused(tmp_path):
    """Equal counts per position but a gap in z: SimpleITK would stretch; we refuse."""
    write_dicom_study(random_study(), tmp_path, layout="per-phase")
    for f in tmp_path.rglob("IM_0004.dcm"):
        f.unlink()
    with pytest.raises(GeometryError, match="unequal slice spacing"):
        load_study(tmp_path)


def test_missing_slice_in_one_phase_is_refused(tmp_path):
    write_dicom_study(random_study(), tmp_path, layout="per-phase")
    (tmp_path / "phase_02" / "IM_0005.dcm").unlink()
    with pytest.raises(GeometryError, match="same number of images"):
        load_study(tmp_path)


def test_duplicate_images_are_refused(tmp_path):
    write_dicom_study(random_study(), tmp_path / "one", layout="single-series")
    shutil.copytree(tmp_path / "one", tmp_path / "copy")
    with pytest.raises(GeometryError, match="duplicate"):
        load_study(tmp_path)


def test_mixed_orientation_is_refused(tmp_path):
    files = write_dicom_study(random_study(), tmp_path, layout="per-phase")
    ds = pydicom.dcmread(files[-1])
    ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    ds.save_as(files[-1])
    with pytest.raises(GeometryError, match="orientation"):
        load_study(tmp_path)


def test_unequal_matrix_between_phases_is_refused(tmp_path):
    files = write_dicom_study(random_study(), tmp_path, layout="per-phase")
    for f in files:
        if "phase_03" in str(f):
            ds = pydicom.dcmread(f)
            ds.Columns = 12
            ds.PixelData = np.zeros((32, 12), np.uint16).tobytes()
            ds.save_as(f)
    with pytest.raises(GeometryError, match="matrix"):
        load_study(tmp_path)


def test_fewer_than_three_phases_is_refused(tmp_path):
    write_dicom_study(random_study(n_phases=2), tmp_path, layout="per-phase")
    with pytest.raises(DicomError, match="at least 3 phases"):
        load_study(tmp_path)


def test_non_monotone_times_are_refused(tmp_path):
    """TemporalPositionIdentifier gives the order 1..4, TriggerTime says phase 3 came before phase 2."""
    write_dicom_study(random_study(times=(0.0, 200.0, 100.0, 300.0)), tmp_path, layout="single-series")
    with pytest.raises(TimingError, match="not increasing"):
        load_study(tmp_path)


def _strip_times(folder: Path) -> None:
    for f in folder.rglob("*.dcm"):
        ds = pydicom.dcmread(f)
        for tag in ("AcquisitionTime", "ContentTime", "SeriesTime"):
            if tag in ds:
                delattr(ds, tag)
        ds.save_as(f)


def test_no_timing_tag_needs_user_times(tmp_path):
    """Phases are still ordered (SeriesNumber) but no tag gives times: never invent them."""
    study = random_study()
    write_dicom_study(study, tmp_path, layout="per-phase")
    _strip_times(tmp_path)
    with pytest.raises(TimingError, match="no acquisition times"):
        load_study(tmp_path)
    loaded = load_study(tmp_path, phase_times_s=[0, 60, 120, 180])
    assert loaded.timing_source == "user" and loaded.phase_times_s == (0.0, 60.0, 120.0, 180.0)
    assert np.abs(loaded.data - study.data).max() <= tolerance(study)


def test_user_times_override_and_are_validated(tmp_path):
    write_dicom_study(random_study(), tmp_path, layout="single-series")
    assert load_study(tmp_path, phase_times_s=[30, 90, 150, 210]).phase_times_s == (0.0, 60.0, 120.0, 180.0)
    with pytest.raises(TimingError, match="3 phase time"):
        load_study(tmp_path, phase_times_s=[0, 60, 120])
    with pytest.raises(TimingError, match="increase"):
        load_study(tmp_path, phase_times_s=[0, 60, 60, 120])


def test_parse_dicom_time():
    """Hand-computed: 09:30:15.5 = 9*3600 + 30*60 + 15.5 s; colon form (ACR-NEMA) is accepted."""
    assert parse_dicom_time("093015.5") == pytest.approx(34215.5)
    assert parse_dicom_time("09:30:15") == pytest.approx(34215.0)
    assert parse_dicom_time("") is None
    assert parse_dicom_time("000001", "20240102") - parse_dicom_time("235959", "20240101") == pytest.approx(2.0)


def test_missing_folder_and_empty_folder(tmp_path):
    with pytest.raises(TnbcError, match="does not exist"):
        load_study(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DicomError, match="empty"):
        load_study(tmp_path / "empty")


# ---- real files -------------------------------------------------------------------------------------------

def test_every_edge_case_file_loads_or_raises_typed_error():
    folder = shared_data("dicom_edge_cases")
    sources = sorted(folder.iterdir()) + [folder]
    for src in sources:
        try:
            load_study(src)
        except TnbcError as err:
            assert str(err).strip()
        # anything else propagates and fails the test


def test_single_2d_image_is_not_a_dce_study():
    with pytest.raises(DicomError, match="at least 3 phases"):
        load_study(shared_data("dicom_edge_cases", "pydicom_MR_small.dcm"))


def test_undecodable_pixels_name_the_transfer_syntax():
    """MR_truncated.dcm: pixel data shorter than declared (pydicom's own test says it must raise)."""
    path = shared_data("dicom_edge_cases", "pydicom_MR_truncated.dcm")
    with pytest.raises(DicomError, match=r"64 x 64 pixels .* of pixel data, but the file holds only"):
        read_headers_file(path)  # the header pass already compares the declared size with the file
    import pydicom

    from tnbc_desktop.core.io.dicom_header import headers_from_dataset
    headers = headers_from_dataset(pydicom.dcmread(path, stop_before_pixels=True), path)
    with pytest.raises(DicomError, match="transfer syntax Explicit VR Little Endian"):
        read_slice_pixels(headers)


def test_encodings_decode_to_the_same_pixels():
    """MR_small in implicit / big-endian / RLE / JPEG-LS / JPEG2000-lossless encodings are the same image
    (pydicom's test-file README); all lossless decodings must agree exactly."""
    names = ["pydicom_MR_small.dcm", "pydicom_MR_small_implicit.dcm", "pydicom_MR_small_bigendian.dcm",
             "pydicom_MR_small_RLE.dcm", "pydicom_MR_small_jpeg_ls_lossless.dcm"]
    arrays = [read_slice_pixels(read_headers_file(shared_data("dicom_edge_cases", n)))[0] for n in names]
    for a in arrays[1:]:
        np.testing.assert_array_equal(a, arrays[0])


def test_gzip_file_is_explained():
    with pytest.raises(DicomError, match="gzip"):
        load_study(shared_data("dicom_edge_cases", "pydicom_zipMR.gz"))


def test_enhanced_file_without_functional_groups_is_refused():
    """pydicom-data's emri_small has been stripped of its functional groups: positions are unknown."""
    with pytest.raises(DicomError, match="functional groups"):
        load_study(shared_data("dicom_edge_cases", "pydicomdata_emri_small.dcm"))


def test_qiba_dro_v6_loads_with_first_frame_at_time_zero():
    """QIBA DCE DRO v6 (1321 frames of one slice). Tags seen: TriggerTime absent on frame 1 (InstanceNumber 1),
    present on frames 2..1321 as 500, 1000, ..., 660000 ms; AcquisitionTime, ContentTime and SeriesTime are
    identical on all frames, so TriggerTime is the only discriminating tag. The frames with TriggerTime are
    evenly spaced by 500 ms starting at 500 ms, and the DRO's documentation (PROVENANCE: 0.5 s apart, 660 s in
    all) agrees, so the one frame lacking it, the first by InstanceNumber, is the time-0 reference. The loader
    applies this rule only in exactly that situation and says so in a note."""
    study = load_study(shared_data("qiba_dce_dro_v6", "DICOM"))
    assert study.data.shape == (1321, 1, 80, 50)
    times = np.asarray(study.phase_times_s)
    np.testing.assert_allclose(times, 0.5 * np.arange(1321), atol=1e-9)
    assert study.timing_source == "TriggerTime"
    assert any("missing on the first image" in n for n in study.notes)
    assert study.spacing_mm == (5.0, 1.0, 1.0)  # single slice: z from SliceThickness (5 mm)
