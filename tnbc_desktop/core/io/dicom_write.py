"""Write a :class:`DCEStudy` as MR DICOM the way scanners export DCE (used for synthetic data and tests).

Layouts:
- ``"per-phase"``: one series per phase (own SeriesInstanceUID / SeriesNumber / SeriesTime / AcquisitionTime),
  files ``phase_NN/IM_ZZZZ.dcm``;
- ``"single-series"``: one series, Philips/GE style: TemporalPositionIdentifier (1-based), NumberOfTemporalPositions,
  TriggerTime (ms from phase 0), one shared AcquisitionTime, and InstanceNumber deliberately NOT in time order
  (within a slice, later phases get lower numbers); files ``IM_NNNNN`` without suffix;
- ``"pre-post"``: pre-contrast in one series, all post-contrast phases in a second (TemporalPositionIdentifier,
  AcquisitionTime per phase);
- ``"enhanced"``: one Enhanced MR multi-frame file with per-frame functional groups (a minimal IOD: the
  geometry, TemporalPositionIndex, FrameAcquisitionDateTime and rescale a reader needs).

``sequence`` (optional :class:`MRSequence`): flip angle, TR, TE and scanning sequence written on every image
(enhanced: in the shared MR timing / echo functional groups), as a scanner records them.

Pixels are uint16 with one RescaleSlope/Intercept for the whole study: intercept = data minimum, slope = range /
65534 (both as written in the DS strings). Decoded values equal the input to within half a quantisation step,
``slope / 2`` (see :func:`quantisation`), plus float32 rounding.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tnbc_desktop.core.io.atomic import write_with_atomic
from tnbc_desktop.core.study import DCEStudy
from tnbc_desktop.errors import OutputError

MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
LAYOUTS = ("per-phase", "single-series", "pre-post", "enhanced")
_BASE_CLOCK_S = 9 * 3600.0  # phase 0 acquired at 09:00:00


@dataclass(frozen=True)
class MRSequence:
    """Sequence facts a scanner writes on each image (T1-weighted spoiled gradient echo by default)."""

    flip_angle: float = 15.0
    repetition_time_ms: float = 4.5
    echo_time_ms: float = 2.1
    scanning_sequence: str = "GR"

    def apply(self, ds: Dataset) -> None:
        ds.FlipAngle = _ds_str(self.flip_angle)
        ds.RepetitionTime = _ds_str(self.repetition_time_ms)
        ds.EchoTime = _ds_str(self.echo_time_ms)
        ds.ScanningSequence = self.scanning_sequence.split("\\")
        ds.SequenceVariant = "SP"

    def functional_groups(self, shared: Dataset) -> None:
        timing, echo = Dataset(), Dataset()
        timing.RepetitionTime = _ds_str(self.repetition_time_ms)
        timing.FlipAngle = _ds_str(self.flip_angle)
        echo.EffectiveEchoTime = float(self.echo_time_ms)
        shared.MRTimingAndRelatedParametersSequence = DicomSequence([timing])
        shared.MREchoSequence = DicomSequence([echo])


def _ds_str(value: float) -> str:
    """A decimal string that fits DICOM DS (<= 16 characters)."""
    for digits in (12, 11, 10, 9, 8):
        text = f"{value:.{digits}g}"
        if len(text) <= 16:
            return text
    return f"{value:.6g}"


def quantisation(data: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) as written: stored uint16 = round((value - intercept) / slope)."""
    finite = data[np.isfinite(data)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    intercept = float(_ds_str(lo))
    span = hi - intercept
    slope = float(_ds_str(span / 65534.0)) if span > 0 else 1.0
    while span > 0 and span / slope > 65535.0:  # DS rounding must not overflow uint16
        slope = float(_ds_str(slope * (1 + 1e-9) + 1e-15))
    return slope, intercept


def _tm(seconds: float) -> str:
    seconds = seconds % 86400.0
    hh, rem = divmod(seconds, 3600.0)
    mm, ss = divmod(rem, 60.0)
    return f"{int(hh):02d}{int(mm):02d}{ss:09.6f}"


def _dt(date: str, seconds: float) -> str:
    return date + _tm(seconds)


def _study_common(study: DCEStudy, study_uid: str, frame_uid: str) -> Dataset:
    ds = Dataset()
    ident = study.identity
    date = ident.study_date or "20240101"
    try:  # Latin-1 when it holds every identifier, else UTF-8 (a Latin-1 tag would turn CJK names into '?')
        "".join(ident.values()).encode("latin-1")
        ds.SpecificCharacterSet = "ISO_IR 100"
    except UnicodeEncodeError:
        ds.SpecificCharacterSet = "ISO_IR 192"
    ds.Modality = "MR"
    ds.Manufacturer = "tnbc-desktop synthetic"
    ds.PatientName = ident.patient_name
    ds.PatientID = ident.patient_id
    ds.PatientBirthDate = ident.birth_date
    ds.PatientSex = ""
    if ident.species:
        ds.PatientSpeciesDescription = ident.species
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
    ds.StudyTime = _tm(_BASE_CLOCK_S - 600)
    ds.AccessionNumber = ident.accession_number
    ds.InstitutionName = ident.institution
    ds.ReferringPhysicianName = ""
    ds.StudyInstanceUID = study_uid
    ds.StudyID = "1"
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = ""
    ds.StudyDescription = "DCE-MRI"
    ds.BodyPartExamined = "BREAST"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.Rows, ds.Columns = int(study.geometry.shape[1]), int(study.geometry.shape[2])
    return ds


class _Writer:
    def __init__(self, study: DCEStudy, out_dir: Path, sequence: MRSequence | None = None):
        self.study, self.out_dir, self.sequence = study, out_dir, sequence
        seed = f"{study.source}|{study.study_uid}|{study.data.shape}"
        self.study_uid = study.study_uid or generate_uid(entropy_srcs=[seed, "study"])
        self.frame_uid = generate_uid(entropy_srcs=[seed, "frame"])
        self.seed = seed
        self.slope, self.intercept = quantisation(study.data)
        g = study.geometry
        d = np.asarray(g.direction, dtype=float).reshape(3, 3)
        self.row_dir, self.col_dir, self.normal = d[:, 0], d[:, 1], d[:, 2]
        self.origin = np.asarray(g.origin_mm, dtype=float)
        self.dz, self.dy, self.dx = (float(s) for s in g.spacing_mm)
        self.date = study.identity.study_date or "20240101"
        self.written: list[Path] = []

    def uid(self, *parts) -> str:
        return generate_uid(entropy_srcs=[self.seed, *map(str, parts)])

    def stored(self, p: int, z: int | slice) -> np.ndarray:
        values = np.nan_to_num(self.study.data[p, z].astype(np.float64), nan=self.intercept)
        return np.clip(np.rint((values - self.intercept) / self.slope), 0, 65535).astype(np.uint16)

    def position(self, z: int) -> list[float]:
        return [float(v) for v in self.origin + z * self.dz * self.normal]

    def geometry_tags(self, ds: Dataset, z: int) -> None:
        ds.ImagePositionPatient = [_ds_str(v) for v in self.position(z)]
        ds.ImageOrientationPatient = [_ds_str(v) for v in (*self.row_dir, *self.col_dir)]
        ds.PixelSpacing = [_ds_str(self.dy), _ds_str(self.dx)]
        ds.SliceThickness = _ds_str(self.dz)
        ds.SpacingBetweenSlices = _ds_str(self.dz)
        ds.SliceLocation = _ds_str(float(np.dot(self.position(z), self.normal)))

    def save(self, ds: Dataset, sop_class: str, path: Path) -> None:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        ds.SOPClassUID = sop_class
        path.parent.mkdir(parents=True, exist_ok=True)
        write_with_atomic(path, lambda handle: pydicom.dcmwrite(handle, ds, enforce_file_format=True))
        self.written.append(path)

    def slice_dataset(self, p: int, z: int, series_uid: str, series_number: int, description: str) -> Dataset:
        ds = _study_common(self.study, self.study_uid, self.frame_uid)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = series_number
        ds.SeriesDescription = description
        ds.SOPInstanceUID = self.uid("sop", p, z)
        self.geometry_tags(ds, z)
        ds.RescaleSlope = _ds_str(self.slope)
        ds.RescaleIntercept = _ds_str(self.intercept)
        ds.RescaleType = "US"
        ds.PixelData = self.stored(p, z).tobytes()
        if self.sequence is not None:
            self.sequence.apply(ds)
        return ds

    def per_phase(self) -> None:
        for p, t in enumerate(self.study.phase_times_s):
            series_uid = self.uid("series", p)
            clock = _BASE_CLOCK_S + float(t)
            for z in range(self.study.geometry.shape[0]):
                ds = self.slice_dataset(p, z, series_uid, 100 + p, f"DCE phase {p + 1}")
                ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = _tm(clock)
                ds.InstanceNumber = z + 1
                self.save(ds, MR_IMAGE, self.out_dir / f"phase_{p:02d}" / f"IM_{z + 1:04d}.dcm")

    def single_series(self) -> None:
        n_phases, n_z = self.study.data.shape[:2]
        series_uid = self.uid("series", "all")
        for p, t in enumerate(self.study.phase_times_s):
            for z in range(n_z):
                ds = self.slice_dataset(p, z, series_uid, 200, "DCE dynamic")
                ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = _tm(_BASE_CLOCK_S)
                ds.TemporalPositionIdentifier = p + 1
                ds.NumberOfTemporalPositions = n_phases
                ds.TriggerTime = _ds_str(float(t) * 1000.0)
                instance = z * n_phases + (n_phases - 1 - p) + 1  # not time order (Philips-like)
                ds.InstanceNumber = instance
                self.save(ds, MR_IMAGE, self.out_dir / f"IM_{instance:05d}")

    def pre_post(self) -> None:
        n_phases, n_z = self.study.data.shape[:2]
        pre_uid, post_uid = self.uid("series", "pre"), self.uid("series", "post")
        times = self.study.phase_times_s
        for p, t in enumerate(times):
            post = p > 0
            for z in range(n_z):
                ds = self.slice_dataset(p, z, post_uid if post else pre_uid, 301 if post else 300,
                                        "DCE post" if post else "DCE pre")
                ds.SeriesTime = _tm(_BASE_CLOCK_S + (float(times[1]) if post else 0.0))
                ds.AcquisitionTime = ds.ContentTime = _tm(_BASE_CLOCK_S + float(t))
                if post:
                    ds.TemporalPositionIdentifier = p
                    ds.NumberOfTemporalPositions = n_phases - 1
                ds.InstanceNumber = (p - 1) * n_z + z + 1 if post else z + 1
                folder = "post" if post else "pre"
                self.save(ds, MR_IMAGE, self.out_dir / folder / f"IM_{ds.InstanceNumber:05d}.dcm")

    def enhanced(self) -> None:
        n_phases, n_z = self.study.data.shape[:2]
        ds = _study_common(self.study, self.study_uid, self.frame_uid)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "PERFUSION", "NONE"]
        ds.SeriesInstanceUID = self.uid("series", "enhanced")
        ds.SeriesNumber = 400
        ds.SeriesDescription = "DCE enhanced"
        ds.SOPInstanceUID = self.uid("sop", "enhanced")
        ds.InstanceNumber = 1
        ds.SeriesTime = ds.ContentTime = _tm(_BASE_CLOCK_S)
        ds.AcquisitionDateTime = _dt(self.date, _BASE_CLOCK_S)
        ds.NumberOfFrames = n_phases * n_z
        shared = Dataset()
        ori, meas, vt = Dataset(), Dataset(), Dataset()
        ori.ImageOrientationPatient = [_ds_str(v) for v in (*self.row_dir, *self.col_dir)]
        meas.PixelSpacing = [_ds_str(self.dy), _ds_str(self.dx)]
        meas.SliceThickness = _ds_str(self.dz)
        meas.SpacingBetweenSlices = _ds_str(self.dz)
        vt.RescaleSlope, vt.RescaleIntercept, vt.RescaleType = _ds_str(self.slope), _ds_str(self.intercept), "US"
        shared.PlaneOrientationSequence = DicomSequence([ori])
        shared.PixelMeasuresSequence = DicomSequence([meas])
        shared.PixelValueTransformationSequence = DicomSequence([vt])
        if self.sequence is not None:
            self.sequence.functional_groups(shared)
        ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
        frames, pixels = [], []
        for z in range(n_z):  # slice-major frame order: phases interleaved, as some scanners do
            for p, t in enumerate(self.study.phase_times_s):
                fg, pos, content = Dataset(), Dataset(), Dataset()
                pos.ImagePositionPatient = [_ds_str(v) for v in self.position(z)]
                content.TemporalPositionIndex = p + 1
                content.FrameAcquisitionDateTime = _dt(self.date, _BASE_CLOCK_S + float(t))
                fg.PlanePositionSequence = DicomSequence([pos])
                fg.FrameContentSequence = DicomSequence([content])
                frames.append(fg)
                pixels.append(self.stored(p, z))
        ds.PerFrameFunctionalGroupsSequence = DicomSequence(frames)
        ds.PixelData = np.stack(pixels).tobytes()
        self.save(ds, ENHANCED_MR, self.out_dir / "enhanced.dcm")


def write_dicom_study(study: DCEStudy, out_dir: str | Path, layout: str = "per-phase",
                      sequence: MRSequence | None = None) -> list[Path]:
    """Write ``study`` under ``out_dir`` as MR DICOM in ``layout`` (see module docstring); returns the files."""
    if layout not in LAYOUTS:
        raise OutputError(f"unknown DICOM layout {layout!r}; choose one of {', '.join(LAYOUTS)}", out_dir)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"folder cannot be created: {exc.strerror}", out) from None
    writer = _Writer(study, out, sequence)
    getattr(writer, layout.replace("-", "_"))()
    return writer.written
