"""Units of extraction work on images that are already resampled; each unit is a picklable job run in-process or
in a worker of :mod:`tnbc_desktop.core.features.pool`.

The caller (prepare.py) resamples once: the normalised early phase onto the union box of the regions (each region
job gets its own box cut from it), every phase (kinetic transform applied) onto the tumour box, and every region
mask. A unit then only filters and runs feature classes, so the arrays it carries are the small resampled
boxes, not the study.

- :class:`RegionJob`: one region, some image types of the early phase, on the region's own box.
- :class:`KineticJob`: some image types of every phase with the shared pre-contrast transform (kinetic.py).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from tnbc_desktop.core.features.filters import ResampledGrid, filtered_images, grid_image
from tnbc_desktop.core.features.kinetic import kinetic_group_features
from tnbc_desktop.core.features.region import compute_classes, quiet_pyradiomics, roi_crop


@dataclass(frozen=True)
class RegionJob:
    """Region radiomics of ONE region for some image types of the early phase.

    ``image``: the normalised early phase on ``grid`` = the region's own pyradiomics box (its mask's bounding box
    plus ``padDistance`` on the resampled lattice), so filters see exactly what pyradiomics' filters see;
    ``roi``: the region on ``grid`` (bool [z, y, x]); ``requests``: image type -> {class: feature names | None};
    shape requests use image "original" and class "shape"."""

    region: str
    image: np.ndarray
    grid: ResampledGrid
    roi: np.ndarray
    requests: dict
    settings: dict
    image_type_args: dict
    label: str = "regions"
    cost: float = 1.0


@dataclass(frozen=True)
class KineticJob:
    """Kinetic features of every phase for a group of image types.

    ``phases``: per phase the transformed image on ``grid`` (float32 [z, y, x]); ``roi``: the tumour on ``grid``;
    ``requests``: image type -> {class: feature names | None}; ``pointwise_max``: point-wise filter scales fixed
    by the pre-contrast phase."""

    phases: tuple
    grid: ResampledGrid
    roi: np.ndarray
    requests: dict
    settings: dict
    image_type_args: dict
    pointwise_max: dict
    bin_count: int = 64
    label: str = "kinetic"
    cost: float = 1.0


@dataclass(frozen=True)
class JobResult:
    """``values``: name -> value (region jobs: full names; kinetic jobs: ``<image>_<class>_<feature>`` per phase
    in ``per_phase``); ``problems``: region or image type -> reason it was not computable; ``seconds``: wall
    time of the job."""

    label: str
    values: dict
    problems: dict
    seconds: float
    per_phase: list | None = None


def run_region_job(job: RegionJob) -> JobResult:
    """Compute the requested features of one region (checked by the caller): each filter once on the region's
    box, its values kept (and, for LoG / wavelet, computed) only inside the ROI's bounding box, where the
    feature classes look; point-wise filters scale by max|x| of the region's box, as pyradiomics does."""
    quiet_pyradiomics()
    t0 = time.perf_counter()
    box = roi_crop(job.roi)  # features only look inside the ROI's bounding box: filter only there
    filtered = filtered_images(grid_image(job.image, job.grid), set(job.requests), job.image_type_args, box=box)
    roi_box = np.ascontiguousarray(job.roi[box])
    values: dict[str, float] = {}
    for itype, classes in job.requests.items():
        vals = compute_classes(filtered[itype], roi_box, job.grid.spacing, classes, job.settings)
        values.update({f"{job.region}__{itype}_{k}": v for k, v in vals.items()})
    return JobResult(job.label, values, {}, time.perf_counter() - t0)


def run_kinetic_job(job: KineticJob) -> JobResult:
    quiet_pyradiomics()
    t0 = time.perf_counter()
    per_phase, problems = kinetic_group_features(
        list(job.phases), job.roi, job.grid, job.requests, job.image_type_args, job.pointwise_max, job.settings,
        job.bin_count)
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
