"""Feature preparation without whole-grid temporaries gives the same arrays, bit for bit.

Oracle: the whole-grid path written out here as it was: ``to_sitk`` of the whole early phase,
pyradiomics' ``normalizeImage`` over the whole image, ``filters.resample_image``; one uint32 copy of each
region mask through ``filters.resample_mask``; boxes from ``mask_bbox_xyz`` (``np.nonzero``); the
pre-contrast reference from ``kinetic.affine_reference``; phases resampled one after the other. Studies:
anisotropic 2 x 0.7 x 0.7 mm with the tumour in the middle or against the volume edge, a non-identity
direction, and a 1 mm isotropic study (pyradiomics crops instead of resampling there).
"""
from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics import imageoperations as iop

from tnbc_desktop.core.features.filters import make_grid, mask_bbox_xyz, resample_image, resample_mask, \
    resampled_box, to_sitk
from tnbc_desktop.core.features.kinetic import affine_reference, kinetic_reference, phase_on_grid
from tnbc_desktop.core.features.params import load_params
from tnbc_desktop.core.features.prepare import PackedMasks, kinetic_jobs, normalised_on_grid, region_jobs
from tnbc_desktop.core.regions import peritumoral_ring
from tnbc_desktop.core.study import DCEStudy, Geometry, PhaseInfo

TIMES = (0.0, 90.0, 180.0, 270.0)
FLIP = (1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0)


def make_case(shape, spacing, centre, direction=None, seed=0):
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    r = np.sqrt(((z - centre[0]) * spacing[0]) ** 2 + ((y - centre[1]) * spacing[1]) ** 2
                + ((x - centre[2]) * spacing[2]) ** 2)
    tumour = r < 7.0 + rng.uniform(0, 1.5, size=shape)
    base = rng.gamma(4.0, 60.0, size=shape).astype(np.float32) * np.float32(0.37)
    data = np.stack([base * np.float32(1 + k * 0.3) + np.where(tumour, 80.0 * k, 0.0).astype(np.float32)
                     for k in range(len(TIMES))]).astype(np.float32)
    geom = Geometry(shape=tuple(shape), spacing_mm=tuple(spacing), origin_mm=(-31.3, 12.9, -4.1),
                    **({"direction": direction} if direction else {}))
    study = DCEStudy(data=data, phase_times_s=TIMES, geometry=geom,
                     phases=tuple(PhaseInfo(index=i, time_s=t, source_tag="user") for i, t in enumerate(TIMES)),
                     layout="test", timing_source="user", source="test")
    ring = peritumoral_ring(tumour, spacing, 5.0)
    labels = np.where(tumour, 1 + (x + 2 * y) % 3, 0).astype(np.uint8)  # three interleaved habitats
    masks = {"H1": labels == 1, "H2": labels == 2, "H3": labels == 3, "ring": ring}
    return study, tumour, masks


CASES = {
    "middle": ((16, 70, 72), (2.0, 0.7, 0.7), (8, 35, 36), None),
    "interior": ((90, 150, 156), (2.0, 0.7, 0.7), (45, 75, 78), None),  # B-spline read box strictly inside
    "edge": ((12, 60, 64), (2.0, 0.7, 0.7), (1, 3, 60), None),
    "flipped_direction": ((14, 64, 60), (2.0, 0.7, 0.7), (6, 20, 40), FLIP),
    "isotropic_1mm": ((30, 40, 42), (1.0, 1.0, 1.0), (15, 20, 21), None),
}


@pytest.fixture(scope="module")
def settings():
    s = load_params().settings_dict()
    s["label"] = 1
    return s


def old_normalised_on_grid(study, phase, grid, settings):
    img = iop.normalizeImage(to_sitk(study.data[phase].astype(np.float32, copy=False), study.geometry), **settings)
    return sitk.GetArrayFromImage(resample_image(img, grid, settings["interpolator"]))


def union_grid(study, masks, settings, pad=None):
    union = np.zeros(study.geometry.shape, bool)
    for m in masks.values():
        union |= m
    return make_grid(mask_bbox_xyz(union), study.geometry, settings["resampledPixelSpacing"],
                     int(settings["padDistance"] if pad is None else pad))


