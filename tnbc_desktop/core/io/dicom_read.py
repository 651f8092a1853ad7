"""Find DICOM image files and read their headers (no pixels) into :class:`SliceHeader` records.

Anything unreadable ends in :class:`DicomError` naming the file and the problem. Pixels are read later, once,
by :func:`tnbc_desktop.core.io.dicom_pixels.read_slice_pixels`.

Speed: a classic single-frame image in a little-endian transfer syntax (nearly every file of a scanner export)
has its header read by the fast route of :mod:`tnbc_desktop.core.io.dicom_raw_header` (an element walk that
converts only the values asked for, about a fifth of pydicom's cost); every other file, and every file that
route declines, is read by pydicom. Both routes feed one extraction
(:func:`~tnbc_desktop.core.io.dicom_header.headers_from_dataset`) and give equal headers
(tests/test_dicom_raw_header.py). In a folder scan, a derived image (subtraction, MIP, ADC...; never a DCE
phase) is read only as far as the series table needs; a file the user names is always read in full. The
header pass also notes where an uncompressed little-endian greyscale image keeps its pixels
(:class:`~tnbc_desktop.core.io.dicom_pixel_location.PixelLocation`), so the pixel pass reads just those bytes
with numpy in a few threads; anything else (compressed, big endian, multi-frame, BitsStored < BitsAllocated,
odd lengths) is decoded by pydicom; both give the same values (tests/test_speed_equivalence_dicom.py).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from tnbc_desktop.core.io.dicom_acquisition import dicom_int
from tnbc_desktop.core.io.dicom_header import SliceHeader, headers_from_dataset, image_type_of, is_derived_image
from tnbc_desktop.core.io.dicom_pixel_location import PixelLocation, native_pixel_location, pixel_location_at
from tnbc_desktop.core.io.dicom_raw_dataset import RawDataset
from tnbc_desktop.core.io.dicom_raw_header import FastRouteDeclined, read_raw_header
from tnbc_desktop.core.io.limits import check_dicom_declared_pixels
from tnbc_desktop.core.io.safe_files import open_regular, special_file_problem
from tnbc_desktop.core.io.sanity import check_slice_header
from tnbc_desktop.errors import CancelledError, DicomError
from tnbc_desktop.logsafe import get_logger

log = get_logger(__name__)

PROGRESS_EVERY = 64  # files between two progress reports / cancel checks of the header scan
#: read classic images' headers by the fast route where it applies (tests turn it off to compare both routes)
FAST_HEADERS = True


def list_candidate_files(folder: Path) -> list[Path]:
    """Every regular file below ``folder`` (any suffix, nested folders), sorted; hidden files skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in sorted(files) if not f.startswith("."))
    return found


