"""Find DICOM image files and read their headers (no pixels) into small frozen records.

One :class:`SliceHeader` per 2D image: a classic single-frame file gives one, an enhanced multi-frame MR file
gives one per frame (``frame`` = 0-based frame index). Pixels are read later, once, by
:func:`tnbc_desktop.core.io.dicom_pixels.read_slice_pixels`. Anything unreadable ends in :class:`DicomError`
naming the file and the problem.

Speed: the header pass notes where an uncompressed little-endian greyscale image keeps its pixels
(:class:`PixelLocation`), so the pixel pass reads just those bytes with numpy (no second header parse, no
pydicom decode) in a few threads (file reads and numpy casts release the GIL), straight into the caller's
float32 array when one is given. Anything else (compressed, big endian, multi-frame, BitsStored <
BitsAllocated, odd lengths) goes through pydicom exactly as before; both give the same values
(tests/test_speed_equivalence_dicom.py).
"""
from __future__ import annotations

import datetime as _dt
import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from tnbc_desktop.core.io.dicom_acquisition import (AcquisitionFacts, classic_facts, dicom_float,
                                                    enhanced_frame_facts)
from tnbc_desktop.core.io.limits import check_dicom_declared_pixels
from tnbc_desktop.core.io.safe_files import open_regular, special_file_problem
from tnbc_desktop.core.io.sanity import check_slice_header
from tnbc_desktop.errors import DicomError
from tnbc_desktop.logsafe import get_logger

log = get_logger(__name__)

# tags whose value is a time of day; paired with their date tag for crossing midnight
TIME_TAGS = (("AcquisitionTime", "AcquisitionDate"), ("ContentTime", "ContentDate"), ("SeriesTime", "SeriesDate"))
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
_IDENTITY_TAGS = ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "AccessionNumber", "InstitutionName",
                  "PatientSpeciesDescription", "Laterality", "ImageLaterality")


# Transfer syntaxes whose pixel data are stored raw, little endian, at a fixed place in the file
NATIVE_LITTLE_ENDIAN = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")
_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010) little endian


@dataclass(frozen=True)
class PixelLocation:
    """Where a native (uncompressed, little-endian, single-frame, greyscale) image keeps its pixels: byte
    ``offset`` of the PixelData value in the file and the numpy ``dtype`` of one pixel ('<u2', '<i2', 'u1',
    'i1'). Only set when reading those bytes gives exactly what pydicom's ``pixel_array`` gives."""

    offset: int
    dtype: str


@dataclass(frozen=True)
class SliceHeader:
    """Header facts of one 2D image. Times are seconds (TriggerTime converted from ms; clock times as seconds
    since midnight of their date, or of day 0 when the date is missing); None when the tag is absent."""

    path: str
    frame: int | None
    series_uid: str
    series_number: int | None
    series_description: str
    image_type: tuple[str, ...]
    position: tuple[float, float, float] | None  # ImagePositionPatient (x, y, z) LPS mm
    orientation: tuple[float, ...] | None  # ImageOrientationPatient (row xyz, column xyz)
    pixel_spacing: tuple[float, float] | None  # (between rows, between columns) mm
    rows: int
    columns: int
    slice_thickness: float | None
    spacing_between_slices: float | None
    temporal_position: int | None
    instance_number: int | None
    times_s: dict = field(default_factory=dict)  # tag name -> seconds (only tags present)
    slope: float = 1.0
    intercept: float = 0.0
    transfer_syntax: str = ""
    study_uid: str = ""
    identity: tuple[str, ...] = ()  # values of _IDENTITY_TAGS in order
    sop_instance_uid: str = ""
    pixels: PixelLocation | None = None  # fast path for the pixel pass (None: decode with pydicom)
    acq: AcquisitionFacts = AcquisitionFacts()  # sequence facts for the exam scan's series roles

    @property
    def label(self) -> str:
        return self.path if self.frame is None else f"{self.path} (frame {self.frame + 1})"


