"""The fast header route (an element walk over the bytes before the pixels) gives exactly pydicom's headers.

Oracle: the same ``read_headers_file`` with the fast route switched off (``dicom_read.FAST_HEADERS = False``),
i.e. pydicom's ``dcmread(stop_before_pixels=True)`` feeding the one extraction. For every file: the same list
of :class:`SliceHeader` (every field, pixel location included), or the same error. Files: every DICOM file of
the shared data (real GE / Siemens / UIH exam exports, the DICOM edge cases, the QIBA DRO, I-SPY2 SEGs), every
synthetic layout and a whole synthetic exam, and files written here with what the walk must get right or
decline: implicit VR with private tags, UN written for public tags, nested undefined-length sequences,
character sets, truncation, impossible lengths, big endian, deflate, no preamble, a single-valued ImageType.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import (DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian, generate_uid)

from tests.builders import apply, random_study
from tests.helpers import shared_data
from tnbc_desktop.core.io import dicom_read
from tnbc_desktop.core.io.dicom_raw_header import read_raw_header
from tnbc_desktop.core.io.dicom_read import list_candidate_files, read_headers_file
from tnbc_desktop.core.io.dicom_write import write_dicom_study
from tnbc_desktop.core.io.exam_write import write_exam
from tnbc_desktop.errors import DicomError


def _outcome(path: Path, fast: bool, strict: bool):
    old = dicom_read.FAST_HEADERS
    dicom_read.FAST_HEADERS = fast
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "headers", read_headers_file(path, strict=strict)
    except DicomError as exc:
        return "error", str(exc)
    finally:
        dicom_read.FAST_HEADERS = old


def assert_same_on_both_routes(files, strict: bool = False) -> int:
    """Both routes agree on every file; returns how many files the fast route took."""
    taken = 0
    for f in files:
        fast, slow = _outcome(f, True, strict), _outcome(f, False, strict)
        assert fast == slow, f"{f}: fast route {str(fast)[:400]} != pydicom {str(slow)[:400]}"
        taken += read_raw_header(f) is not None
    return taken


@pytest.mark.parametrize("folder", ["vendor_exams", "dicom_edge_cases", "qiba_dce_dro_v6", "ispy2_masks"])
def test_shared_dicom_files_read_the_same_on_both_routes(folder):
    files = list_candidate_files(shared_data(folder))
    taken = assert_same_on_both_routes(files)
    if folder == "vendor_exams":  # classic single-frame exports: the walk must actually read them
        assert taken >= 100, taken
    if folder == "qiba_dce_dro_v6":  # explicit VR big endian: pydicom's
        assert taken == 0


@pytest.mark.parametrize("layout", ["single-series", "per-phase", "pre-post", "enhanced"])
def test_synthetic_layouts_read_the_same_on_both_routes(tmp_path, layout):
    write_dicom_study(random_study(shape=(4, 16, 12)), tmp_path, layout=layout)
    files = list_candidate_files(tmp_path)
    taken = assert_same_on_both_routes(files, strict=True)
    assert taken == (0 if layout == "enhanced" else len(files))


def test_a_whole_synthetic_exam_reads_the_same_on_both_routes(tmp_path):
    exam = write_exam(random_study(shape=(6, 16, 12)), tmp_path / "exam", dce_layout="single-series",
                      other_slices=4, all_subtractions=True)
    files = list_candidate_files(exam.folder)
    assert assert_same_on_both_routes(files) == len(files)


def _image(path: Path, ts=ExplicitVRLittleEndian, preamble=True, edit=None) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ts
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128 if preamble else None)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.Modality = "1.2.3.4", "1.2.3", "MR"
    ds.SeriesNumber, ds.SeriesDescription, ds.ImageType = 7, "Ax VIBE dyn ", ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.PatientName, ds.PatientID = "Doe^Jane", "P-1"
    ds.ImagePositionPatient, ds.ImageOrientationPatient = [-10, 20.5, 3.25], [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing, ds.SliceThickness = [0.7, 0.75], "2.0 "
    ds.FlipAngle, ds.RepetitionTime, ds.EchoTime = 12, 4.5, 2.1
    ds.AcquisitionTime, ds.AcquisitionDate, ds.TriggerTime = "093015.5", "20240102", 60000
    ds.TemporalPositionIdentifier, ds.AcquisitionNumber = 2, 3
    ds.RescaleSlope, ds.RescaleIntercept = "1.5", "-2"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 8, 6, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.arange(48, dtype="<u2").tobytes()
    if edit is not None:
        edit(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        big = ts == ExplicitVRBigEndian
        if big:
            ds.PixelData = np.arange(48, dtype=">u2").tobytes()
        pydicom.dcmwrite(path, ds, enforce_file_format=preamble and not big, little_endian=not big,
                         implicit_vr=ts == ImplicitVRLittleEndian, force_encoding=big)
    return path


def _private_b_values(ds):
    ds.private_block(0x0043, "GEMS_PARM_01", create=True).add_new(0x39, "IS", ["1000000800", "8", "0", "0"])
    ds.private_block(0x0019, "SIEMENS MR HEADER", create=True).add_new(0x0C, "IS", "800")


def _nested_sequences(ds):
    inner = Dataset()
    inner.ReferencedSOPInstanceUID = "1.2.3.4.5"
    inner.ReferencedFrameNumber = 1
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    item.ReferencedImageSequence = [inner, inner]
    ds.ReferencedImageSequence = [item]
    ds.SourceImageSequence = []


def _utf8(ds):
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Zoë"
    ds.SeriesDescription = "Dyn T1 fs – post"


def _latin1(ds):
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Gérard^Ana"


def _iso2022(ds):
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.PatientName = "Yamada^Tarou"


def _single_image_type(ds):
    ds.ImageType = "DERIVED"


def _empty_values(ds):
    ds.FlipAngle, ds.SeriesNumber, ds.PixelSpacing = None, None, None
    ds.ImageType = ["", "PRIMARY"]


CASES = {
    "explicit": dict(),
    "implicit": dict(ts=ImplicitVRLittleEndian),
    "implicit_private_b_values": dict(ts=ImplicitVRLittleEndian, edit=_private_b_values),
    "explicit_private_b_values": dict(edit=_private_b_values),
    "nested_sequences_explicit": dict(edit=_nested_sequences),
    "nested_sequences_implicit": dict(ts=ImplicitVRLittleEndian, edit=_nested_sequences),
    "utf8": dict(edit=_utf8),
    "latin1": dict(edit=_latin1),
    "iso2022": dict(edit=_iso2022),
    "single_image_type": dict(edit=_single_image_type),
    "empty_values": dict(edit=_empty_values),
    "big_endian": dict(ts=ExplicitVRBigEndian),
    "deflated": dict(ts=DeflatedExplicitVRLittleEndian),
    "no_preamble": dict(preamble=False),
}
DECLINED = {"iso2022", "big_endian", "deflated", "no_preamble"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_written_cases_read_the_same_or_are_left_to_pydicom(tmp_path, case):
    path = _image(tmp_path / f"{case}.dcm", **CASES[case])
    assert assert_same_on_both_routes([path], strict=True) == (0 if case in DECLINED else 1)
    if case in ("implicit_private_b_values", "explicit_private_b_values"):
        assert read_headers_file(path)[0].acq.b_value == 800.0
    if case == "utf8":
        assert read_headers_file(path)[0].series_description == "Dyn T1 fs – post"
    if case == "single_image_type":  # one value, not its letters
        assert read_headers_file(path)[0].image_type == ("DERIVED",)


def _public_tag_written_as_un(path: Path) -> None:
    """Rewrite FlipAngle (0018,1314) DS '12.0' as explicit VR UN, as some converters do."""
    data = path.read_bytes()
    old = b"\x18\x00\x14\x13DS\x04\x0012.0"
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, b"\x18\x00\x14\x13UN\x00\x00\x04\x00\x00\x0012.0"))


def test_un_written_for_a_public_tag_is_read_with_its_dictionary_vr(tmp_path):
    path = _image(tmp_path / "un.dcm")
    _public_tag_written_as_un(path)
    assert assert_same_on_both_routes([path], strict=True) == 1
    assert read_headers_file(path)[0].acq.flip_angle == 12.0


@pytest.mark.parametrize("cut", [140, 300, 500, -60])
def test_a_truncated_file_gets_pydicoms_answer(tmp_path, cut):
    path = _image(tmp_path / "full.dcm")
    data = path.read_bytes()
    short = tmp_path / "short.dcm"
    short.write_bytes(data[:cut])
    for strict in (True, False):
        assert_same_on_both_routes([short], strict=strict)


def test_an_element_longer_than_its_file_is_left_to_pydicom(tmp_path):
    path = _image(tmp_path / "long.dcm")
    data = bytearray(path.read_bytes())
    at = data.find(b"\x08\x00\x3e\x10LO")  # SeriesDescription
    data[at + 6:at + 8] = (0xFFF0).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    assert read_raw_header(path) is None
    assert_same_on_both_routes([path], strict=True)


def test_fast_route_reads_pydicom_values_of_a_real_header(tmp_path):
    """A direct check against pydicom's values, not only against the pydicom route of the same extraction."""
    path = _image(tmp_path / "img.dcm", ts=ImplicitVRLittleEndian, edit=_private_b_values)
    header = read_headers_file(path)[0]
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert header.series_description == ds.SeriesDescription == "Ax VIBE dyn"
    assert header.position == tuple(float(v) for v in ds.ImagePositionPatient)
    assert header.pixel_spacing == (0.7, 0.75) and header.rows == 8 and header.columns == 6
    assert header.times_s["TriggerTime"] == 60.0 and header.temporal_position == 2
    assert header.slope == 1.5 and header.intercept == -2.0
    assert header.pixels is not None and header.pixels.dtype == "<u2"
    assert header.identity[:2] == ("Doe^Jane", "P-1")


