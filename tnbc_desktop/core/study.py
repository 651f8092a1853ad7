"""The data types every stage shares: image geometry, the DCE study, the tumour mask.

Conventions (the whole app):
- arrays are indexed [z, y, x] (3D) and [phase, z, y, x] (4D); ``z`` is the slice axis;
- ``spacing_mm`` is (z, y, x) in millimetres;
- ``origin_mm`` is the LPS position (x, y, z) of voxel [0, 0, 0], as DICOM ImagePositionPatient / ITK origin;
- ``direction`` is the ITK 3x3 direction matrix, row-major, columns = directions of the (x, y, z) index axes;
- phase times are seconds from the pre-contrast phase (phase 0 has time 0).
Patient identifiers are kept in :class:`PatientIdentity`, apart from the arrays, and never logged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

IDENTITY_DIRECTION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


@dataclass(frozen=True)
class Geometry:
    """Grid of a 3D image: shape (z, y, x), spacing (z, y, x) mm, LPS origin (x, y, z) mm, ITK direction."""

    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[float, ...] = IDENTITY_DIRECTION

    @property
    def voxel_volume_mm3(self) -> float:
        return float(np.prod(self.spacing_mm))

    def index_to_lps(self, zyx: np.ndarray) -> np.ndarray:
        """Physical LPS points (N, 3) for voxel indices (N, 3) given as (z, y, x)."""
        ijk = np.asarray(zyx, dtype=float)[:, ::-1]  # -> (x, y, z) index order
        d = np.asarray(self.direction, dtype=float).reshape(3, 3)
        scaled = ijk * np.asarray(self.spacing_mm[::-1], dtype=float)
        return np.asarray(self.origin_mm, dtype=float) + scaled @ d.T

    def describe(self) -> str:
        """One-line human description used in geometry error messages."""
        sp = "x".join(f"{s:g}" for s in self.spacing_mm[::-1])
        og = ", ".join(f"{o:.1f}" for o in self.origin_mm)
        return f"{self.shape[2]}x{self.shape[1]}x{self.shape[0]} voxels (x,y,z) at {sp} mm, origin ({og}) mm"

    def same_grid(self, other: "Geometry", tol_mm: float = 1e-3) -> bool:
        return (
            tuple(self.shape) == tuple(other.shape)
            and np.allclose(self.spacing_mm, other.spacing_mm, atol=tol_mm)
            and np.allclose(self.origin_mm, other.origin_mm, atol=max(tol_mm, 1e-2))
            and np.allclose(self.direction, other.direction, atol=1e-4)
        )


@dataclass(frozen=True)
class PhaseInfo:
    """One row of the phase table shown to the user."""

    index: int
    time_s: float
    source_tag: str  # e.g. "TriggerTime", "AcquisitionTime", "user", "TemporalPositionIdentifier"
    series_uid: str = ""
    series_number: int | None = None
    series_description: str = ""
    n_slices: int = 0


@dataclass(frozen=True)
class SourceImage:
    """One 2D DICOM image of the study: its file, frame (None for a single-frame file) and SOP Instance UID.

    Kept so that derived objects (DICOM-SEG, SR) can reference the images they were computed from."""

    path: str
    sop_instance_uid: str
    frame: int | None = None


@dataclass(frozen=True)
class PatientIdentity:
    """Identifiers read from the input (never logged; replaced when de-identifying)."""

    patient_name: str = ""
    patient_id: str = ""
    birth_date: str = ""
    study_date: str = ""
    accession_number: str = ""
    institution: str = ""
    species: str = ""  # PatientSpeciesDescription as the file states it ("" = not stated); not an identifier
    laterality: str = ""  # Laterality / ImageLaterality: "L", "R", "B" or "" when the headers do not say

    def values(self) -> list[str]:
        """Non-empty identifier strings (for leak checks)."""
        return [v for v in (self.patient_name, self.patient_id, self.birth_date, self.accession_number,
                            self.institution) if v]


@dataclass(frozen=True, eq=False)
class DCEStudy:
    """One patient's DCE-MRI: float32 ``data`` [phase, z, y, x] in scanner units (rescale applied)."""

    data: np.ndarray
    phase_times_s: tuple[float, ...]
    geometry: Geometry
    phases: tuple[PhaseInfo, ...]
    # "dicom-per-phase", "dicom-single-series", "dicom-enhanced", "nifti-4d", "nifti-per-phase", "nrrd-4d", ...
    layout: str
    timing_source: str
    source: str
    study_uid: str = ""
    identity: PatientIdentity = field(default_factory=PatientIdentity)
    notes: tuple[str, ...] = ()
    # [phase][z] the DICOM image behind each slice; () for a study read from NIfTI/NRRD
    source_images: tuple[tuple[SourceImage, ...], ...] = ()
    warnings: tuple[str, ...] = ()  # suspicious but loadable (flat phase, implausible times): shown to the user

    @property
    def n_phases(self) -> int:
        return int(self.data.shape[0])

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        return self.geometry.spacing_mm

    def phase_means(self) -> list[float]:
        return [float(np.mean(p, dtype=np.float64)) for p in self.data]


@dataclass(frozen=True, eq=False)
class Mask:
    """Binary tumour mask on the study grid: bool ``array`` [z, y, x]."""

    array: np.ndarray
    geometry: Geometry
    source: str
    label: int = 1
    resampled: bool = False
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # e.g. a mask covering the whole image: shown to the user

    @property
    def n_voxels(self) -> int:
        return int(np.count_nonzero(self.array))

    @property
    def volume_ml(self) -> float:
        return self.n_voxels * self.geometry.voxel_volume_mm3 / 1000.0
