"""Kinetic (phase-varying) features of the tumour body (SPEC section 7).

Per phase, the 1395 non-shape features are computed with ONE intensity transform for every phase:
pyradiomics' per-image normalisation is off; instead every phase gets x' = scale * (x - mu0) / sd0, where mu0
and sd0 are the mean and SD (ddof=0) of the whole pre-contrast image; point-wise filters (square, squareroot,
logarithm) use the pre-contrast max|x|; and each image type uses one fixed bin width for all phases.
Departure from SPEC 7 [D, measured]: the width is (max - min) / 64 over the tumour values of ALL phases pooled,
not over the pre-contrast phase alone. With the pre-contrast width, enhancing phases reach hundreds to
thousands of grey levels (GLCM/GLSZM cost grows with levels^2..3; a 1k-voxel phantom took 388 s for the
kinetic part); the pooled width keeps the SPEC's point (identical bin edges on every phase, so the
across-phase statistics measure the tissue, not the binning) at <= 65 levels per phase.
Across phases each feature gives mean, variance (ddof=1), skewness (g1, bias-uncorrected) and excess
kurtosis (g2, bias-uncorrected); a constant feature has skewness = kurtosis = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import SimpleITK as sitk

from tnbc_desktop.core.features.filters import (
    POINTWISE_TYPES, ResampledGrid, crop_array_for_grid, filtered_images, grid_image, resample_image, to_sitk,
)
from tnbc_desktop.core.features.region import compute_classes, roi_crop
from tnbc_desktop.core.study import Geometry

#: relative spread below which a feature counts as constant across phases
CONSTANT_RTOL = 1e-12


def across_phase_stats(values: np.ndarray) -> dict[str, float]:
    """mean, var (ddof=1), skew (g1 = m3 / m2^1.5) and kurt (g2 = m4 / m2^2 - 3) of a 1-D array of phases.

    Moments m_k are central and divided by n (bias-uncorrected, as ``scipy.stats.skew/kurtosis(bias=True)``).
    If the values are constant (spread <= 1e-12 x max(1, |mean|)), skew = kurt = 0.
    """
    v = np.asarray(values, dtype=np.float64)
    n = v.size
    mean = float(v.mean())
    d = v - mean
    m2 = float(np.mean(d ** 2))
    var = float(np.sum(d ** 2) / (n - 1)) if n > 1 else float("nan")
    if np.sqrt(m2) <= CONSTANT_RTOL * max(1.0, abs(mean)):
        return {"mean": mean, "var": var, "skew": 0.0, "kurt": 0.0}
    m3 = float(np.mean(d ** 3))
    m4 = float(np.mean(d ** 4))
    return {"mean": mean, "var": var, "skew": m3 / m2 ** 1.5, "kurt": m4 / m2 ** 2 - 3.0}


@dataclass(frozen=True)
class KineticReference:
    """What the pre-contrast phase fixes for all phases: the affine transform (mu0, sd0, scale) and the
    point-wise filter scale max|x| (per point-wise image type)."""

    mu0: float
    sd0: float
    scale: float
    pointwise_max: dict


def transformed_phase(raw_zyx: np.ndarray, mu0: float, sd0: float, scale: float) -> np.ndarray:
    """The one affine intensity transform applied to every phase (float32 [z, y, x])."""
    return (scale * (raw_zyx.astype(np.float64) - mu0) / sd0).astype(np.float32)


def affine_reference(pre_raw: np.ndarray) -> tuple[float, float]:
    """(mu0, sd0) of the whole pre-contrast image ``pre_raw`` [z, y, x] (sd ddof=0; 1 if flat or not finite)."""
    mu0 = float(np.mean(pre_raw, dtype=np.float64))
    sd0 = float(np.std(pre_raw, dtype=np.float64))
    if not np.isfinite(sd0) or sd0 <= 0:
        sd0 = 1.0
    return mu0, sd0


def phase_on_grid(raw_zyx: np.ndarray, geometry: Geometry, grid: ResampledGrid, mu0: float, sd0: float,
                  scale: float, interpolator: str) -> np.ndarray:
    """One phase, transformed and resampled onto ``grid`` (float32 [z, y, x] of the grid).

    The transform is pointwise, so only the part of the phase the resampling reads is transformed."""
    if not grid.crop_only:
        raw_zyx, geometry = crop_array_for_grid(raw_zyx, geometry, grid)
    img = resample_image(to_sitk(transformed_phase(raw_zyx, mu0, sd0, scale), geometry), grid, interpolator)
    return sitk.GetArrayFromImage(img)


def kinetic_reference(mu0: float, sd0: float, scale: float, pre_on_grid: np.ndarray) -> KineticReference:
    """The reference from the pre-contrast phase already transformed and resampled (``pre_on_grid``)."""
    m = float(np.max(np.abs(pre_on_grid.astype(np.float64))))
    return KineticReference(mu0, sd0, scale, {k: m for k in POINTWISE_TYPES})


def common_bin_width(per_phase_values: list[np.ndarray], bin_count: int) -> float:
    """One bin width for all phases: ``bin_count`` bins over the pooled tumour range of every phase."""
    lo = min(float(v.min()) for v in per_phase_values)
    hi = max(float(v.max()) for v in per_phase_values)
    return (hi - lo) / bin_count


def kinetic_group_features(phases_on_grid: list[np.ndarray], roi: np.ndarray, grid: ResampledGrid, requests: dict,
                           image_type_args: dict, pointwise_max: dict, settings: dict,
                           bin_count: int) -> tuple[list[dict], dict]:
    """Features of every phase for some image types (``requests``: image type -> {class: names | None}).

    ``phases_on_grid``: transformed phases on ``grid``; ``roi``: the tumour on ``grid`` (bool [z, y, x]).
    Filters are computed only inside the tumour's bounding box (features only look inside it; same values as
    the whole-grid filter cut to the box, see :func:`filters.filtered_images`), which keeps work and memory
    small. Returns (per phase ``"<image>_<class>_<feature>" -> value``, image type -> reason it is not
    computable)."""
    box = roi_crop(roi)
    roi_box = np.ascontiguousarray(roi[box])
    filt = []
    for arr in phases_on_grid:
        filt.append(filtered_images(grid_image(arr, grid), list(requests), image_type_args, pointwise_max, box=box))
    per_phase: list[dict] = [{} for _ in phases_on_grid]
    problems: dict[str, str] = {}
    for itype in requests:
        width = common_bin_width([f[itype][roi_box] for f in filt], bin_count)
        if not (width > 0 and np.isfinite(width)):
            problems[itype] = f"image '{itype}' is flat in the tumour on every phase (no bin width)"
            continue
        s = dict(settings, normalize=False, binWidth=width)
        s.pop("binCount", None)
        for ph, f in enumerate(filt):
            vals = compute_classes(f[itype], roi_box, grid.spacing, requests[itype], s)
            per_phase[ph].update({f"{itype}_{k}": v for k, v in vals.items()})
    return per_phase, problems
