"""Find DICOM image files and read their headers (no pixels) into small frozen records.

One :class:`SliceHeader` per 2D image: a classic single-frame file gives one, an enhanced multi-frame MR file
gives one per frame (``frame`` = 0-based frame index). Pixels are read later, once, by
:func:`read_slice_pixels`. Anything unreadable ends in :class:`DicomError` naming the file and the problem.
"""
from __future__ import annotations

import datetime as _dt
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from tnbc_desktop.errors import DicomError
from tnbc_desktop.logsafe import get_logger

log = get_logger(__name__)

# tags whose value is a time of day; paired with their date tag for crossing midnight
TIME_TAGS = (("AcquisitionTime", "AcquisitionDate"), ("ContentTime", "ContentDate"), ("SeriesTime", "SeriesDate"))
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
_IDENTITY_TAGS = ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "AccessionNumber", "InstitutionName")


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


def _float(value, default=None):
    try:
        if value is None or value == "":
            return default
        return float(value)
    except (TypeError, ValueError):
        return default


def _int(value, default=None):
    f = _float(value)
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
    trig = _float(ds.get("TriggerTime"))
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
        rows=int(ds.Rows), columns=int(ds.Columns), slice_thickness=_float(ds.get("SliceThickness")),
        spacing_between_slices=_float(ds.get("SpacingBetweenSlices")), instance_number=_int(ds.get("InstanceNumber")),
        transfer_syntax=ts, study_uid=str(ds.get("StudyInstanceUID", "") or ""),
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
            slope=_float(transform.get("RescaleSlope"), 1.0) if transform else 1.0,
            intercept=_float(transform.get("RescaleIntercept"), 0.0) if transform else 0.0,
            **{**common, "slice_thickness": _float(measures.get("SliceThickness")) if measures else None},
        ))
    return out


def headers_from_dataset(ds, path: Path) -> list[SliceHeader]:
    """Headers of the images in one dataset (read with ``stop_before_pixels``)."""
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
            slope=_float(ds.get("RescaleSlope"), 1.0), intercept=_float(ds.get("RescaleIntercept"), 0.0),
            **_common(ds, path),
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


def read_headers_file(path: Path, strict: bool = True) -> list[SliceHeader] | None:
    """Headers of one file. ``strict=False`` (folder scan): a file that is not DICOM returns None (ignored);
    ``strict=True`` (a file the user named): it raises :class:`DicomError`."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        try:  # no preamble / no file meta: accept only if it really looks like an image
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
            if "SOPClassUID" not in ds and "Rows" not in ds:
                ds = None
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
        return headers_from_dataset(ds, path)
    except DicomError:
        if strict:
            raise
        log.info("ignoring an unusable DICOM object in the folder")
        return None


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


def _decode_pixels(path: str) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
    except Exception as exc:
        raise DicomError(f"cannot be read ({type(exc).__name__}: {exc})", path) from None
    ts_uid = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    ts_name = f"{ts_uid.name} ({ts_uid})" if ts_uid else "unknown transfer syntax"
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise DicomError("has no pixel data (the file is probably truncated)", path)
    try:
        with warnings.catch_warnings():  # e.g. "excess padding removed": harmless, not for the user's console
            warnings.simplefilter("ignore")
            arr = ds.pixel_array
    except Exception as exc:
        raise DicomError(f"pixel data cannot be decoded (transfer syntax {ts_name}): {exc}", path) from None
    n_frames = _int(ds.get("NumberOfFrames"), 1)
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] != n_frames:
        raise DicomError(f"pixel data has shape {arr.shape}, expected {n_frames} greyscale frame(s)", path)
    return arr


def read_slice_pixels(headers: list[SliceHeader]) -> list[np.ndarray]:
    """float32 [rows, columns] per header with rescale slope/intercept applied; each file is decoded once."""
    cache: dict[str, np.ndarray] = {}
    out = []
    for h in headers:
        if h.path not in cache:
            cache[h.path] = _decode_pixels(h.path)
        frames = cache[h.path]
        frame = 0 if h.frame is None else h.frame
        if frame >= frames.shape[0]:
            raise DicomError(f"frame {frame + 1} is missing from the pixel data", h.path)
        img = frames[frame]
        if img.shape != (h.rows, h.columns):
            raise DicomError(f"pixel data is {img.shape}, header says {h.rows}x{h.columns}", h.path)
        out.append(img.astype(np.float32) * np.float32(h.slope) + np.float32(h.intercept))
        if h.frame is None:
            cache.pop(h.path, None)
    return out
