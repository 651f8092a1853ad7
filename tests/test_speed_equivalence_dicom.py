"""The fast DICOM pixel pass (raw little-endian reads in threads) gives exactly pydicom's values.

Oracle: pydicom itself. For every file, the image decoded by ``read_slice_pixels`` must equal, bit for bit,
``ds.pixel_array.astype(float32) * float32(RescaleSlope) + float32(RescaleIntercept)`` from a full
``pydicom.dcmread``; and the same headers with the fast path switched off (``pixels=None``, the pydicom route)
must give the same bits or the same error. Files are written here with pydicom: MONOCHROME1/2, 8/16-bit,
signed/unsigned, implicit/explicit VR little endian, big endian, BitsStored < BitsAllocated, odd lengths,
truncation; plus the shared edge-case files.
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from tests.helpers import SHARED_DATA
from tnbc_desktop.core.io.dicom_pixels import read_slice_pixels
from tnbc_desktop.core.io.dicom_read import read_headers_file
from tnbc_desktop.errors import DicomError


def write_image(path: Path, pixels: np.ndarray, *, ts=ExplicitVRLittleEndian, bits_stored=None, slope=None,
                intercept=None, photometric="MONOCHROME2") -> Path:
    """One single-frame MR image with ``pixels`` (uint8/int8/uint16/int16 [rows, columns])."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ts
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID = "1.2.3.4"
    ds.StudyInstanceUID = "1.2.3"
    ds.Modality = "MR"
    ds.ImagePositionPatient = [0, 0, 0]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.7, 0.7]
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = bits_stored or bits
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    if slope is not None:
        ds.RescaleSlope = slope
    if intercept is not None:
        ds.RescaleIntercept = intercept
    big = ts == ExplicitVRBigEndian
    ds.PixelData = pixels.astype(pixels.dtype.newbyteorder(">" if big else "<")).tobytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # big endian differs from what a new dataset would default to: pydicom needs force_encoding for it
        pydicom.dcmwrite(path, ds, enforce_file_format=not big, little_endian=not big,
                         implicit_vr=ts == ImplicitVRLittleEndian, force_encoding=big)
    return path


def pydicom_reference(path: Path) -> np.ndarray:
    ds = pydicom.dcmread(path)
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    return ds.pixel_array.astype(np.float32) * np.float32(slope) + np.float32(intercept)


def bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype == np.float32 and a.shape == b.shape and np.array_equal(a.view(np.uint32),
                                                                                         b.view(np.uint32))


def slow_route(headers):
    return [dataclasses.replace(h, pixels=None) for h in headers]


