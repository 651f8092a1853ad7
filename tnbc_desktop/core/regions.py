"""Peritumoral ring in millimetres (SPEC section 4).

Ring = voxels whose centre lies at Euclidean distance 0 < d <= width_mm from the nearest tumour voxel centre,
with the real (anisotropic) voxel spacing. Not an n-voxel dilation, which is wrong on 0.7x0.7x2 mm grids.
Computed on the tumour bounding box grown by the width (the only place ring voxels can be), then pasted back.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from tnbc_desktop.errors import GeometryError, MaskError

DISTANCE_TOLERANCE_MM = 1e-6  # voxels at exactly width_mm (up to float rounding) belong to the ring


def _crop_box(mask: np.ndarray, margin_vox: tuple[int, ...]) -> tuple[slice, ...]:
    box = []
    for axis, m in enumerate(margin_vox):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        box.append(slice(max(int(hit[0]) - m, 0), min(int(hit[-1]) + m + 1, mask.shape[axis])))
    return tuple(box)


def distance_to_tumour_mm(mask: np.ndarray, spacing_mm) -> np.ndarray:
    """Euclidean distance (mm, float64 [z, y, x]) from every voxel centre to the nearest tumour voxel centre."""
    return ndimage.distance_transform_edt(~np.asarray(mask, dtype=bool), sampling=tuple(float(s) for s in spacing_mm))


def peritumoral_ring(mask, spacing_mm, width_mm: float = 5.0, s0: np.ndarray | None = None,
                     air_threshold: float | None = None) -> np.ndarray:
    """Bool [z, y, x] ring of voxels with 0 < d <= ``width_mm`` around ``mask`` (bool array or ``Mask``).

    ``spacing_mm``: (z, y, x) in mm. When both ``s0`` (pre-contrast signal [z, y, x]) and ``air_threshold`` are
    given, ring voxels with S0 < air_threshold (air) are dropped.
    """
    arr = np.asarray(getattr(mask, "array", mask)).astype(bool, copy=False)
    if arr.ndim != 3:
        raise MaskError(f"tumour mask must be a 3D [z, y, x] array, got {arr.ndim}D")
    spacing = tuple(float(s) for s in spacing_mm)
    if len(spacing) != 3 or not all(math.isfinite(s) and s > 0 for s in spacing):
        raise GeometryError(f"voxel spacing must be three positive numbers (z, y, x) mm, got {spacing_mm}")
    if not (math.isfinite(width_mm) and width_mm > 0):
        raise MaskError(f"ring width must be a positive number of mm, got {width_mm}")
    if not arr.any():
        raise MaskError("tumour mask is empty; cannot build the peritumoral ring")
    margin = tuple(int(math.ceil(width_mm / s)) + 1 for s in spacing)
    box = _crop_box(arr, margin)
    d = distance_to_tumour_mm(arr[box], spacing)
    ring = np.zeros(arr.shape, dtype=bool)
    ring[box] = (d > 0) & (d <= width_mm + DISTANCE_TOLERANCE_MM)
    if s0 is not None and air_threshold is not None:
        s0 = np.asarray(s0)
        if s0.shape != arr.shape:
            raise GeometryError(f"pre-contrast image shape {s0.shape} does not match the mask {arr.shape}")
        ring &= ~(s0 < air_threshold)
    return ring
