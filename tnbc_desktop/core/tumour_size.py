"""Longest diameters of the tumour in millimetres: in the axial plane and in 3D.

Method [D]: the farthest pair of *voxel centres* among the mask's boundary voxels (mask voxels with at least
one face-neighbour outside the mask) is found with the real voxel spacing; the farthest pair of a point set
lies on its convex hull, so the maximum pairwise distance is taken over the hull vertices only
(``scipy.spatial`` ConvexHull, then ``pdist``). The reported length runs from the *outer face* of one end voxel
to the outer face of the other - the centre distance plus one voxel's extent along that line
(sum_i |u_i| s_i for the unit direction u and spacing s) - as calipers are set on the outer edges of a lesion
on screen. This equals the length of the continuous object within one voxel, where the centre distance alone
under-reads by up to two voxels.

- ``axial_mm``: the largest maximum Feret diameter over the axial slices (RECIST 1.1 measures the longest
  in-plane diameter on whichever slice it is longest; that is usually, not always, the largest-area slice)
  [D]; ``axial_slice`` is that slice's index z and ``axial_ends`` its two end points.
- ``longest_3d_mm``: the same measure over all boundary voxels in 3D.

Because the direction matrix is orthonormal, distances in index space scaled by the spacing equal distances in
patient (LPS) space; end points are returned as fractional (z, y, x) voxel indices on the outer faces, for
drawing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist, squareform

from tnbc_desktop.core.regions import bounding_box

Point = tuple[float, float, float]


@dataclass(frozen=True)
class TumourDiameters:
    """Longest diameters (mm, outer face to outer face); end points as fractional (z, y, x) voxel indices."""

    axial_mm: float
    axial_slice: int
    axial_ends: tuple[Point, Point]
    longest_3d_mm: float
    ends_3d: tuple[Point, Point]

    def describe(self) -> str:
        """One line for the GUI and the report (slice numbered from 1 as shown to people)."""
        return (f"longest diameter {self.axial_mm:.1f} mm axial (slice {self.axial_slice + 1}), "
                f"{self.longest_3d_mm:.1f} mm 3D")


def boundary_voxels(mask: np.ndarray) -> np.ndarray:
    """Boundary voxels of a bool mask: inside voxels with a face-neighbour outside (or at the array edge)."""
    m = np.asarray(mask, dtype=bool)
    interior = ndimage.binary_erosion(m, structure=ndimage.generate_binary_structure(m.ndim, 1),
                                      border_value=0)
    return m & ~interior


def farthest_pair(points_mm: np.ndarray) -> tuple[float, int, int]:
    """(distance, i, j) of the two farthest points of (N, D) coordinates; (0, 0, 0) for fewer than 2 points.

    Candidates are the convex hull's vertices; points lying in a plane (one slice of a 3D mask) are measured
    in that plane, points on a line by their extreme projections."""
    pts = np.asarray(points_mm, dtype=float)
    if len(pts) < 2:
        return 0.0, 0, 0
    varying = np.flatnonzero(np.ptp(pts, axis=0) > 0)
    if varying.size == 0:
        return 0.0, 0, 0
    if varying.size < pts.shape[1]:
        return farthest_pair(pts[:, varying])
    candidates = np.arange(len(pts))
    if pts.shape[1] == 1:
        candidates = np.array([int(np.argmin(pts[:, 0])), int(np.argmax(pts[:, 0]))])
    elif len(pts) > pts.shape[1] + 1:
        try:
            candidates = ConvexHull(pts).vertices
        except QhullError:  # collinear (or otherwise degenerate) points: their extremes along the longest axis
            axis = int(np.argmax(np.ptp(pts, axis=0)))
            candidates = np.array([int(np.argmin(pts[:, axis])), int(np.argmax(pts[:, axis]))])
    d = squareform(pdist(pts[candidates]))
    i, j = np.unravel_index(int(np.argmax(d)), d.shape)
    return float(d[i, j]), int(candidates[i]), int(candidates[j])


def _caliper(points_mm: np.ndarray, spacing: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(length mm, end a, end b) of the farthest pair extended by half a voxel at each end (mm coordinates)."""
    d, i, j = farthest_pair(points_mm)
    a, b = points_mm[i].astype(float), points_mm[j].astype(float)
    if d == 0.0:
        return float(np.max(spacing)), a, b
    u = (b - a) / d
    extent = float(np.sum(np.abs(u) * spacing))
    return d + extent, a - u * extent / 2.0, b + u * extent / 2.0


def tumour_diameters(mask: np.ndarray, spacing_mm) -> TumourDiameters | None:
    """Longest axial and 3D diameters of a bool mask [z, y, x] with spacing (z, y, x) mm; None when empty."""
    arr = np.asarray(mask, dtype=bool)
    box = bounding_box(arr)
    if box is None:
        return None
    offset = np.array([s.start for s in box], dtype=float)
    inside = arr[box]
    spacing = np.asarray(spacing_mm, dtype=float)
    d3, a3, b3 = _caliper(np.argwhere(boundary_voxels(inside)) * spacing, spacing)
    ends_3d = tuple(_point(p / spacing + offset) for p in (a3, b3))

    best_mm, best_z, best_ends = -1.0, 0, ends_3d
    for k in np.flatnonzero(inside.any(axis=(1, 2))):
        dk, a, b = _caliper(np.argwhere(boundary_voxels(inside[k])) * spacing[1:], spacing[1:])
        if dk > best_mm:
            z = float(k + offset[0])
            best_mm, best_z = dk, int(z)
            best_ends = tuple(_point(np.concatenate(([z], p / spacing[1:] + offset[1:]))) for p in (a, b))
    return TumourDiameters(axial_mm=float(best_mm), axial_slice=best_z, axial_ends=best_ends,
                           longest_3d_mm=float(d3), ends_3d=ends_3d)


def _point(values) -> Point:
    return tuple(float(v) for v in values)
