"""Signal-time curves of a region or a voxel, with their BI-RADS-style classification.

Definitions used (ACR BI-RADS MRI kinetic descriptors, on the *mean* curve of the region):
- initial rise, from the early-phase percentage enhancement PE1 = 100 (S_early - S0) / S0:
  ``slow`` if PE1 < 50 %, ``medium`` if 50 % <= PE1 <= 100 %, ``fast`` if PE1 > 100 %;
- delayed curve type, from the late change relative to the early *signal*
  delta = 100 (S_late - S_early) / S_early:
  ``persistent`` if delta > +10 %, ``washout`` if delta < -10 %, ``plateau`` otherwise.
Early and late phases are chosen exactly as for the kinetic maps (:func:`select_early_late`).
An empty region (or S0 <= 0) gives NaN curves and the class ``undetermined``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tnbc_desktop.core.kinetics import KineticSettings, select_early_late
from tnbc_desktop.core.regions import bounding_box
from tnbc_desktop.core.study import DCEStudy
from tnbc_desktop.errors import MaskError

CURVE_TYPES = ("persistent", "plateau", "washout")
INITIAL_RISES = ("slow", "medium", "fast")
UNDETERMINED = "undetermined"
PLATEAU_BAND_PERCENT = 10.0
RISE_SLOW_BELOW_PERCENT = 50.0
RISE_FAST_ABOVE_PERCENT = 100.0


# [D] The one unit in which people see enhancement curves, on screen and in the report: percent enhancement over
# the pre-contrast phase. Scanner units differ between scanners and sequences; the percentage is what the
# kinetic features and BI-RADS curve types are defined on.
CURVE_UNIT_LABEL = "enhancement (% over pre-contrast)"


def percent_enhancement(mean, sd=None) -> tuple[np.ndarray, np.ndarray | None]:
    """(100 (S_t - S0) / S0, 100 SD_t / S0) of a mean curve (and its SD); NaN where S0 <= 0 or not finite."""
    m = np.asarray(mean, dtype=float)
    s0 = m[0] if m.size else np.nan
    if not np.isfinite(s0) or s0 <= 0:
        nan = np.full(m.shape, np.nan)
        return nan, None if sd is None else nan.copy()
    return 100.0 * (m - s0) / s0, None if sd is None else 100.0 * np.asarray(sd, dtype=float) / s0


@dataclass(frozen=True, eq=False)
class RegionCurve:
    """Mean and SD signal per phase (arrays (P,)) of a region, phase times (s), and its classification."""

    times_s: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    n_voxels: int
    early_phase: int
    late_phase: int
    pe_early_percent: float
    late_change_percent: float
    curve_type: str
    initial_rise: str

    @property
    def enhancement_percent(self) -> np.ndarray:
        """Percentage enhancement of the mean curve per phase, 100 (S_t - S0) / S0, shape (P,)."""
        return percent_enhancement(self.mean)[0]


def classify_curve(s0: float, s_early: float, s_late: float) -> tuple[float, float, str, str]:
    """(PE1 %, late change %, curve type, initial rise) for one curve (see module docstring)."""
    if not (np.isfinite(s0) and np.isfinite(s_early) and np.isfinite(s_late)) or s0 <= 0 or s_early <= 0:
        return float("nan"), float("nan"), UNDETERMINED, UNDETERMINED
    pe1 = 100.0 * (s_early - s0) / s0
    delta = 100.0 * (s_late - s_early) / s_early
    if delta > PLATEAU_BAND_PERCENT:
        ctype = "persistent"
    elif delta < -PLATEAU_BAND_PERCENT:
        ctype = "washout"
    else:
        ctype = "plateau"
    if pe1 < RISE_SLOW_BELOW_PERCENT:
        rise = "slow"
    elif pe1 > RISE_FAST_ABOVE_PERCENT:
        rise = "fast"
    else:
        rise = "medium"
    return float(pe1), float(delta), ctype, rise


def _curve_from_samples(samples: np.ndarray, times_s, early: int, late: int) -> RegionCurve:
    """Build a curve from (P, N) float64 samples."""
    n = samples.shape[1]
    if n == 0:
        mean = np.full(samples.shape[0], np.nan)
        sd = mean.copy()
    else:
        mean = samples.mean(axis=1)
        sd = samples.std(axis=1, ddof=1) if n > 1 else np.zeros(samples.shape[0])
    pe1, delta, ctype, rise = classify_curve(mean[0], mean[early], mean[late])
    return RegionCurve(times_s=np.asarray(times_s, dtype=float), mean=mean, sd=sd, n_voxels=int(n),
                       early_phase=early, late_phase=late, pe_early_percent=pe1, late_change_percent=delta,
                       curve_type=ctype, initial_rise=rise)


def region_curve(study: DCEStudy, region_mask, settings: KineticSettings = KineticSettings(),
                 box: tuple[slice, slice, slice] | None = None) -> RegionCurve:
    """Mean and SD (ddof=1) signal per phase over the voxels of ``region_mask`` (bool [z, y, x]).

    ``box``: [z, y, x] slices of the study grid when ``region_mask`` covers only that box (no region voxel
    outside it). Either way only the region's bounding box of the study is read, in the same voxel order as
    ``np.nonzero`` over the whole grid, so the curve is the same to the last bit."""
    arr = np.asarray(getattr(region_mask, "array", region_mask)).astype(bool, copy=False)
    grid = tuple(study.data.shape[1:])
    if box is None:
        if arr.shape != grid:
            raise MaskError(f"region shape {arr.shape} does not match the study grid {grid}")
        box = tuple(slice(0, n) for n in grid)
    else:
        box = tuple(slice(*s.indices(n)[:2]) for s, n in zip(box, grid))
        if arr.shape != tuple(s.stop - s.start for s in box):
            raise MaskError(f"region shape {arr.shape} does not match its box of the study grid")
    early, late = select_early_late(study.phase_times_s, settings)
    inner = bounding_box(arr)
    if inner is None:
        samples = np.empty((study.data.shape[0], 0), dtype=np.float64)
    else:
        idx = np.nonzero(arr[inner])
        sub = tuple(slice(b.start + i.start, b.start + i.stop) for b, i in zip(box, inner))
        samples = study.data[(slice(None),) + sub][(slice(None),) + idx].astype(np.float64)  # (P, N)
    return _curve_from_samples(samples, study.phase_times_s, early, late)


def voxel_curve(study: DCEStudy, zyx: tuple[int, int, int],
                settings: KineticSettings = KineticSettings()) -> RegionCurve:
    """Signal curve of the single voxel ``(z, y, x)`` (SD is 0)."""
    z, y, x = (int(v) for v in zyx)
    shape = study.data.shape[1:]
    if not (0 <= z < shape[0] and 0 <= y < shape[1] and 0 <= x < shape[2]):
        raise MaskError(f"voxel {(z, y, x)} is outside the study grid {tuple(shape)}")
    early, late = select_early_late(study.phase_times_s, settings)
    samples = study.data[:, z, y, x].astype(np.float64)[:, None]
    return _curve_from_samples(samples, study.phase_times_s, early, late)
