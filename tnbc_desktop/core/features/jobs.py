"""Units of extraction work; each is a picklable job run in-process or in a spawned worker.

- :class:`RegionJob`: the early phase, normalised as pyradiomics does (whole image), resampled once onto the
  union box of all regions, filtered once per image type in the job, then every region's features.
- :class:`KineticJob`: all phases, some image types, on the tumour box with the shared pre-contrast transform (kinetic.py).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from tnbc_desktop.core.features.filters import (
    POINTWISE_TYPES, ResampledGrid, filtered_images, mask_bbox_xyz, pointwise_filter, resample_image,
    resample_mask, resampled_box, to_sitk,
)
from tnbc_desktop.core.features.kinetic import KineticReference, kinetic_group_features
from tnbc_desktop.core.features.region import compute_classes, quiet_pyradiomics, region_problem
from tnbc_desktop.core.study import Geometry


@dataclass(frozen=True)
class RegionJob:
    """Region radiomics for some image types of the early phase.

    ``requests``: region -> image type -> {class: feature names | None}; shape requests use image "original"
    and class "shape". ``masks``: region -> bool [z, y, x] on the study grid."""

    image: np.ndarray
    geometry: Geometry
    masks: dict
    grid: ResampledGrid
    requests: dict
    settings: dict
    image_type_args: dict
    label: str = "regions"


@dataclass(frozen=True)
class KineticJob:
    """Kinetic features of every phase for a group of image types.
    ``requests``: image type -> {class: feature names | None}; ``phases``: raw [z, y, x] arrays."""

    phases: tuple
    geometry: Geometry
    tumour: np.ndarray
    grid: ResampledGrid
    requests: dict
    settings: dict
    image_type_args: dict
    reference: KineticReference
    bin_count: int = 64
    label: str = "kinetic"


@dataclass(frozen=True)
class JobResult:
    """``values``: name -> value (region jobs: full names; kinetic jobs: ``<image>_<class>_<feature>``);
    ``problems``: region -> reason it was not computable; ``seconds``: wall time of the job."""

    label: str
    values: dict
    problems: dict
    seconds: float
    per_phase: list | None = None


def _normalised_early(job: RegionJob) -> sitk.Image:
    from radiomics import imageoperations as iop

    img = to_sitk(job.image.astype(np.float32, copy=False), job.geometry)
    if job.settings.get("normalize", False):
        img = iop.normalizeImage(img, **job.settings)
    return resample_image(img, job.grid, job.settings.get("interpolator", "sitkBSpline"))


def run_region_job(job: RegionJob) -> JobResult:
    """Compute the requested region features; regions too small for 3D features are reported, not valued."""
    quiet_pyradiomics()
    t0 = time.perf_counter()
    values: dict[str, float] = {}
    problems: dict[str, str] = {}
    image = _normalised_early(job)
    spacing_xyz = job.grid.spacing
    pad = int(job.settings.get("padDistance", 5))
    target = job.settings.get("resampledPixelSpacing")
    itypes = {t for per in job.requests.values() for t in per}
    shared = filtered_images(image, itypes - set(POINTWISE_TYPES), job.image_type_args)
    base = sitk.GetArrayFromImage(image)
    for region, per_type in job.requests.items():
        study_mask = job.masks[region]
        why = region_problem(study_mask, f"region {region}")
        roi = None if why else resample_mask(study_mask, job.geometry, job.grid)
        if roi is not None:
            why = region_problem(roi, f"region {region} on the {spacing_xyz[0]:g} mm grid")
        if why:
            problems[region] = why
            continue
        pw_box = None
        for itype, classes in per_type.items():
            if itype in POINTWISE_TYPES:
                if pw_box is None:  # pyradiomics filters within the region's own resampled box
                    lo, hi, _ = resampled_box(mask_bbox_xyz(study_mask), job.geometry, target, pad)
                    pw_box = job.grid.sub_box(lo, hi)
                ref = float(np.max(np.abs(base[pw_box].astype(np.float64))))
                fimg = pointwise_filter(itype, base, ref)
            else:
                fimg = shared[itype]
            vals = compute_classes(fimg, roi, spacing_xyz, classes, job.settings)
            values.update({f"{region}__{itype}_{k}": v for k, v in vals.items()})
    return JobResult(job.label, values, problems, time.perf_counter() - t0)


def run_kinetic_job(job: KineticJob) -> JobResult:
    quiet_pyradiomics()
    t0 = time.perf_counter()
    per_phase, problems = kinetic_group_features(
        list(job.phases), job.geometry, job.tumour, job.grid, job.requests, job.image_type_args, job.reference,
        job.settings, job.settings.get("interpolator", "sitkBSpline"), job.bin_count)
    return JobResult(job.label, {}, problems, time.perf_counter() - t0, per_phase=per_phase)


def run_job(job) -> JobResult:
    """Entry point for workers (module-level so the spawn context can pickle it).

    BLAS is limited to one thread: the units are small matrix operations, and on a shared machine
    multi-threaded BLAS was measured 5-15x slower for them (GLCM MCC eigenvalues)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        if isinstance(job, RegionJob):
            return run_region_job(job)
        return run_kinetic_job(job)
