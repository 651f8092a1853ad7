"""Geometry and value sanity at the loader boundary: what no scanner writes is refused, what is possible but
suspicious is a warning that names the phase or the mask.

Refused (:class:`GeometryError` / :class:`DicomError` / :class:`InputError` naming the file): a pixel or
slice spacing that is not a positive finite number (PixelSpacing 0, negative PixelSpacing), a non-finite image
position or direction, a degenerate direction matrix, a non-finite RescaleSlope / RescaleIntercept or a slope
of 0, a phase holding no finite value (all NaN).

Warned: a phase whose finite values are all equal (flat: it carries no enhancement), phase times beyond
:data:`MAX_PLAUSIBLE_PHASE_TIME_S`, a mask covering (nearly) the whole image (no peritumoral ring).
"""
from __future__ import annotations

import math

import numpy as np

from tnbc_desktop.core.phase_numbering import phase_name
from tnbc_desktop.core.study import Geometry
from tnbc_desktop.errors import DicomError, GeometryError, InputError

#: [D] a DCE-MRI series lasts minutes; a phase more than 2 hours after the pre-contrast one is a wrong tag
#: or a wrong entry, not an acquisition (warned, since the kinetics still compute).
MAX_PLAUSIBLE_PHASE_TIME_S = 7200.0
#: [D] share of the image a tumour mask may cover before it is warned about: beyond 90 % no 5 mm ring fits.
MAX_MASK_FRACTION = 0.9


def _finite(values) -> bool:
    return values is not None and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def _spacing_text(values) -> str:
    return "\\".join(f"{v:g}" for v in values)


def check_slice_header(h) -> None:
    """One DICOM image header (:class:`~tnbc_desktop.core.io.dicom_read.SliceHeader`): spacing, position,
    orientation and rescale are finite, spacing positive, slope non-zero. Absent values are left to the
    series checks (they name what is missing)."""
    if h.pixel_spacing is not None and not (_finite(h.pixel_spacing) and min(h.pixel_spacing) > 0):
        raise GeometryError(f"PixelSpacing {_spacing_text(h.pixel_spacing)} is not a positive finite spacing "
                            "(mm)", h.label)
    if h.position is not None and not _finite(h.position):
        raise GeometryError(f"ImagePositionPatient ({_spacing_text(h.position)}) is not finite", h.label)
    if h.orientation is not None and not _finite(h.orientation):
        raise GeometryError(f"ImageOrientationPatient ({_spacing_text(h.orientation)}) is not finite", h.label)
    if not (math.isfinite(h.slope) and math.isfinite(h.intercept)):
        raise DicomError(f"RescaleSlope {h.slope:g} / RescaleIntercept {h.intercept:g} are not finite numbers",
                         h.label)
    if h.slope == 0:
        raise DicomError("RescaleSlope is 0: every pixel would have the same value", h.label)


def check_geometry(geometry: Geometry, source) -> Geometry:
    """``geometry`` if its spacing is positive and finite, origin finite and direction a finite, non-degenerate
    matrix; else :class:`GeometryError` naming ``source``."""
    sp = tuple(float(s) for s in geometry.spacing_mm)
    if not (_finite(sp) and min(sp) > 0):
        raise GeometryError(f"voxel spacing {' x '.join(f'{v:g}' for v in sp[::-1])} mm (x, y, z) is not a "
                            "positive finite spacing", source)
    if not _finite([float(v) for v in geometry.origin_mm]):
        raise GeometryError(f"image origin ({', '.join(f'{v:g}' for v in geometry.origin_mm)}) is not finite",
                            source)
    d = np.asarray(geometry.direction, dtype=float)
    if d.size != 9 or not np.all(np.isfinite(d)) or abs(np.linalg.det(d.reshape(3, 3))) < 1e-6:
        raise GeometryError("image direction matrix is not finite or is degenerate", source)
    if min(int(s) for s in geometry.shape) <= 0:
        raise GeometryError(f"image has {' x '.join(map(str, geometry.shape))} voxels; none may be 0", source)
    return geometry


def _phase_name(study, k: int) -> str:
    info = study.phases[k] if k < len(study.phases) else None
    desc = f" {info.series_description!r}" if info is not None and info.series_description else ""
    return phase_name(k, float(study.phase_times_s[k])) + desc


def phase_value_warnings(study) -> tuple[str, ...]:
    """Warnings about the phases' values and times; :class:`InputError` for a phase with no finite value.

    Checked phase by phase (one phase in memory as a temporary at a time)."""
    out = []
    for k, phase in enumerate(study.data):
        finite = np.isfinite(phase)
        n_finite = int(np.count_nonzero(finite))
        if n_finite == 0:
            raise InputError(f"{_phase_name(study, k)} holds no finite value (every voxel is NaN or infinite); "
                             "the study cannot be analysed", study.source)
        values = phase[finite] if n_finite < phase.size else phase
        lo, hi = float(np.min(values)), float(np.max(values))
        if lo == hi:
            out.append(f"{_phase_name(study, k)} is flat (every voxel is {lo:g}): it carries no enhancement")
        elif n_finite < phase.size:
            out.append(f"{_phase_name(study, k)}: {phase.size - n_finite} voxel(s) are NaN or infinite")
    late = max((float(t) for t in study.phase_times_s), default=0.0)
    if late > MAX_PLAUSIBLE_PHASE_TIME_S:
        out.append(f"phase times reach {late:g} s, beyond the {MAX_PLAUSIBLE_PHASE_TIME_S:g} s a DCE series "
                   "lasts: check the timing tags or the times given")
    return tuple(out)


def mask_warnings(binary: np.ndarray) -> tuple[str, ...]:
    """Warnings about a tumour mask on the study grid (bool array)."""
    frac = float(np.count_nonzero(binary)) / max(binary.size, 1)
    if frac >= MAX_MASK_FRACTION:
        return (f"the mask covers {100 * frac:.0f} % of the image: a tumour mask this large leaves no room for "
                "the peritumoral ring, and the predictions are not meaningful",)
    return ()