def list_candidate_files(folder: Path) -> list[Path]:
    """Every regular file below ``folder`` (any suffix, nested folders), sorted; hidden files skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in sorted(files) if not f.startswith("."))
    return found


def _int(value, default=None):
    f = dicom_float(value)
    return default if f is None else int(round(f))


def _floats(value, n: int) -> tuple[float, ...] | None:
    try:
        vals = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return vals if len(vals) == n else None


def parse_dicom_time(tm, da=None) -> float | None:
    """DICOM TM 'HHMMSS.FFFFFF' (or 'HH:MM:SS') plus optional DA 'YYYYMMDD' -> seconds; None if unparsable."""
    if tm is None:
        return None
    text = str(tm).strip().replace(":", "")
    if not text:
        return None
    try:
        hh = int(text[0:2])
        mm = int(text[2:4]) if len(text) >= 4 else 0
        ss = float(text[4:]) if len(text) > 4 else 0.0
    except ValueError:
        return None
    seconds = hh * 3600 + mm * 60 + ss
    day = 0
    if da:
        try:
            day = _dt.date(int(str(da)[0:4]), int(str(da)[4:6]), int(str(da)[6:8])).toordinal()
        except (ValueError, TypeError):
            day = 0
    return day * 86400.0 + seconds


def parse_dicom_datetime(dt) -> float | None:
    """DICOM DT 'YYYYMMDDHHMMSS.FFFFFF' -> seconds (day ordinal * 86400 + time of day)."""
    text = str(dt or "").strip()
    if len(text) < 8:
        return None
    return parse_dicom_time(text[8:] or "000000", text[:8])


def _first(seq_owner, name):
    seq = seq_owner.get(name) if seq_owner is not None else None
    return seq[0] if seq else None


def _classic_times(ds) -> dict:
    times = {}
    trig = dicom_float(ds.get("TriggerTime"))
    if trig is not None:
        times["TriggerTime"] = trig / 1000.0
    for tm_tag, da_tag in TIME_TAGS:
        t = parse_dicom_time(ds.get(tm_tag), ds.get(da_tag))
        if t is not None:
            times[tm_tag] = t
    return times


def _common(ds, path: Path) -> dict:
    series_uid = str(ds.get("SeriesInstanceUID", "") or "")
    image_type = tuple(str(v).upper() for v in (ds.get("ImageType") or ()))
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    return dict(
        path=str(path), series_uid=series_uid, series_number=_int(ds.get("SeriesNumber")),
        series_description=str(ds.get("SeriesDescription", "") or ""), image_type=image_type,
        rows=int(ds.Rows), columns=int(ds.Columns), slice_thickness=dicom_float(ds.get("SliceThickness")),
        spacing_between_slices=dicom_float(ds.get("SpacingBetweenSlices")),
        instance_number=_int(ds.get("InstanceNumber")),
        transfer_syntax=ts, study_uid=str(ds.get("StudyInstanceUID", "") or ""),
        sop_instance_uid=str(ds.get("SOPInstanceUID", "") or ""),
        identity=tuple(str(ds.get(t, "") or "") for t in _IDENTITY_TAGS),
    )


def _enhanced_headers(ds, path: Path) -> list[SliceHeader]:
    """One header per frame of an enhanced multi-frame image (functional groups)."""
    shared = _first(ds, "SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    n_frames = _int(ds.get("NumberOfFrames"), 1)
    if not per_frame or len(per_frame) != n_frames:
        raise DicomError("enhanced multi-frame image without per-frame functional groups: slice positions and "
                         "phases are unknown", path)
    common = _common(ds, path)
    out = []
    for i, fg in enumerate(per_frame):
        def item(name):
            return _first(fg, name) or _first(shared, name)

        plane_pos, plane_ori, measures = item("PlanePositionSequence"), item("PlaneOrientationSequence"), \
            item("PixelMeasuresSequence")
        content, transform = item("FrameContentSequence"), item("PixelValueTransformationSequence")
        times = {}
        if content is not None:
            t = parse_dicom_datetime(content.get("FrameAcquisitionDateTime"))
            if t is not None:
                times["FrameAcquisitionDateTime"] = t
        out.append(SliceHeader(
            frame=i,
            position=_floats(plane_pos.get("ImagePositionPatient"), 3) if plane_pos else None,
            orientation=_floats(plane_ori.get("ImageOrientationPatient"), 6) if plane_ori else None,
            pixel_spacing=_floats(measures.get("PixelSpacing"), 2) if measures else None,
            temporal_position=_int(content.get("TemporalPositionIndex")) if content else None,
            times_s=times,
            slope=dicom_float(transform.get("RescaleSlope"), 1.0) if transform else 1.0,
            intercept=dicom_float(transform.get("RescaleIntercept"), 0.0) if transform else 0.0,
            acq=enhanced_frame_facts(ds, item),
            **{**common, "slice_thickness": dicom_float(measures.get("SliceThickness")) if measures else None},
        ))
    return out


def headers_from_dataset(ds, path: Path, pixels: PixelLocation | None = None) -> list[SliceHeader]:
    """Headers of the images in one dataset (read with ``stop_before_pixels``); ``pixels``: where a classic
    single-frame image keeps its raw pixels (see :func:`native_pixel_location`), kept on its header."""
    if "Rows" not in ds or "Columns" not in ds:
        raise DicomError("is not an image (no Rows/Columns); the file may be truncated or not a DICOM image", path)
    try:
        if str(ds.get("SOPClassUID", "")) == ENHANCED_MR or "PerFrameFunctionalGroupsSequence" in ds:
            return _enhanced_headers(ds, path)
        if _int(ds.get("NumberOfFrames"), 1) > 1:
            raise DicomError("multi-frame image without functional groups is not supported as a DCE phase", path)
        return [SliceHeader(
            frame=None, position=_floats(ds.get("ImagePositionPatient"), 3),
            orientation=_floats(ds.get("ImageOrientationPatient"), 6),
            pixel_spacing=_floats(ds.get("PixelSpacing"), 2),
            temporal_position=_int(ds.get("TemporalPositionIdentifier")), times_s=_classic_times(ds),
            slope=dicom_float(ds.get("RescaleSlope"), 1.0), intercept=dicom_float(ds.get("RescaleIntercept"), 0.0),
            pixels=pixels, acq=classic_facts(ds), **_common(ds, path),
        )]
    except DicomError:
        raise
    except Exception as exc:  # malformed values (bad VR, wrong multiplicity...)
        raise DicomError(f"header cannot be read: {type(exc).__name__}: {exc}", path) from None


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


def _read_header_dataset(path: Path, force: bool):
    """(dataset read with ``stop_before_pixels``, :class:`PixelLocation` or None). Reading from our own file
    handle is what ``dcmread(path)`` does; the handle is then left at the PixelData element, whose place we
    keep so the pixel pass can read those bytes without parsing the header again."""
    with open_regular(path, DicomError) as handle:
        ds = pydicom.dcmread(handle, stop_before_pixels=True, force=force)
        check_dicom_declared_pixels(ds, handle, path)
        return ds, native_pixel_location(ds, handle)


def _native_dtype(ds) -> str | None:
    """numpy dtype of the raw pixels when pydicom's ``pixel_array`` would return them unchanged, else None.

    Only plain greyscale: 1 sample per pixel, MONOCHROME1/2 (pydicom does not invert MONOCHROME1), 8 or 16
    bits allocated AND stored (fewer stored bits need pydicom's masking / sign extension), one frame."""
    try:
        bits = _raw_us(ds, 0x00280100)  # BitsAllocated
        if (_raw_us(ds, 0x00280002) != 1 or bits not in (8, 16) or _raw_us(ds, 0x00280101) != bits
                or str(ds.get("PhotometricInterpretation", "")).strip() not in ("MONOCHROME1", "MONOCHROME2")
                or _int(ds.get("NumberOfFrames"), 1) != 1 or "PerFrameFunctionalGroupsSequence" in ds
                or str(ds.get("SOPClassUID", "")) == ENHANCED_MR):
            return None
        signed = {0: False, 1: True}[_raw_us(ds, 0x00280103)]  # PixelRepresentation
    except (TypeError, ValueError, KeyError):
        return None
    return ("<" if bits == 16 else "") + ("i" if signed else "u") + str(bits // 8)


def _raw_us(ds, tag: int) -> int | None:
    """A single US value of a little-endian dataset read from the element's bytes, skipping pydicom's value
    conversion (~25 us per element, a tenth of the header pass for these four tags); None if absent/not VM 1."""
    elem = ds.get_item(tag)
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        return struct.unpack("<H", value)[0] if len(value) == 2 else None
    return value if isinstance(value, int) else None


def native_pixel_location(ds, handle) -> PixelLocation | None:
    """Where the pixels of ``ds`` (just read with ``stop_before_pixels`` from ``handle``, which pydicom leaves at
    the start of the PixelData element) are, when reading them raw equals pydicom's decoding; else None.

    Checked: transfer syntax implicit / explicit VR little endian and the dataset really encoded so; the
    element is (7FE0,0010) with VR OB/OW (explicit) and a defined length of exactly rows x columns x bytes;
    the file holds all of it (a short file goes to pydicom, which names the problem)."""
    try:
        ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
        if ts not in NATIVE_LITTLE_ENDIAN:
            return None
        implicit = ts == NATIVE_LITTLE_ENDIAN[0]
        if tuple(getattr(ds, "original_encoding", (None, None))) != (implicit, True):
            return None
        dtype = _native_dtype(ds)
        if dtype is None:
            return None
        expected = int(ds.Rows) * int(ds.Columns) * np.dtype(dtype).itemsize
        start = handle.tell()
        head = handle.read(8 if implicit else 12)
        if len(head) != (8 if implicit else 12) or head[:4] != _PIXEL_DATA_TAG:
            return None
        if implicit:
            (length,) = struct.unpack("<I", head[4:8])
        else:
            if head[4:6] not in (b"OB", b"OW"):
                return None
            (length,) = struct.unpack("<I", head[8:12])
        offset = start + len(head)
        if expected <= 0 or length != expected or os.fstat(handle.fileno()).st_size < offset + expected:
            return None
        return PixelLocation(offset=offset, dtype=dtype)
    except Exception:  # noqa: BLE001 - anything unusual: pydicom decodes this file in the pixel pass
        return None


def read_headers_file(path: Path, strict: bool = True) -> list[SliceHeader] | None:
    """Headers of one file. ``strict=False`` (folder scan): a file that is not DICOM returns None (ignored);
    ``strict=True`` (a file the user named): it raises :class:`DicomError`. A FIFO, device or socket is never
    opened (ignored in a folder). A header declaring more pixels than its file holds or than memory allows,
    or impossible geometry or rescale values, is refused in both modes: that image would be part of the study."""
    pixels = None
    special = special_file_problem(path)
    if special is not None:
        if strict:
            raise DicomError(special, path)
        return None
    try:
        ds, pixels = _read_header_dataset(path, force=False)
    except InvalidDicomError:
        try:  # no preamble / no file meta: accept only if it really looks like an image
            ds, pixels = _read_header_dataset(path, force=True)
            if "SOPClassUID" not in ds and "Rows" not in ds:
                ds = None
        except DicomError:
            raise
        except Exception:
            ds = None
        if ds is None:
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
    if len(ds) == 0:  # pydicom returns an empty dataset for some truncated files
        if strict:
            raise DicomError("holds no DICOM elements (empty or truncated file)", path)
        return None
    if "Rows" not in ds and not strict:
        return None  # a non-image object (report, RT structure...) in a folder: ignore
    try:
        headers = headers_from_dataset(ds, path, pixels)
    except DicomError:
        if strict:
            raise
        log.info("ignoring an unusable DICOM object in the folder")
        return None
    for h in headers:
        check_slice_header(h)
    return headers


def scan_headers(files: list[Path], strict: bool) -> tuple[list[SliceHeader], int]:
    """Headers of all images in ``files``; returns (headers, number of files ignored)."""
    headers, ignored = [], 0
    with warnings.catch_warnings():  # pydicom warns on invalid values; the checks below decide
        warnings.simplefilter("ignore")
        for f in files:
            got = read_headers_file(f, strict=strict)
            if got is None:
                ignored += 1
            else:
                headers.extend(got)
    return headers, ignored