RNG = np.random.default_rng(20240746)
CASES = {  # name -> (pixels, write options, fast path expected)
    "u16_slope_intercept": (RNG.integers(0, 65535, (37, 41), dtype=np.uint16),
                            dict(slope=0.0675527207251, intercept=-12.5), True),
    "i16_signed_slope": (RNG.integers(-32768, 32767, (32, 29), dtype=np.int16),
                         dict(slope=1.7, intercept=1024.0), True),
    "i16_negative_slope_zero_intercept": (RNG.integers(-300, 300, (16, 16), dtype=np.int16),
                                          dict(slope=-0.5, intercept=0.0), True),
    "u16_implicit_vr": (RNG.integers(0, 4095, (20, 24), dtype=np.uint16), dict(ts=ImplicitVRLittleEndian), True),
    "i16_implicit_vr_slope": (RNG.integers(-2000, 2000, (8, 12), dtype=np.int16),
                              dict(ts=ImplicitVRLittleEndian, slope=2.5, intercept=-3.0), True),
    "u8": (RNG.integers(0, 255, (10, 14), dtype=np.uint8), dict(), True),
    "monochrome1": (RNG.integers(0, 4095, (12, 12), dtype=np.uint16), dict(photometric="MONOCHROME1"), True),
    "u16_12_bits_stored": (RNG.integers(0, 65535, (12, 10), dtype=np.uint16), dict(bits_stored=12), False),
    "i16_12_bits_stored": (RNG.integers(-2048, 2047, (12, 10), dtype=np.int16), dict(bits_stored=12), False),
    "u8_odd_length": (RNG.integers(0, 255, (7, 9), dtype=np.uint8), dict(), False),
    "big_endian": (RNG.integers(0, 4095, (12, 16), dtype=np.uint16), dict(ts=ExplicitVRBigEndian, slope=3.0), False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_decoded_pixels_equal_pydicom(tmp_path, name):
    pixels, opts, fast = CASES[name]
    path = write_image(tmp_path / f"{name}.dcm", pixels, **opts)
    headers = read_headers_file(path)
    assert (headers[0].pixels is not None) == fast  # the case exercises the route it is meant to
    got = read_slice_pixels(headers)[0]
    assert bits_equal(got, pydicom_reference(path))
    assert bits_equal(got, read_slice_pixels(slow_route(headers))[0])


def test_many_slices_in_threads_and_into_a_given_array(tmp_path):
    """Enough files for the thread pool; decoding into ``out`` equals the list route, in header order."""
    paths = [write_image(tmp_path / f"s{i:03d}.dcm", RNG.integers(-900, 3000, (24, 20), dtype=np.int16),
                         slope=0.25 + i / 7, intercept=float(i) - 5) for i in range(40)]
    headers = [read_headers_file(p)[0] for p in paths]
    assert all(h.pixels is not None for h in headers)
    out = np.full((40, 24, 20), np.nan, np.float32)
    views = read_slice_pixels(headers, out=out)
    listed = read_slice_pixels(slow_route(headers))
    for i, p in enumerate(paths):
        ref = pydicom_reference(p)
        assert bits_equal(out[i], ref) and bits_equal(listed[i], ref) and np.shares_memory(views[i], out)


def test_file_truncated_after_the_header_scan_fails_like_pydicom(tmp_path):
    good = write_image(tmp_path / "a.dcm", RNG.integers(0, 999, (16, 16), dtype=np.uint16))
    bad = write_image(tmp_path / "b.dcm", RNG.integers(0, 999, (16, 16), dtype=np.uint16))
    headers = [read_headers_file(good)[0], read_headers_file(bad)[0]]
    bad.write_bytes(bad.read_bytes()[:-100])  # shortened between the two passes
    with pytest.raises(DicomError) as fast_err:
        read_slice_pixels(headers)
    with pytest.raises(DicomError) as slow_err:
        read_slice_pixels(slow_route(headers))
    assert str(fast_err.value) == str(slow_err.value) and "b.dcm" in str(fast_err.value)


def test_first_problem_in_header_order_is_reported(tmp_path):
    paths = [write_image(tmp_path / f"s{i:02d}.dcm", RNG.integers(0, 99, (8, 8), dtype=np.uint16)) for i in range(12)]
    headers = [read_headers_file(p)[0] for p in paths]
    for i in (4, 9):
        paths[i].write_bytes(paths[i].read_bytes()[:-20])
    with pytest.raises(DicomError, match="s04.dcm"):
        read_slice_pixels(headers)


def test_a_header_pointing_at_a_truncated_pixel_element_is_refused_by_the_header_pass(tmp_path):
    """A file already short when scanned never reaches either pixel route: the header pass compares the
    declared pixel bytes with what the file holds and names both."""
    path = write_image(tmp_path / "short.dcm", RNG.integers(0, 999, (16, 16), dtype=np.uint16))
    path.write_bytes(path.read_bytes()[:-64])
    with pytest.raises(DicomError, match=r"short\.dcm.*512 bytes of pixel data, but the file holds only"):
        read_headers_file(path)


@pytest.mark.skipif(not (SHARED_DATA / "dicom_edge_cases").exists(), reason="shared edge-case DICOM files absent")
def test_shared_edge_cases_decode_or_fail_the_same_on_both_routes():
    seen_fast = 0
    for path in sorted((SHARED_DATA / "dicom_edge_cases").glob("*.dcm")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:  # read as a file the user names: in full (a folder scan reads a derived image briefly)
                headers = read_headers_file(path, strict=True)
            except DicomError as exc:  # a short pixel element is refused before any pixel route is chosen
                if "truncated" in str(exc):
                    assert path.name in str(exc), path.name
                continue  # not an image this reader loads (no meta, enhanced without groups...)
        seen_fast += any(h.pixels is not None for h in headers)

        def run(hs):
            try:
                with warnings.catch_warnings():  # pydicom: "excess padding removed" on MR_small_padded
                    warnings.simplefilter("ignore")
                    return read_slice_pixels(hs)
            except DicomError as exc:
                return str(exc)

        fast, slow = run(headers), run(slow_route(headers))
        if isinstance(slow, str):
            assert fast == slow, path.name
        else:
            assert len(fast) == len(slow) and all(bits_equal(a, b) for a, b in zip(fast, slow)), path.name
            if all(h.frame is None for h in headers):
                assert bits_equal(fast[0], pydicom_reference(path)), path.name
    assert seen_fast >= 2  # MR_small and its implicit-VR copy take the fast route