def _private_b_values_of_unknown_creators(ds):
    """Implicit VR with private creators pydicom's dictionary does not know: the values arrive as UN bytes."""
    ds.private_block(0x0065, "TEST UIH-LIKE", create=True).add_new(0x09, "FD", 1000.0)
    ds.private_block(0x0043, "TEST GE-LIKE", create=True).add_new(0x39, "IS", ["1000000800", "8", "0", "0"])


@pytest.mark.parametrize("ts", [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
def test_private_b_values_as_un_bytes_are_read_as_numbers(tmp_path, ts):
    """A binary double (UIH's FD) and numeric text (GE's IS) both give their b-value, also as UN bytes; an
    8-character text is not taken for a binary double."""
    path = _image(tmp_path / "b.dcm", ts=ts, edit=_private_b_values_of_unknown_creators)
    assert assert_same_on_both_routes([path], strict=True) == 1
    assert read_headers_file(path)[0].acq.b_value == 1000.0


FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz_bases(tmp_path_factory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("fuzz")
    return [_image(folder / "a.dcm", edit=_nested_sequences).read_bytes(),
            _image(folder / "b.dcm", ts=ImplicitVRLittleEndian, edit=_private_b_values).read_bytes()]


@FUZZ
@given(data=st.data())
def test_mutated_headers_read_the_same_on_both_routes(tmp_path, fuzz_bases, data):
    """Bytes flipped, inserted, deleted or cut in the dataset: the walk gives pydicom's headers, pydicom's error,
    or declines (then pydicom reads the file) - never a different answer."""
    base = fuzz_bases[data.draw(st.integers(0, len(fuzz_bases) - 1))]
    edits = data.draw(st.lists(st.tuples(st.sampled_from(["flip", "truncate", "insert", "overwrite", "delete"]),
                                         st.integers(300, len(base) - 1), st.binary(min_size=1, max_size=8)),
                               min_size=1, max_size=3))
    path = tmp_path / "mutated.dcm"
    path.write_bytes(apply(base, edits))
    for strict in (True, False):
        assert_same_on_both_routes([path], strict=strict)


def test_an_out_of_order_tag_above_the_pixel_data_does_not_end_the_walk(tmp_path):
    """pydicom stops only at the pixel data tags themselves; a stray (7FE1,xxxx) before Rows is read on."""
    path = _image(tmp_path / "stray.dcm")
    data = path.read_bytes()
    old = b"\x18\x00\x50\x00DS"  # SliceThickness, before Rows
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, b"\xe1\x7f\x50\x00DS"))
    assert assert_same_on_both_routes([path], strict=True) == 1
    assert read_headers_file(path)[0].rows == 8


def test_an_unknown_transfer_syntax_is_left_to_pydicom(tmp_path):
    path = _image(tmp_path / "ts.dcm", edit=lambda ds: None)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.1.2.9\x00"))
    assert read_raw_header(path) is None
    assert_same_on_both_routes([path], strict=True)


def test_several_values_are_one_text_on_both_routes(tmp_path):
    def names(ds):
        ds.PatientName = ["Doe^Jane", "Roe^Ann"]
        ds.SeriesDescription = ["dyn", "fs"]

    path = _image(tmp_path / "multi.dcm", edit=names)
    assert assert_same_on_both_routes([path], strict=True) == 1
    header = read_headers_file(path)[0]
    assert header.identity[0] == "Doe^Jane\\Roe^Ann" and header.series_description == "dyn\\fs"


def test_a_derived_image_is_read_briefly_in_a_folder_scan_and_never_decoded(tmp_path):
    """A subtraction in an exam folder is read only as far as the series table needs; its pixels are refused
    rather than decoded with rescale values that were not read. A file the user names is read in full."""
    from tnbc_desktop.core.io.dicom_acquisition import AcquisitionFacts
    from tnbc_desktop.core.io.dicom_pixels import read_slice_pixels

    def subtraction(ds):
        ds.ImageType = ["DERIVED", "SECONDARY", "SUBTRACTION"]

    path = _image(tmp_path / "sub.dcm", edit=subtraction)
    brief, full = read_headers_file(path, strict=False)[0], read_headers_file(path, strict=True)[0]
    assert brief.brief and brief.acq == AcquisitionFacts() and brief.times_s == {} and brief.identity == ()
    assert (brief.series_uid, brief.position, brief.rows) == (full.series_uid, full.position, full.rows)
    assert not full.brief and full.slope == 1.5 and full.acq.flip_angle == 12.0
    with pytest.raises(DicomError, match="derived image"):
        read_slice_pixels([brief])
    assert read_slice_pixels([full])[0][0, 1] == 1.5 * 1 - 2


@pytest.mark.parametrize("old, new", [
    (b"1.0\\0.0\\0.0\\0.0\\1.0\\0.0", b"1.0\\0.0\\0.\x00\\0.0\\1.0\\0.0"),  # a NUL inside a number
    (b"1.2.3\x00", b"\x1c.2.3\x00"),  # a control character that Python calls whitespace, in a UID
    (b"Doe^Jane", b"Doe^Jan="),  # an empty trailing person-name group
], ids=["malformed-DS", "UID-whitespace", "PN-empty-group"])
def test_malformed_values_get_pydicoms_reading(tmp_path, old, new):
    """Values pydicom repairs or normalises its own way (found by mutation fuzzing): the fast route gives the
    same header, or leaves the file to pydicom."""
    path = _image(tmp_path / "odd.dcm")
    data = path.read_bytes()
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, new))
    for strict in (True, False):
        assert_same_on_both_routes([path], strict=strict)
