"""Resample once, then cut the work into units (steps 2-4 of :func:`extract.extract_features`).

- Region radiomics: the early phase is normalised as pyradiomics does (whole image) and resampled ONCE onto the
  union box of the habitats and ring; each region mask is resampled onto the same grid and checked. Each region
  then gets the part of that grid pyradiomics would use for it (its own box: bounding box + ``padDistance``),
  so LoG / wavelet borders and point-wise scales are pyradiomics' own (measured on ``make_patient(3)``: with
  the union box, LoG sigma 3 mm habitat features differed from pyradiomics by up to 0.9 %).
- Kinetic: every phase gets the pre-contrast affine transform and is resampled ONCE onto the tumour box; the
  pre-contrast box fixes the point-wise filter scale.
- Units: one region (region radiomics) or all phases (kinetic) for a group of image types. A group's filter
  (LoG sigma, one wavelet decomposition) is computed once per image in the unit; with ``n_jobs > 1`` the groups
  are finer (wavelet halves, one LoG sigma each) so the workers stay busy; units run largest first.
The grids never depend on which names were asked for, so lazy values equal full-extraction values.

Speed, same values: on a 96x512x512 study the whole-grid work used to dominate. Now boxes come from
axis projections (not ``np.nonzero`` of the grid); the masks are packed as bits of ONE uint8 image of the study
grid and resampled (nearest neighbour, the same lattice and tie rule) once per grid instead of one uint32 copy
per region; and pyradiomics' whole-image normalisation keeps ITK's whole-image mean and SD (the statistics
``sitk.Normalize`` uses) but applies the shift/scale only to the part of the early phase the B-spline resampling
reads. tests/test_speed_equivalence_features.py checks each step against the whole-grid path, bit for bit.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import SimpleITK as sitk

from tnbc_desktop.core.features.filters import (  # the crop margin must be crop_to_grid's own
    BSPLINE_MARGIN_VOXELS, ResampledGrid, grid_resampler, make_grid, resample_image, resampled_box, to_sitk,
)
from tnbc_desktop.core.features.jobs import KineticJob, RegionJob
from tnbc_desktop.core.features.kinetic import affine_reference, kinetic_reference, phase_on_grid
from tnbc_desktop.core.features.region import region_problem
from tnbc_desktop.core.phase_numbering import phase_name
from tnbc_desktop.core.regions import bounding_box
from tnbc_desktop.core.study import DCEStudy, Geometry
from tnbc_desktop.errors import CancelledError, FeatureError


def image_type_groups(itypes: list[str], fine: bool, kinetic: bool) -> list[list[str]]:
    """Image types grouped into units. Kinetic: wavelet, LoG, the rest (``fine``: wavelet in halves, LoG per
    sigma); one region: all (``fine``: wavelet, the rest)."""
    wav = [t for t in itypes if t.startswith("wavelet")]
    log = [t for t in itypes if t.startswith("log-sigma")]
    rest = [t for t in itypes if t not in wav and t not in log]
    if not kinetic:  # one region: everything, or wavelet / the rest
        groups = [wav, log + rest] if fine else [itypes]
    elif not fine:
        groups = [wav, log, rest]
    else:
        half = (len(wav) + 1) // 2
        groups = [wav[:half], wav[half:]] + [[t] for t in log] + [rest]
    return [g for g in groups if g]


def _check(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise CancelledError("feature extraction cancelled")


def _n_classes(classes: dict) -> float:
    """Rough cost weight of a request: the class matrices dominate, features add a little."""
    return sum(1.0 + 0.05 * (len(v) if v is not None else 20) for v in classes.values())


def box_to_xyz(box: tuple[slice, slice, slice] | None) -> tuple[np.ndarray, np.ndarray] | None:
    """[z, y, x] slices -> (lower, upper) inclusive voxel bounds (x, y, z), the form of ``mask_bbox_xyz``."""
    if box is None:
        return None
    return (np.array([box[2].start, box[1].start, box[0].start], dtype=np.intp),
            np.array([box[2].stop - 1, box[1].stop - 1, box[0].stop - 1], dtype=np.intp))


def union_xyz(bboxes) -> tuple[np.ndarray, np.ndarray] | None:
    """Bounding box (x, y, z) of the union of masks from their own boxes (None entries = empty masks)."""
    given = [b for b in bboxes if b is not None]
    if not given:
        return None
    return np.min([b[0] for b in given], axis=0), np.max([b[1] for b in given], axis=0)


def _region_problem_in_box(mask_zyx: np.ndarray, box, what: str) -> str | None:
    """``region_problem`` of a study-grid mask, looking only at its bounding box (same counts and extents)."""
    return region_problem(mask_zyx[box] if box is not None else mask_zyx[:0], what)


class PackedMasks:
    """Bool masks of the study grid packed as bits of one uint8 SimpleITK image (mask k = bit k).

    Nearest-neighbour resampling picks the same input voxel whatever the pixel values, so resampling the packed
    image once and taking bit k equals resampling mask k alone (``filters.resample_mask``), while the study
    grid is converted once, as uint8, instead of once per mask as uint32 (4x100 MB on a 96x512x512 study).
    The whole grid is kept (not cropped): a cropped image's origin differs in the last bits, which can flip
    nearest-neighbour ties on 1 mm grids (see ``filters.resample_mask``)."""

    def __init__(self, masks: dict, boxes: dict, geometry: Geometry):
        if len(masks) > 8:
            raise ValueError("at most 8 masks can be packed in a uint8 image")
        self.bits = {name: np.uint8(1 << k) for k, name in enumerate(masks)}
        self.geometry = geometry
        packed = np.zeros(geometry.shape, np.uint8)
        for name, m in masks.items():
            box = boxes.get(name)
            if box is not None:  # outside its box a mask is all False
                part = packed[box]
                part |= np.asarray(m[box], dtype=bool).view(np.uint8) * self.bits[name]
        self.array = packed
        self._image = None

    def on_grid(self, grid: ResampledGrid) -> dict[str, np.ndarray]:
        """name -> bool [z, y, x] mask on ``grid`` (nearest neighbour; crop when the spacing already matches)."""
        if grid.crop_only:
            (x0, y0, z0), (nx, ny, nz) = grid.lower, grid.size
            out = self.array[z0:z0 + nz, y0:y0 + ny, x0:x0 + nx]
        else:
            if self._image is None:
                self._image = to_sitk(self.array, self.geometry)
            rif = grid_resampler(grid, self._image.GetPixelID(), sitk.sitkNearestNeighbor)
            out = sitk.GetArrayFromImage(rif.Execute(self._image))
        return {name: (out & bit) > 0 for name, bit in self.bits.items()}


def _whole_image_stats(array_zyx: np.ndarray, geometry: Geometry) -> tuple[float, float]:
    """(mean, sigma) of the whole image exactly as ``sitk.Normalize`` computes them (ITK StatisticsImageFilter:
    compensated sums, sigma with n - 1). numpy's sums differ from ITK's in the last bit (measured on the
    realistic bench study), which could move resampled values by an ulp, so ITK's own filter is used."""
    stats = sitk.StatisticsImageFilter()
    stats.Execute(to_sitk(array_zyx, geometry))
    return float(stats.GetMean()), float(stats.GetSigma())