def _format_hint(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError:
        return ""
    if magic[:2] == b"\x1f\x8b":
        return " (it is gzip-compressed: unpack it first)"
    if magic[:4] == b"PK\x03\x04":
        return " (it is a ZIP archive: unpack it first)"
    return ""


def _read_header_dataset(path: Path, force: bool, brief: bool):
    """(dataset read with ``stop_before_pixels``, :class:`PixelLocation` or None). Reading from our own file
    handle is what ``dcmread(path)`` does; the handle is then left at the PixelData element, whose place we
    keep so the pixel pass can read those bytes without parsing the header again. ``brief``: a derived image
    gets no pixel checks (it is never read as a phase)."""
    with open_regular(path, DicomError) as handle:
        ds = pydicom.dcmread(handle, stop_before_pixels=True, force=force)
        if brief and _is_classic_derived(ds):
            return ds, None
        size = os.fstat(handle.fileno()).st_size
        check_dicom_declared_pixels(ds, size - handle.tell(), path)
        return ds, native_pixel_location(ds, handle, size)


def _is_classic_derived(ds) -> bool:
    """A single-frame image of a derived kind (an enhanced file's frames are judged one by one)."""
    try:
        return ("Rows" in ds and "PerFrameFunctionalGroupsSequence" not in ds
                and dicom_int(ds.get("NumberOfFrames"), 1) == 1 and is_derived_image(image_type_of(ds)))
    except FastRouteDeclined:
        raise
    except Exception:  # noqa: BLE001 - a malformed header: the full read names the problem
        return False


def _read_raw_dataset(path: Path, brief: bool):
    """(dataset, :class:`PixelLocation` or None) by the fast route, or None where pydicom must read the file
    (see :mod:`tnbc_desktop.core.io.dicom_raw_header`)."""
    raw = read_raw_header(path)
    if raw is None:
        return None
    ds = RawDataset(raw)
    if brief and _is_classic_derived(ds):
        return ds, None
    if raw.pixel_start is None:
        check_dicom_declared_pixels(ds, 0, path)
        return ds, None
    check_dicom_declared_pixels(ds, raw.file_size - raw.pixel_start, path)
    head = raw.data[raw.pixel_start:raw.pixel_start + (8 if raw.implicit else 12)]
    return ds, pixel_location_at(ds, bytes(head), raw.pixel_start, raw.file_size)


def read_headers_file(path: Path, strict: bool = True) -> list[SliceHeader] | None:
    """Headers of one file. ``strict=False`` (folder scan): a file that is not DICOM returns None (ignored);
    ``strict=True`` (a file the user named): it raises :class:`DicomError`. A FIFO, device or socket is never
    opened (ignored in a folder). A header declaring more pixels than its file holds or than memory allows,
    or impossible geometry or rescale values, is refused in both modes: that image would be part of the study
    (a derived image in a folder scan excepted: it never is)."""
    brief = not strict
    if FAST_HEADERS:  # it opens regular files only (a FIFO or device is declined, then refused below)
        try:
            fast = _read_raw_dataset(path, brief)
            if fast is not None:
                return _headers_of(*fast, path, strict)
        except FastRouteDeclined:
            pass  # a value the walk does not convert as pydicom would: pydicom reads the file
    special = special_file_problem(path)
    if special is not None:
        if strict:
            raise DicomError(special, path)
        return None
    got = _pydicom_dataset(path, strict, brief)
    return None if got is None else _headers_of(*got, path, strict)


def _pydicom_dataset(path: Path, strict: bool, brief: bool):
    """(dataset, pixel location) read by pydicom, or None for a file to ignore in a folder scan."""
    try:
        return _read_header_dataset(path, force=False, brief=brief)
    except InvalidDicomError:
        try:  # no preamble / no file meta: accept only if it really looks like an image
            ds, pixels = _read_header_dataset(path, force=True, brief=brief)
            if "SOPClassUID" in ds or "Rows" in ds:
                return ds, pixels
        except DicomError:
            raise
        except Exception:  # noqa: BLE001 - not DICOM at all: said below
            pass
        if strict:
            raise DicomError("is not a DICOM file" + _format_hint(path), path) from None
        return None
    except FileNotFoundError:
        raise DicomError("does not exist", path) from None
    except IsADirectoryError:
        raise DicomError("is a folder, not a file", path) from None
    except PermissionError:
        raise DicomError("cannot be opened (permission denied)", path) from None
    except DicomError:
        raise
    except Exception as exc:
        if strict:
            raise DicomError(f"cannot be read as DICOM ({type(exc).__name__}: {exc})", path) from None
        return None


def _headers_of(ds, pixels: PixelLocation | None, path: Path, strict: bool) -> list[SliceHeader] | None:
    if len(ds) == 0:  # pydicom returns an empty dataset for some truncated files
        if strict:
            raise DicomError("holds no DICOM elements (empty or truncated file)", path)
        return None
    if "Rows" not in ds and not strict:
        return None  # a non-image object (report, RT structure...) in a folder: ignore
    try:
        headers = headers_from_dataset(ds, path, pixels, brief_derived=not strict)
    except DicomError:
        if strict:
            raise
        log.info("ignoring an unusable DICOM object in the folder")
        return None
    for h in headers:
        check_slice_header(h)
    return headers


def scan_headers(files: list[Path], strict: bool, progress=None, cancel=None) -> tuple[list[SliceHeader], int]:
    """Headers of all images in ``files``; returns (headers, number of files ignored). ``progress(step,
    fraction)`` hears how many files are read (every :data:`PROGRESS_EVERY` files); ``cancel.is_set()`` stops
    the scan with :class:`~tnbc_desktop.errors.CancelledError`."""
    headers, ignored = [], 0
    n = len(files)
    with warnings.catch_warnings():  # pydicom warns on invalid values; the checks below decide
        warnings.simplefilter("ignore")
        for i, f in enumerate(files):
            if i % PROGRESS_EVERY == 0:
                if cancel is not None and cancel.is_set():
                    raise CancelledError("reading the headers was cancelled by the user")
                if progress is not None and n > PROGRESS_EVERY:
                    progress(f"reading headers: {i:,} of {n:,} files", i / n)
            got = read_headers_file(f, strict=strict)
            if got is None:
                ignored += 1
            else:
                headers.extend(got)
    return headers, ignored
