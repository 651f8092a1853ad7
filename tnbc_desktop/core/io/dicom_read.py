"""Find DICOM image files and read their headers (no pixels) into small frozen records.

One :class:`SliceHeader` per 2D image: a classic single-frame file gives one, an enhanced multi-frame MR file
gives one per frame (``frame`` = 0-based frame index). Pixels are read later, once, by
:func:`tnbc_desktop.core.io.dicom_pixels.read_slice_pixels`. Anything unreadable ends in :class:`DicomError`
naming the file and the problem.

Speed: a classic single-frame image in a little-endian transfer syntax (nearly every file of a scanner export)
has its header read by the fast route of :mod:`tnbc_desktop.core.io.dicom_raw_header` (an element walk that
converts only the values asked for, about a tenth of pydicom's cost); every other file, and every file that
route declines, is read by pydicom. Both routes feed one extraction (:func:`headers_from_dataset`) and give
equal headers (tests/test_dicom_raw_header.py). The header pass also notes where an uncompressed little-endian
greyscale image keeps its pixels (:class:`PixelLocation`), so the pixel pass reads just those bytes with numpy
(no second header parse, no pydicom decode) in a few threads (file reads and numpy casts release the GIL),
straight into the caller's float32 array when one is given. Anything else (compressed, big endian,
multi-frame, BitsStored < BitsAllocated, odd lengths) is decoded by pydicom; both give the same values
(tests/test_speed_equivalence_dicom.py).
"""
from __future__ import annotations

import datetime as _dt
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from tnbc_desktop.core.io.dicom_acquisition import (AcquisitionFacts, classic_facts, dicom_float, dicom_text,
                                                    enhanced_frame_facts)
from tnbc_desktop.core.io.dicom_pixel_location import (ENHANCED_MR, PixelLocation, native_pixel_location,
                                                       pixel_location_at)
from tnbc_desktop.core.io.dicom_raw_header import FastRouteDeclined, RawDataset, read_raw_header
from tnbc_desktop.core.io.limits import check_dicom_declared_pixels
from tnbc_desktop.core.io.safe_files import open_regular, special_file_problem
from tnbc_desktop.core.io.sanity import check_slice_header
from tnbc_desktop.errors import CancelledError, DicomError
from tnbc_desktop.logsafe import get_logger

log = get_logger(__name__)

PROGRESS_EVERY = 64  # files between two progress reports / cancel checks of the header scan
#: read classic images' headers by the fast route where it applies (tests turn it off to compare both routes)
FAST_HEADERS = True

# tags whose value is a time of day; paired with their date tag for crossing midnight
TIME_TAGS = (("AcquisitionTime", "AcquisitionDate"), ("ContentTime", "ContentDate"), ("SeriesTime", "SeriesDate"))
_IDENTITY_TAGS = ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "AccessionNumber", "InstitutionName",
                  "PatientSpeciesDescription", "Laterality", "ImageLaterality")


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


def _values(value) -> tuple:
    """The values of a possibly multi-valued element: a single string is one value, not its characters."""
    if value is None or value == "":
        return ()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return (value,)
    return tuple(value)


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
    series_uid = dicom_text(ds.get("SeriesInstanceUID"))
    image_type = tuple(str(v).upper() for v in _values(ds.get("ImageType")))
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    return dict(
        path=str(path), series_uid=series_uid, series_number=_int(ds.get("SeriesNumber")),
        series_description=dicom_text(ds.get("SeriesDescription")), image_type=image_type,
        rows=int(ds.Rows), columns=int(ds.Columns), slice_thickness=dicom_float(ds.get("SliceThickness")),
        spacing_between_slices=dicom_float(ds.get("SpacingBetweenSlices")),
        instance_number=_int(ds.get("InstanceNumber")),
        transfer_syntax=ts, study_uid=dicom_text(ds.get("StudyInstanceUID")),
        sop_instance_uid=dicom_text(ds.get("SOPInstanceUID")),
        identity=tuple(dicom_text(ds.get(t)) for t in _IDENTITY_TAGS),
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
        frame_type = item("MRImageFrameTypeSequence")  # FrameType: what this frame is (water, fat, phase...)
        kind = tuple(str(v).upper() for v in _values(frame_type.get("FrameType"))) if frame_type else ()
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
            **{**common, "slice_thickness": dicom_float(measures.get("SliceThickness")) if measures else None,
               "image_type": kind or common["image_type"]},
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
    except (DicomError, FastRouteDeclined):
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
        size = os.fstat(handle.fileno()).st_size
        check_dicom_declared_pixels(ds, size - handle.tell(), path)
        return ds, native_pixel_location(ds, handle, size)


def _read_raw_dataset(path: Path):
    """(dataset, :class:`PixelLocation` or None) by the fast route, or None where pydicom must read the file
    (see :mod:`tnbc_desktop.core.io.dicom_raw_header`)."""
    raw = read_raw_header(path)
    if raw is None:
        return None
    ds = RawDataset(raw)
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
    or impossible geometry or rescale values, is refused in both modes: that image would be part of the study."""
    special = special_file_problem(path)
    if special is not None:
        if strict:
            raise DicomError(special, path)
        return None
    if FAST_HEADERS:
        try:
            fast = _read_raw_dataset(path)
            if fast is not None:
                return _headers_of(*fast, path, strict)
        except FastRouteDeclined:
            pass  # a value the walk does not convert as pydicom would: pydicom reads the file
    got = _pydicom_dataset(path, strict)
    return None if got is None else _headers_of(*got, path, strict)


def _pydicom_dataset(path: Path, strict: bool):
    """(dataset, pixel location) read by pydicom, or None for a file to ignore in a folder scan."""
    try:
        return _read_header_dataset(path, force=False)
    except InvalidDicomError:
        try:  # no preamble / no file meta: accept only if it really looks like an image
            ds, pixels = _read_header_dataset(path, force=True)
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
        headers = headers_from_dataset(ds, path, pixels)
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