def test_interior_case_really_crops_before_resampling(settings):
    """Guards the case above: its read box must be strictly inside the study, or a crop bug would not show."""
    from tnbc_desktop.core.features.prepare import _read_box

    study, _, masks = make_case(*CASES["interior"])
    lower, upper = _read_box(study.geometry, union_grid(study, masks, settings))
    assert np.all(lower > 0) and np.all(upper < np.asarray(study.geometry.shape[::-1]) - 1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_normalised_early_phase_on_the_grid_equals_whole_image_normalisation(name, settings):
    study, _, masks = make_case(*CASES[name])
    for pad in (settings["padDistance"], 200):  # 200: the grid covers the whole study (nothing to crop)
        grid = union_grid(study, masks, settings, pad)
        got = normalised_on_grid(study, 1, grid, settings)
        want = old_normalised_on_grid(study, 1, grid, settings)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("name", sorted(CASES))
def test_packed_masks_resample_like_one_mask_at_a_time(name, settings):
    study, tumour, masks = make_case(*CASES[name])
    overlapping = dict(masks, tumour=tumour, odd=np.roll(tumour, 3, axis=2))  # overlaps are kept apart too
    from tnbc_desktop.core.regions import bounding_box

    packed = PackedMasks(overlapping, {k: bounding_box(m) for k, m in overlapping.items()}, study.geometry)
    for grid in (union_grid(study, masks, settings), union_grid(study, {"t": tumour}, settings, 3)):
        got = packed.on_grid(grid)
        for key, m in overlapping.items():
            np.testing.assert_array_equal(got[key], resample_mask(m, study.geometry, grid), err_msg=key)


@pytest.mark.parametrize("name", sorted(CASES))
def test_region_and_kinetic_units_get_the_whole_grid_arrays(name, settings):
    """region_jobs / kinetic_jobs against the whole-grid preparation they replace."""
    study, tumour, masks = make_case(*CASES[name])
    req = {r: {"original": {"firstorder": ["Mean"]}} for r in masks}
    jobs, problems = region_jobs(study, masks, req, 1, settings, {}, fine=False)
    assert not problems
    grid = union_grid(study, masks, settings)
    image = old_normalised_on_grid(study, 1, grid, settings)
    target, pad = settings["resampledPixelSpacing"], int(settings["padDistance"])
    for job in jobs:
        roi = resample_mask(masks[job.region], study.geometry, grid)
        lo, hi, _ = resampled_box(mask_bbox_xyz(masks[job.region]), study.geometry, target, pad)
        box = grid.sub_box(lo, hi)
        assert job.grid == grid.sub_grid(box)
        assert job.image.tobytes() == np.ascontiguousarray(image[box]).tobytes()
        np.testing.assert_array_equal(job.roi, roi[box])

    kjobs, why = kinetic_jobs(study, tumour, {"original": {"firstorder": ["Mean"]}}, settings, {}, fine=False)
    assert why is None and kjobs
    kgrid = make_grid(mask_bbox_xyz(tumour), study.geometry, target, pad)
    mu0, sd0 = affine_reference(study.data[0])
    scale = float(settings["normalizeScale"])
    phases = [phase_on_grid(study.data[p], study.geometry, kgrid, mu0, sd0, scale, settings["interpolator"])
              for p in range(study.n_phases)]
    job = kjobs[0]
    assert job.grid == kgrid
    np.testing.assert_array_equal(job.roi, resample_mask(tumour, study.geometry, kgrid))
    assert [p.tobytes() for p in job.phases] == [p.tobytes() for p in phases]
    assert job.pointwise_max == kinetic_reference(mu0, sd0, scale, phases[0]).pointwise_max


def test_kinetic_preparation_reports_progress_in_phase_order_and_can_be_cancelled(settings):
    import threading

    from tnbc_desktop.errors import CancelledError

    study, tumour, _ = make_case(*CASES["middle"])
    seen = []
    kinetic_jobs(study, tumour, {"original": {"firstorder": ["Mean"]}}, settings, {}, fine=False,
                 progress=seen.append)
    assert seen == list(range(1, study.n_phases + 1))
    cancel = threading.Event()

    def stop_after_first(k):
        cancel.set()

    with pytest.raises(CancelledError):
        kinetic_jobs(study, tumour, {"original": {"firstorder": ["Mean"]}}, settings, {}, fine=False,
                     cancel=cancel, progress=stop_after_first)
