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
"""
from __future__ import annotations

import numpy as np

from tnbc_desktop.core.features.filters import (
    make_grid, mask_bbox_xyz, resample_image, resample_mask, resampled_box, to_sitk,
)
from tnbc_desktop.core.features.jobs import KineticJob, RegionJob
from tnbc_desktop.core.features.kinetic import affine_reference, kinetic_reference, phase_on_grid
from tnbc_desktop.core.features.region import region_problem
from tnbc_desktop.core.study import DCEStudy
from tnbc_desktop.errors import CancelledError


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


def region_jobs(study: DCEStudy, masks: dict, region_req: dict, early_phase: int, settings: dict,
                itype_args: dict, fine: bool, cancel=None) -> tuple[list, dict]:
    """Region units and region -> reason for regions that cannot be analysed. ``masks``: region -> bool
    [z, y, x] on the study grid (habitats and ring, used for the union box even if not requested)."""
    from radiomics import imageoperations as iop

    geometry = study.geometry
    target = settings["resampledPixelSpacing"]
    pad = int(settings.get("padDistance", 5))
    union = np.zeros(geometry.shape, bool)
    for m in masks.values():
        union |= m
    bbox = mask_bbox_xyz(union)
    if bbox is None:
        return [], {r: "no habitat or ring voxels" for r in region_req}
    grid = make_grid(bbox, geometry, target, pad)
    img = to_sitk(study.data[early_phase].astype(np.float32, copy=False), geometry)
    if settings.get("normalize", False):
        img = iop.normalizeImage(img, **settings)
    import SimpleITK as sitk

    image = sitk.GetArrayFromImage(resample_image(img, grid, settings.get("interpolator", "sitkBSpline")))
    _check(cancel)
    problems: dict[str, str] = {}
    jobs = []
    for region, per_type in region_req.items():
        study_mask = masks[region]
        why = region_problem(study_mask, f"region {region}")
        roi = None if why else resample_mask(study_mask, geometry, grid)
        if roi is not None:
            why = region_problem(roi, f"region {region} on the {grid.spacing[0]:g} mm grid")
        if why:
            problems[region] = why
            continue
        lo, hi, _ = resampled_box(mask_bbox_xyz(study_mask), geometry, target, pad)  # pyradiomics' box
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


def kinetic_jobs(study: DCEStudy, tumour: np.ndarray, kin_req: dict, settings: dict, itype_args: dict,
                 fine: bool, cancel=None, progress=None) -> tuple[list, str | None]:
    """Kinetic units (every phase resampled once onto the tumour box), or a reason they cannot be computed."""
    geometry = study.geometry
    target = settings["resampledPixelSpacing"]
    pad = int(settings.get("padDistance", 5))
    kgrid = make_grid(mask_bbox_xyz(tumour), geometry, target, pad)
    roi = resample_mask(tumour, geometry, kgrid)
    why = region_problem(roi, f"the tumour on the {kgrid.spacing[0]:g} mm grid")
    if why:
        return [], why
    interp = settings.get("interpolator", "sitkBSpline")
    scale = float(settings.get("normalizeScale", 1))
    mu0, sd0 = affine_reference(study.data[0])
    phases = []
    for ph in range(study.n_phases):
        _check(cancel)
        phases.append(phase_on_grid(study.data[ph], geometry, kgrid, mu0, sd0, scale, interp))
        if progress is not None:
            progress(ph + 1)
    ref = kinetic_reference(mu0, sd0, scale, phases[0])
    n_roi = int(roi.sum())
    jobs = []
    for i, group in enumerate(image_type_groups(list(kin_req), fine, kinetic=True)):
        req = {t: kin_req[t] for t in group}
        cost = study.n_phases * n_roi * sum(_n_classes(c) for c in req.values())
        jobs.append(KineticJob(tuple(phases), kgrid, roi, req, settings, itype_args, ref.pointwise_max,
                               int(settings.get("binCount", 64)), label=f"kinetic {i + 1}", cost=float(cost)))
    return jobs, None
