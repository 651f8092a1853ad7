"""One image's header facts: :class:`SliceHeader` and their extraction from a dataset (no pixels).

One :class:`SliceHeader` per 2D image: a classic single-frame file gives one, an enhanced multi-frame MR file
gives one per frame (``frame`` = 0-based frame index). :func:`headers_from_dataset` reads a pydicom Dataset or
the fast route's :class:`~tnbc_desktop.core.io.dicom_raw_dataset.RawDataset` alike (the files are found and
opened by :mod:`tnbc_desktop.core.io.dicom_read`).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tnbc_desktop.core.io.dicom_acquisition import (AcquisitionFacts, classic_facts, dicom_float, dicom_int,
                                                    dicom_text, enhanced_frame_facts)
from tnbc_desktop.core.io.dicom_pixel_location import ENHANCED_MR, PixelLocation
from tnbc_desktop.core.io.dicom_raw_header import FastRouteDeclined
from tnbc_desktop.errors import DicomError

#: ImageType values of an image that is never a DCE phase (subtraction, MIP, reformat, diffusion maps): the exam
#: scan gives its series the role 'derived' and no study is built from it, so a folder scan reads its header
#: only as far as the series table needs (:func:`_derived_header`: no sequence facts, times, identity or pixel
#: checks).
DERIVED_IMAGE_TYPES = frozenset(("DERIVED", "SUBTRACTION", "SUB", "MIP", "PROJECTION IMAGE", "MPR", "ADC",
                                 "TRACEW", "TRACE", "EADC"))

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
    brief: bool = False  # a derived image read for the series table only: never decoded as a phase

    @property
    def label(self) -> str:
        return self.path if self.frame is None else f"{self.path} (frame {self.frame + 1})"


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
    return (_day_ordinal(str(da)) if da else 0) * 86400.0 + seconds


@lru_cache(maxsize=256)
def _day_ordinal(da: str) -> int:
    """Day number of DICOM DA 'YYYYMMDD' (0 when unparsable); an exam has a date or two, read per image."""
    try:
        return _dt.date(int(da[0:4]), int(da[4:6]), int(da[6:8])).toordinal()
    except (ValueError, TypeError):
        return 0


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


def image_type_of(ds) -> tuple[str, ...]:
    return tuple(str(v).upper() for v in _values(ds.get("ImageType")))


def is_derived_image(image_type: tuple[str, ...]) -> bool:
    return not DERIVED_IMAGE_TYPES.isdisjoint(image_type)


def _series_facts(ds, path: Path, image_type: tuple[str, ...]) -> dict:
    """What every header carries, the brief one of a derived image included."""
    return dict(
        path=str(path), series_uid=dicom_text(ds.get("SeriesInstanceUID")),
        series_number=dicom_int(ds.get("SeriesNumber")), series_description=dicom_text(ds.get("SeriesDescription")),
        image_type=image_type, rows=int(ds.Rows), columns=int(ds.Columns),
        instance_number=dicom_int(ds.get("InstanceNumber")), study_uid=dicom_text(ds.get("StudyInstanceUID")))


def _classic_geometry(ds) -> dict:
    return dict(position=_floats(ds.get("ImagePositionPatient"), 3),
                orientation=_floats(ds.get("ImageOrientationPatient"), 6),
                pixel_spacing=_floats(ds.get("PixelSpacing"), 2),
                temporal_position=dicom_int(ds.get("TemporalPositionIdentifier")))


def _derived_header(ds, path: Path, image_type: tuple[str, ...]) -> SliceHeader:
    """What the series table shows of a derived image (see :data:`DERIVED_IMAGE_TYPES`); the rest is left at
    its 'not recorded' value."""
    return SliceHeader(frame=None, slice_thickness=None, spacing_between_slices=None, brief=True,
                       **_series_facts(ds, path, image_type), **_classic_geometry(ds))


def _common(ds, path: Path, image_type: tuple[str, ...]) -> dict:
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    return dict(
        **_series_facts(ds, path, image_type), slice_thickness=dicom_float(ds.get("SliceThickness")),
        spacing_between_slices=dicom_float(ds.get("SpacingBetweenSlices")), transfer_syntax=ts,
        sop_instance_uid=dicom_text(ds.get("SOPInstanceUID")),
        identity=tuple(dicom_text(ds.get(t)) for t in _IDENTITY_TAGS),
    )


def _enhanced_headers(ds, path: Path) -> list[SliceHeader]:
    """One header per frame of an enhanced multi-frame image (functional groups)."""
    shared = _first(ds, "SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    n_frames = dicom_int(ds.get("NumberOfFrames"), 1)
    if not per_frame or len(per_frame) != n_frames:
        raise DicomError("enhanced multi-frame image without per-frame functional groups: slice positions and "
                         "phases are unknown", path)
    common = _common(ds, path, image_type_of(ds))
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
            temporal_position=dicom_int(content.get("TemporalPositionIndex")) if content else None,
            times_s=times,
            slope=dicom_float(transform.get("RescaleSlope"), 1.0) if transform else 1.0,
            intercept=dicom_float(transform.get("RescaleIntercept"), 0.0) if transform else 0.0,
            acq=enhanced_frame_facts(ds, item),
            **{**common, "slice_thickness": dicom_float(measures.get("SliceThickness")) if measures else None,
               "image_type": kind or common["image_type"]},
        ))
    return out


def headers_from_dataset(ds, path: Path, pixels: PixelLocation | None = None,
                         brief_derived: bool = False) -> list[SliceHeader]:
    """Headers of the images in one dataset (read with ``stop_before_pixels``); ``pixels``: where a classic
    single-frame image keeps its raw pixels, kept on its header. ``brief_derived``: a derived classic image
    gets only what the series table shows (:func:`_derived_header`)."""
    if "Rows" not in ds or "Columns" not in ds:
        raise DicomError("is not an image (no Rows/Columns); the file may be truncated or not a DICOM image", path)
    try:
        if str(ds.get("SOPClassUID", "")) == ENHANCED_MR or "PerFrameFunctionalGroupsSequence" in ds:
            return _enhanced_headers(ds, path)
        if dicom_int(ds.get("NumberOfFrames"), 1) > 1:
            raise DicomError("multi-frame image without functional groups is not supported as a DCE phase", path)
        image_type = image_type_of(ds)
        if brief_derived and is_derived_image(image_type):
            return [_derived_header(ds, path, image_type)]
        return [SliceHeader(
            frame=None, times_s=_classic_times(ds), slope=dicom_float(ds.get("RescaleSlope"), 1.0),
            intercept=dicom_float(ds.get("RescaleIntercept"), 0.0), pixels=pixels, acq=classic_facts(ds),
            **_classic_geometry(ds), **_common(ds, path, image_type),
        )]
    except (DicomError, FastRouteDeclined):
        raise
    except Exception as exc:  # malformed values (bad VR, wrong multiplicity...)
        raise DicomError(f"header cannot be read: {type(exc).__name__}: {exc}", path) from None
