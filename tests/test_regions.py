"""Peritumoral ring in millimetres.

Oracle: a brute-force loop over voxel centres computing the Euclidean distance (mm, real spacing) to every
tumour voxel centre; the ring must be exactly the voxels with 0 < d <= 5 mm. A 5-voxel binary dilation is
shown to give a different set on the anisotropic 2.0 x 0.7 x 0.7 mm grid (SPEC section 4).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tnbc_desktop.core.regions import DISTANCE_TOLERANCE_MM, peritumoral_ring
from tnbc_desktop.errors import GeometryError, MaskError

SPACING = (2.0, 0.7, 0.7)  # (z, y, x) mm


def brute_force_ring(mask: np.ndarray, spacing, width: float) -> np.ndarray:
    tumour = np.argwhere(mask) * np.asarray(spacing)
    ring = np.zeros(mask.shape, bool)
    for zyx in np.ndindex(mask.shape):
        if mask[zyx]:
            continue
        d = np.sqrt((((tumour - np.asarray(zyx) * np.asarray(spacing)) ** 2).sum(axis=1)).min())
        ring[zyx] = d <= width + DISTANCE_TOLERANCE_MM
    return ring


def irregular_tumour(shape=(12, 30, 30), seed=3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    c = np.array(shape) / 2
    r = np.sqrt(((z - c[0]) * 2.0) ** 2 + ((y - c[1]) * 0.7) ** 2 + ((x - c[2]) * 0.7) ** 2)
    mask = r < 4.0 + rng.uniform(0, 1.2, size=shape)
    mask[int(c[0]), 5:9, 14] = True  # a spike, to break symmetry
    return mask


def test_ring_equals_brute_force_oracle_and_differs_from_voxel_dilation():
    mask = irregular_tumour()
    ring = peritumoral_ring(mask, SPACING, 5.0)
    oracle = brute_force_ring(mask, SPACING, 5.0)
    assert ring.sum() > 0
    np.testing.assert_array_equal(ring, oracle)
    assert not (ring & mask).any()
    dilated = ndimage.binary_dilation(mask, structure=ndimage.generate_binary_structure(3, 3), iterations=5)
    wrong = dilated & ~mask
    assert wrong.sum() != ring.sum() and not np.array_equal(wrong, ring)
    # 5 voxels in z reach 10 mm: the dilation grabs voxels far beyond 5 mm
    assert (wrong & ~oracle).any()


def test_ring_near_border_and_crop_equals_full_volume():
    mask = np.zeros((6, 20, 20), bool)
    mask[0:2, 0:3, 15:20] = True  # touches three faces of the volume
    ring = peritumoral_ring(mask, SPACING, 3.0)
    np.testing.assert_array_equal(ring, brute_force_ring(mask, SPACING, 3.0))


def test_isotropic_exact_boundary_included():
    mask = np.zeros((1, 21, 21), bool)
    mask[0, 10, 10] = True
    ring = peritumoral_ring(mask, (1.0, 1.0, 1.0), 5.0)
    assert ring[0, 10, 15] and ring[0, 13, 14]  # d = 5 exactly (3-4-5 triangle)
    assert not ring[0, 10, 16] and not ring[0, 14, 14]  # 6 and 5.66 mm


def test_air_exclusion_and_errors():
    mask = irregular_tumour()
    s0 = np.full(mask.shape, 100.0)
    s0[:, :, :15] = 5.0  # left half is air
    full = peritumoral_ring(mask, SPACING, 5.0)
    no_air = peritumoral_ring(mask, SPACING, 5.0, s0=s0, air_threshold=20.0)
    np.testing.assert_array_equal(no_air, full & (s0 >= 20.0))
    assert no_air.sum() < full.sum()
    with pytest.raises(MaskError):
        peritumoral_ring(np.zeros((3, 3, 3), bool), SPACING)
    with pytest.raises(GeometryError):
        peritumoral_ring(mask, (0.0, 1.0, 1.0))
    with pytest.raises(GeometryError):
        peritumoral_ring(mask, SPACING, s0=s0[:-1], air_threshold=1.0)