def _read_box(geometry: Geometry, grid: ResampledGrid) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper (inclusive, x, y, z) study voxels that B-spline resampling onto ``grid`` reads, plus the
    margin: the box ``filters.crop_to_grid`` cuts, computed the same way (ITK's point -> continuous index
    transform, which depends only on origin, spacing and direction, so a 1-voxel image with the study's
    geometry stands in for the whole study and no study-sized SimpleITK image is made)."""
    size_out = np.asarray(grid.size, dtype=float) - 1
    corners_idx = np.array([[i, j, k] for i in (0, size_out[0]) for j in (0, size_out[1]) for k in (0, size_out[2])])
    direction = np.asarray(grid.direction, dtype=float).reshape(3, 3)
    corners = np.asarray(grid.origin) + (corners_idx * np.asarray(grid.spacing)) @ direction.T
    ref = to_sitk(np.zeros((1, 1, 1), np.float32), geometry)
    cidx = np.array([ref.TransformPhysicalPointToContinuousIndex(tuple(map(float, c))) for c in corners])
    size_in = np.asarray(geometry.shape[::-1])
    lower = np.clip(np.floor(cidx.min(axis=0)).astype(int) - BSPLINE_MARGIN_VOXELS, 0, size_in - 1)
    upper = np.clip(np.ceil(cidx.max(axis=0)).astype(int) + BSPLINE_MARGIN_VOXELS, 0, size_in - 1)
    return lower, upper


def normalised_on_grid(study: DCEStudy, phase: int, grid: ResampledGrid, settings: dict) -> np.ndarray:
    """One phase normalised as pyradiomics' ``normalizeImage`` (when ``settings['normalize']``) and resampled
    onto ``grid`` (array [z, y, x] of the grid), transforming only the part of the phase the resampling reads.

    ``normalizeImage`` = ``sitk.Normalize`` (float64: (x - mean) / sigma with ITK's whole-image statistics)
    then ``* normalizeScale``; the same float64 operations are applied here to the read box only, and that box
    gets the origin ``sitk.RegionOfInterest`` would give it, so the B-spline input is the same image.
    ``removeOutliers`` (unused by the shipped parameter file) takes the whole-image path."""
    from radiomics import imageoperations as iop

    geometry = study.geometry
    raw = study.data[phase].astype(np.float32, copy=False)
    interp = settings.get("interpolator", "sitkBSpline")
    if settings.get("removeOutliers") is not None or not settings.get("normalize", False):
        img = to_sitk(raw, geometry)
        if settings.get("normalize", False):
            img = iop.normalizeImage(img, **settings)
        return sitk.GetArrayFromImage(resample_image(img, grid, interp))
    mean, sigma = _whole_image_stats(raw, geometry)
    if not (np.isfinite(mean) and np.isfinite(sigma) and sigma > 0):
        raise FeatureError(f"{phase_name(phase)} (the early phase radiomics use) is flat or not finite (mean "
                           f"{mean:g}, SD {sigma:g}): it cannot be normalised", study.source)
    shift, scale = -mean, 1.0 / sigma  # what NormalizeImageFilter hands to its ShiftScaleImageFilter
    factor = float(settings.get("normalizeScale", 1))

    def normalise(part: np.ndarray) -> np.ndarray:
        out = part.astype(np.float64)
        out += shift
        out *= scale
        out *= factor  # image *= normalizeScale in pyradiomics: a float64 multiply by the constant
        return out

    if grid.crop_only:
        (x0, y0, z0), (nx, ny, nz) = grid.lower, grid.size
        return normalise(raw[z0:z0 + nz, y0:y0 + ny, x0:x0 + nx])
    lower, upper = _read_box(geometry, grid)
    size_in = np.asarray(geometry.shape[::-1])
    if np.all(lower == 0) and np.all(upper == size_in - 1):
        img = to_sitk(normalise(raw), geometry)
    else:
        img = to_sitk(normalise(raw[lower[2]:upper[2] + 1, lower[1]:upper[1] + 1, lower[0]:upper[0] + 1]),
                      geometry)
        ref = to_sitk(np.zeros((1, 1, 1), np.float32), geometry)
        img.SetOrigin(ref.TransformIndexToPhysicalPoint([int(v) for v in lower]))  # as RegionOfInterest does
    return sitk.GetArrayFromImage(grid_resampler(grid, img.GetPixelID(), interp).Execute(img))


def region_jobs(study: DCEStudy, masks: dict, region_req: dict, early_phase: int, settings: dict,
                itype_args: dict, fine: bool, cancel=None) -> tuple[list, dict]:
    """Region units and region -> reason for regions that cannot be analysed. ``masks``: region -> bool
    [z, y, x] on the study grid (habitats and ring, used for the union box even if not requested)."""
    geometry = study.geometry
    target = settings["resampledPixelSpacing"]
    pad = int(settings.get("padDistance", 5))
    boxes = {name: bounding_box(m) for name, m in masks.items()}
    bbox = union_xyz([box_to_xyz(b) for b in boxes.values()])
    if bbox is None:
        return [], {r: "no habitat or ring voxels" for r in region_req}
    grid = make_grid(bbox, geometry, target, pad)
    image = normalised_on_grid(study, early_phase, grid, settings)
    _check(cancel)
    problems: dict[str, str] = {}
    jobs = []
    on_grid = None
    for region, per_type in region_req.items():
        study_mask = masks[region]
        why = _region_problem_in_box(study_mask, boxes[region], f"region {region}")
        if not why and on_grid is None:
            on_grid = PackedMasks(masks, boxes, geometry).on_grid(grid)
        roi = None if why else on_grid[region]
        if roi is not None:
            why = region_problem(roi, f"region {region} on the {grid.spacing[0]:g} mm grid")
        if why:
            problems[region] = why
            continue
        lo, hi, _ = resampled_box(box_to_xyz(boxes[region]), geometry, target, pad)  # pyradiomics' box
        box = grid.sub_box(lo, hi)
        sub = grid.sub_grid(box)
        image_r, roi_r = np.ascontiguousarray(image[box]), np.ascontiguousarray(roi[box])
        n_roi = int(roi_r.sum())
        for k, group in enumerate(image_type_groups(list(per_type), fine, kinetic=False)):
            req = {t: per_type[t] for t in group}
            cost = n_roi * sum(_n_classes(c) for c in req.values())
            jobs.append(RegionJob(region, image_r, sub, roi_r, req, settings, itype_args,
                                  label=f"{region} radiomics {k + 1}", cost=float(cost)))
    return jobs, problems


def _phases_on_grid(study: DCEStudy, grid: ResampledGrid, mu0: float, sd0: float, scale: float, interp: str,
                    cancel=None, progress=None) -> list[np.ndarray]:
    """Every phase transformed and resampled onto ``grid`` (``kinetic.phase_on_grid``), in phase order.

    Two phases at a time: SimpleITK releases the GIL while it resamples and the B-spline coefficient pass is
    single-threaded, so two threads took 0.56 s instead of 0.84 s for 6 phases of the realistic bench study.
    Each phase is computed by the same calls as before, so the arrays are the same; cancel is checked and
    progress reported between phases, in order."""
    n = study.n_phases
    workers = min(2, os.cpu_count() or 1, n)

    def one(ph: int) -> np.ndarray:
        return phase_on_grid(study.data[ph], study.geometry, grid, mu0, sd0, scale, interp)

    if workers < 2:
        out = []
        for ph in range(n):
            _check(cancel)
            out.append(one(ph))
            if progress is not None:
                progress(ph + 1)
        return out
    out = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="phase-resample") as pool:
        futures = [pool.submit(one, ph) for ph in range(n)]
        try:
            for ph, fut in enumerate(futures):
                _check(cancel)
                out.append(fut.result())
                if progress is not None:
                    progress(ph + 1)
        finally:
            for fut in futures:  # cancelled or failed: phases not started yet are dropped
                fut.cancel()
    return out


def kinetic_jobs(study: DCEStudy, tumour: np.ndarray, kin_req: dict, settings: dict, itype_args: dict,
                 fine: bool, cancel=None, progress=None) -> tuple[list, str | None]:
    """Kinetic units (every phase resampled once onto the tumour box), or a reason they cannot be computed."""
    geometry = study.geometry
    target = settings["resampledPixelSpacing"]
    pad = int(settings.get("padDistance", 5))
    tbox = bounding_box(tumour)
    kgrid = make_grid(box_to_xyz(tbox), geometry, target, pad)
    roi = PackedMasks({"tumour": tumour}, {"tumour": tbox}, geometry).on_grid(kgrid)["tumour"]
    why = region_problem(roi, f"the tumour on the {kgrid.spacing[0]:g} mm grid")
    if why:
        return [], why
    interp = settings.get("interpolator", "sitkBSpline")
    scale = float(settings.get("normalizeScale", 1))
    mu0, sd0 = affine_reference(study.data[0])
    phases = _phases_on_grid(study, kgrid, mu0, sd0, scale, interp, cancel, progress)
    ref = kinetic_reference(mu0, sd0, scale, phases[0])
    n_roi = int(roi.sum())
    jobs = []
    for i, group in enumerate(image_type_groups(list(kin_req), fine, kinetic=True)):
        req = {t: kin_req[t] for t in group}
        cost = study.n_phases * n_roi * sum(_n_classes(c) for c in req.values())
        jobs.append(KineticJob(tuple(phases), kgrid, roi, req, settings, itype_args, ref.pointwise_max,
                               int(settings.get("binCount", 64)), label=f"kinetic {i + 1}", cost=float(cost)))
    return jobs, None
