"""Box-limited imaging steps equal their whole-grid definitions, bit for bit.

Oracles are the whole-grid computations written out here the plain way (``np.nonzero`` over the whole grid,
``distance_transform_edt`` over the whole grid, full-size maps), on synthetic studies whose tumour touches
the volume edges (where a box or a margin could be clipped wrongly) and on one in the middle.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tnbc_desktop.core.curves import _curve_from_samples, region_curve
from tnbc_desktop.core.kinetics import KineticSettings, compute_kinetic_maps, kinetic_values, select_early_late
from tnbc_desktop.core.msi import msi_matrix
from tnbc_desktop.core.regions import DISTANCE_TOLERANCE_MM, bounding_box, peritumoral_ring
from tnbc_desktop.core.study import DCEStudy, Geometry, PhaseInfo

SPACING = (2.0, 0.7, 0.7)
TIMES = (0.0, 90.0, 180.0, 270.0, 360.0)


def make_study(shape, seed) -> DCEStudy:
    rng = np.random.default_rng(seed)
    base = rng.uniform(50, 400, size=shape).astype(np.float32)
    gain = rng.uniform(0.8, 2.5, size=shape).astype(np.float32)
    data = np.stack([base * (1 + (g - 1) * np.float32(min(t, 180.0) / 180.0)) for t, g in
                     zip(TIMES, [gain] * len(TIMES))]).astype(np.float32)
    data[0, 0, 0, :3] = [0.0, -5.0, 1e-4]  # S0 guard: invalid voxels
    geom = Geometry(shape=tuple(shape), spacing_mm=SPACING)
    phases = tuple(PhaseInfo(index=i, time_s=t, source_tag="user") for i, t in enumerate(TIMES))
    return DCEStudy(data=data, phase_times_s=TIMES, geometry=geom, phases=phases, layout="test",
                    timing_source="user", source="test")


def blob(shape, centre, radius_mm, seed) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    r = np.sqrt(((z - centre[0]) * SPACING[0]) ** 2 + ((y - centre[1]) * SPACING[1]) ** 2
                + ((x - centre[2]) * SPACING[2]) ** 2)
    return r < radius_mm + rng.uniform(0, 1.5, size=shape)


SHAPE = (14, 40, 44)
MASKS = {
    "middle": blob(SHAPE, (7, 20, 22), 5.0, 1),
    "corner_low": blob(SHAPE, (0, 0, 0), 6.0, 2),       # touches z=0, y=0, x=0
    "corner_high": blob(SHAPE, (13, 39, 43), 6.0, 3),   # touches the last slice, row and column
    "two_parts": blob(SHAPE, (2, 5, 40), 3.0, 4) | blob(SHAPE, (12, 35, 3), 3.0, 5),
}


def test_bounding_box_equals_nonzero_extent():
    rng = np.random.default_rng(0)
    cases = list(MASKS.values()) + [rng.random(SHAPE) > 0.999, np.zeros(SHAPE, bool), np.ones(SHAPE, bool)]
    single = np.zeros(SHAPE, bool)
    single[3, 0, 43] = True
    for mask in cases + [single, (rng.random(SHAPE) > 0.99).astype(np.uint8) * 3]:
        idx = np.nonzero(mask)
        for margin in (None, (1, 2, 3), (20, 0, 50)):
            got = bounding_box(mask, margin)
            if idx[0].size == 0:
                assert got is None
                continue
            m = margin or (0, 0, 0)
            want = tuple(slice(max(int(i.min()) - mm, 0), min(int(i.max()) + mm + 1, n))
                         for i, mm, n in zip(idx, m, mask.shape))
            assert got == want


@pytest.mark.parametrize("name", sorted(MASKS))
def test_ring_on_a_box_equals_the_whole_grid_ring(name):
    mask = MASKS[name]
    d = ndimage.distance_transform_edt(~mask, sampling=SPACING)
    for width in (1.0, 5.0, 12.0):
        want = (d > 0) & (d <= width + DISTANCE_TOLERANCE_MM)
        np.testing.assert_array_equal(peritumoral_ring(mask, SPACING, width), want)


def whole_grid_maps(study, mask, settings):
    """The kinetic maps computed over the whole grid (the definition, before the box)."""
    early, late = select_early_late(study.phase_times_s, settings)
    idx = np.nonzero(mask)
    s0, s1, s2 = (study.data[p][idx].astype(np.float64) for p in (0, early, late))
    pos = np.isfinite(s0) & np.isfinite(s1) & np.isfinite(s2) & (s0 > 0)
    ok = pos & (s0 >= settings.s0_min_fraction_of_median * float(np.median(s0[pos])))
    t = np.asarray(study.phase_times_s) / 60.0
    values = kinetic_values(s0[ok], s1[ok], s2[ok], t[0], t[early], t[late], settings.slopes,
                            settings.pe2_min_percent, settings.ser_clip)
    ok_idx = tuple(i[ok] for i in idx)
    maps = {}
    for name, v in zip(("pe", "ser", "wis", "wos"), values[:4]):
        m = np.full(mask.shape, np.nan, np.float32)
        m[ok_idx] = v
        maps[name] = m
    valid = np.zeros(mask.shape, bool)
    valid[ok_idx] = True
    return maps, valid


@pytest.mark.parametrize("name", sorted(MASKS))
@pytest.mark.parametrize("slopes", ["relative", "absolute"])
def test_kinetic_maps_on_the_box_equal_whole_grid_maps(name, slopes):
    study, mask = make_study(SHAPE, 7), MASKS[name]
    settings = KineticSettings(slopes=slopes, ser_clip=3.0)
    maps = compute_kinetic_maps(study, mask, settings)
    want, valid = whole_grid_maps(study, mask, settings)
    for key, arr in want.items():
        got = getattr(maps, key)
        assert got.dtype == np.float32 and got.shape == SHAPE
        np.testing.assert_array_equal(got.view(np.uint32), arr.view(np.uint32))  # NaN positions included
        assert maps.map(key.upper()) is got  # built once, then cached
    np.testing.assert_array_equal(maps.valid, valid)
    feats, idx = maps.voxel_features()
    widx = np.nonzero(valid)
    for a, b in zip(idx, widx):
        np.testing.assert_array_equal(a, b)
    wfeats = np.stack([want["wis"][widx], want["wos"][widx], want["ser"][widx], want["pe"][widx]], 1)
    np.testing.assert_array_equal(feats, wfeats.astype(np.float64))
    assert maps.shape == SHAPE and maps.n_mask_voxels == int(mask.sum())


@pytest.mark.parametrize("name", sorted(MASKS))
def test_region_curve_on_a_box_equals_the_whole_grid_curve(name):
    study, mask = make_study(SHAPE, 9), MASKS[name]
    early, late = select_early_late(study.phase_times_s, KineticSettings())
    want = _curve_from_samples(study.data[(slice(None),) + np.nonzero(mask)].astype(np.float64),
                               study.phase_times_s, early, late)
    box = bounding_box(mask, (1, 3, 2))
    for got in (region_curve(study, mask), region_curve(study, mask[box], box=box)):
        assert got.mean.tobytes() == want.mean.tobytes() and got.sd.tobytes() == want.sd.tobytes()
        assert (got.n_voxels, got.curve_type, got.initial_rise) == (want.n_voxels, want.curve_type,
                                                                    want.initial_rise)
    empty = region_curve(study, np.zeros(SHAPE, bool))
    assert empty.n_voxels == 0 and np.all(np.isnan(empty.mean))


def whole_grid_msi(labels, offsets_2d=True):
    """MSI counts by looping over every labelled voxel of the whole grid (edges count as background)."""
    m = np.zeros((4, 4), np.int64)
    pad = np.pad(labels.astype(np.int64), 1)
    for z, y, x in zip(*np.nonzero(labels)):
        c = labels[z, y, x]
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if (dy, dx) != (0, 0):
                    m[c, pad[z + 1, y + 1 + dy, x + 1 + dx]] += 1
    m[0, 0] = 0
    m[0, :] = m[:, 0]
    return m


@pytest.mark.parametrize("name", sorted(MASKS))
def test_msi_on_the_box_equals_whole_grid_counts(name):
    rng = np.random.default_rng(11)
    labels = np.where(MASKS[name], rng.integers(1, 4, SHAPE), 0).astype(np.uint8)
    np.testing.assert_array_equal(msi_matrix(labels), whole_grid_msi(labels))
