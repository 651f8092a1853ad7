"""Resampling grid, crop boxes and filtered images.

The resampled grid replicates ``radiomics.imageoperations.resampleImage`` (same lattice, aligned to the input
origin; B-spline for the image, nearest neighbour for masks), computed over ONE box per image: the union of the
regions (or the tumour) plus ``padDistance``. Each region is then filtered on its own sub-box of that grid, the
box pyradiomics would resample for it, so LoG / wavelet borders and the point-wise filter scale (max|x| of the
box) are pyradiomics' own; resampled values agree with pyradiomics' to rounding (~1e-15 relative; ITK computes
physical points from the box origin). Arrays are [z, y, x]; SimpleITK sizes, spacings and boxes are (x, y, z).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import SimpleITK as sitk

from tnbc_desktop.core.study import Geometry

POINTWISE_TYPES = ("square", "squareroot", "logarithm")


def to_sitk(array_zyx: np.ndarray, geometry: Geometry) -> sitk.Image:
    """A SimpleITK image of a [z, y, x] array on ``geometry`` (spacing/origin/direction in ITK (x, y, z))."""
    img = sitk.GetImageFromArray(array_zyx)
    img.SetSpacing(tuple(float(s) for s in geometry.spacing_mm[::-1]))
    img.SetOrigin(tuple(float(o) for o in geometry.origin_mm))
    img.SetDirection(tuple(float(d) for d in geometry.direction))
    return img


def mask_bbox_xyz(mask_zyx: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(lower, upper) inclusive voxel bounds (x, y, z) of a bool mask, or None if it is empty."""
    idx = np.nonzero(mask_zyx)
    if idx[0].size == 0:
        return None
    lo = np.array([idx[2].min(), idx[1].min(), idx[0].min()])
    hi = np.array([idx[2].max(), idx[1].max(), idx[0].max()])
    return lo, hi


@dataclass(frozen=True)
class ResampledGrid:
    """Output lattice of pyradiomics' resampling: lower corner index ``lower`` (x, y, z) on the new lattice,
    ``size`` (x, y, z), ``spacing`` mm (x, y, z), ``origin`` and ``direction`` (ITK), and whether the input
    was only cropped (spacing already equal: pyradiomics then crops instead of interpolating)."""

    lower: tuple[int, int, int]
    size: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]
    crop_only: bool

    def sub_grid(self, box: tuple[slice, slice, slice]) -> "ResampledGrid":
        """The grid of the [z, y, x] sub-box ``box`` of this grid's arrays (same lattice and spacing)."""
        offset = np.array([box[2].start, box[1].start, box[0].start], dtype=float)  # x, y, z
        size = (box[2].stop - box[2].start, box[1].stop - box[1].start, box[0].stop - box[0].start)
        direction = np.array(self.direction, dtype=float).reshape(3, 3)
        origin = np.array(self.origin) + direction @ (offset * np.array(self.spacing))
        return ResampledGrid(lower=tuple(int(lo + o) for lo, o in zip(self.lower, offset)),
                             size=tuple(int(v) for v in size), spacing=self.spacing,
                             origin=tuple(float(v) for v in origin), direction=self.direction,
                             crop_only=self.crop_only)

    def sub_box(self, lower: np.ndarray, upper: np.ndarray) -> tuple[slice, slice, slice]:
        """[z, y, x] slices of this grid's arrays for a box given in lattice indices (x, y, z), clipped."""
        lo = np.maximum(np.asarray(lower) - np.asarray(self.lower), 0)
        hi = np.minimum(np.asarray(upper) - np.asarray(self.lower), np.asarray(self.size) - 1)
        return tuple(slice(int(lo[d]), int(hi[d]) + 1) for d in (2, 1, 0))  # type: ignore[return-value]


def resampled_box(bbox: tuple[np.ndarray, np.ndarray], geometry: Geometry, target_spacing_xyz: Iterable[float],
                  pad: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Box (lower, upper, inclusive, lattice indices x, y, z) pyradiomics resamples for a mask with ``bbox``.

    Replicates ``imageoperations.resampleImage`` (and its crop-only branch when spacings already match).
    """
    lo, hi = bbox
    size_in = np.array(geometry.shape[::-1])
    spacing_in = np.array(geometry.spacing_mm[::-1], dtype=float)
    target = np.array(list(target_spacing_xyz), dtype=float)
    target = np.where(target == 0, spacing_in, target)
    if np.allclose(spacing_in, target):
        lower = np.maximum(lo - pad, 0)
        upper = np.minimum(hi + pad, size_in - 1)
        return lower.astype(int), upper.astype(int), True
    ratio = spacing_in / target
    bb_size = hi - lo + 1
    lower = np.floor((lo - 0.5) * ratio - pad)
    upper = np.ceil((lo + bb_size - 0.5) * ratio + pad)
    max_upper = np.ceil(size_in * ratio) - 1
    lower = np.where(lower < 0, 0, lower)
    upper = np.where(upper > max_upper, max_upper, upper)
    return lower.astype(int), upper.astype(int), False


def make_grid(bbox: tuple[np.ndarray, np.ndarray], geometry: Geometry, target_spacing_xyz: Iterable[float],
              pad: int) -> ResampledGrid:
    """The resampled grid covering ``bbox`` (x, y, z voxel bounds on the study grid) plus ``pad``."""
    target = np.array(list(target_spacing_xyz), dtype=float)
    spacing_in = np.array(geometry.spacing_mm[::-1], dtype=float)
    target = np.where(target == 0, spacing_in, target)
    lower, upper, crop_only = resampled_box(bbox, geometry, target, pad)
    size = (upper - lower + 1).astype(int)
    ref = to_sitk(np.zeros((1, 1, 1), np.uint8), geometry)
    if crop_only:
        origin = ref.TransformIndexToPhysicalPoint([int(v) for v in lower])
        spacing = tuple(float(s) for s in spacing_in)
    else:
        ratio = spacing_in / target
        new_origin_index = 0.5 * (target - spacing_in) / spacing_in
        origin = ref.TransformContinuousIndexToPhysicalPoint((new_origin_index + lower / ratio).tolist())
        spacing = tuple(float(s) for s in target)
    return ResampledGrid(lower=tuple(int(v) for v in lower), size=tuple(int(v) for v in size),
                         spacing=spacing, origin=tuple(float(o) for o in origin),
                         direction=tuple(float(d) for d in geometry.direction), crop_only=crop_only)


def resample_image(image: sitk.Image, grid: ResampledGrid, interpolator: str = "sitkBSpline") -> sitk.Image:
    """``image`` on ``grid``: B-spline (or the named interpolator) like pyradiomics; crop when spacing matches."""
    if grid.crop_only:
        lo = list(grid.lower)
        up = [int(s - l - n) for s, l, n in zip(image.GetSize(), grid.lower, grid.size)]
        return sitk.Crop(image, lo, up)
    return _resampler(grid, image.GetPixelID(), interpolator).Execute(crop_to_grid(image, grid))


def _resampler(grid: ResampledGrid, pixel_id: int, interpolator) -> sitk.ResampleImageFilter:
    """A ResampleImageFilter onto ``grid`` (interpolator: a sitk constant or its name)."""
    rif = sitk.ResampleImageFilter()
    rif.SetOutputSpacing(grid.spacing)
    rif.SetOutputDirection(grid.direction)
    rif.SetSize([int(s) for s in grid.size])
    rif.SetOutputOrigin(grid.origin)
    rif.SetOutputPixelType(pixel_id)
    rif.SetInterpolator(getattr(sitk, interpolator) if isinstance(interpolator, str) else interpolator)
    return rif


# Input voxels kept around the output grid before B-spline resampling. The cubic B-spline prefilter is a
# recursive filter whose influence decays as |z1|^n with z1 = sqrt(3) - 2 (|z1| = 0.268): 0.268^24 < 1e-13,
# so values equal resampling the whole volume to rounding, while a 96x512x512 study is no longer
# prefiltered in full for a ~40 mm box (12 s -> well under 1 s in bench/bench_end_to_end.py).
_BSPLINE_MARGIN_VOXELS = 24


def crop_to_grid(image: sitk.Image, grid: ResampledGrid, margin: int = _BSPLINE_MARGIN_VOXELS) -> sitk.Image:
    """The part of ``image`` that the resampling onto ``grid`` reads, plus ``margin`` voxels (same physical space)."""
    size_out = np.asarray(grid.size, dtype=float) - 1
    corners_idx = np.array([[i, j, k] for i in (0, size_out[0]) for j in (0, size_out[1]) for k in (0, size_out[2])])
    direction = np.asarray(grid.direction, dtype=float).reshape(3, 3)
    corners = np.asarray(grid.origin) + (corners_idx * np.asarray(grid.spacing)) @ direction.T
    cidx = np.array([image.TransformPhysicalPointToContinuousIndex(tuple(map(float, c))) for c in corners])
    size_in = np.asarray(image.GetSize())
    lower = np.clip(np.floor(cidx.min(axis=0)).astype(int) - margin, 0, size_in - 1)
    upper = np.clip(np.ceil(cidx.max(axis=0)).astype(int) + margin, 0, size_in - 1)
    if np.all(lower == 0) and np.all(upper == size_in - 1):
        return image
    return sitk.RegionOfInterest(image, [int(v) for v in upper - lower + 1], [int(v) for v in lower])


def grid_image(array_zyx: np.ndarray, grid: ResampledGrid) -> sitk.Image:
    """A SimpleITK image of an array that lives on ``grid`` (spacing, origin, direction of the grid)."""
    img = sitk.GetImageFromArray(array_zyx)
    img.SetSpacing(grid.spacing)
    img.SetOrigin(grid.origin)
    img.SetDirection(grid.direction)
    return img


def crop_array_for_grid(array_zyx: np.ndarray, geometry: Geometry, grid: ResampledGrid,
                        margin: int = _BSPLINE_MARGIN_VOXELS) -> tuple[np.ndarray, Geometry]:
    """The sub-array of a study-grid array [z, y, x] that resampling onto ``grid`` reads (+ ``margin`` voxels),
    with its own geometry (same physical space). Cheap numpy view; avoids converting a whole 96x512x512 phase.
    Only for resampling grids (``grid.crop_only`` grids index the full study grid)."""
    size_out = np.asarray(grid.size, dtype=float) - 1
    corners_idx = np.array([[i, j, k] for i in (0, size_out[0]) for j in (0, size_out[1]) for k in (0, size_out[2])])
    gdir = np.asarray(grid.direction, dtype=float).reshape(3, 3)
    corners = np.asarray(grid.origin) + (corners_idx * np.asarray(grid.spacing)) @ gdir.T
    sdir = np.asarray(geometry.direction, dtype=float).reshape(3, 3)
    ijk = np.linalg.solve(sdir, (corners - np.asarray(geometry.origin_mm)).T).T / np.asarray(geometry.spacing_mm[::-1])
    size_in = np.asarray(geometry.shape[::-1])
    lower = np.clip(np.floor(ijk.min(axis=0)).astype(int) - margin, 0, size_in - 1)
    upper = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + margin, 0, size_in - 1)
    sl = tuple(slice(int(lower[d]), int(upper[d]) + 1) for d in (2, 1, 0))
    sub = array_zyx[sl]
    origin = geometry.index_to_lps(np.array([[lower[2], lower[1], lower[0]]]))[0]
    return sub, Geometry(shape=tuple(int(v) for v in sub.shape), spacing_mm=geometry.spacing_mm,
                         origin_mm=tuple(float(v) for v in origin), direction=geometry.direction)


def resample_mask(mask_zyx: np.ndarray, geometry: Geometry, grid: ResampledGrid) -> np.ndarray:
    """A bool [z, y, x] mask on ``grid`` (nearest neighbour, as pyradiomics resamples masks)."""
    if grid.crop_only:
        out = resample_image(to_sitk(mask_zyx.astype(np.uint32), geometry), grid)
    else:
        # Not cropped: a cropped copy's origin differs in the last bits, which can flip nearest-neighbour ties
        # (1 mm grid points fall exactly half-way between 0.7 mm voxels) and change masks versus pyradiomics.
        img = to_sitk(mask_zyx.astype(np.uint32), geometry)
        out = _resampler(grid, img.GetPixelID(), sitk.sitkNearestNeighbor).Execute(img)
    return sitk.GetArrayFromImage(out) > 0


def pointwise_filter(kind: str, image: np.ndarray, ref_max_abs: float | None = None) -> np.ndarray:
    """pyradiomics' square / squareroot / logarithm of a float array, scaled by ``ref_max_abs`` = max|x| of a
    reference box (default: of ``image`` itself, which is exactly what pyradiomics does). float64 out."""
    im = np.asarray(image, dtype=np.float64).copy()
    m = float(np.max(np.abs(im))) if ref_max_abs is None else float(ref_max_abs)
    if kind == "square":
        coeff = 1 / np.sqrt(m)
        return (coeff * im) ** 2
    if kind == "squareroot":
        pos, neg = im > 0, im < 0
        im[pos] = np.sqrt(im[pos] * m)
        im[neg] = -np.sqrt(-im[neg] * m)
        return im
    if kind == "logarithm":
        pos, neg = im > 0, im < 0
        im[pos] = np.log(im[pos] + 1)
        im[neg] = -np.log(-(im[neg] - 1))
        return im * (m / np.log(m + 1))
    raise ValueError(f"unknown point-wise filter {kind!r}")


def filtered_images(image: sitk.Image, wanted: Iterable[str], image_type_args: dict[str, dict],
                    pointwise_ref: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Each wanted derived image of ``image`` (names as pyradiomics gives them), computed once.

    LoG and wavelet use pyradiomics' own functions; point-wise filters scale by ``pointwise_ref[name]`` when
    given, else by the max|x| of ``image``. Returns name -> [z, y, x] array.
    """
    from radiomics import imageoperations as iop

    wanted = set(wanted)
    out: dict[str, np.ndarray] = {}
    base = sitk.GetArrayFromImage(image)
    if "original" in wanted:
        out["original"] = base
    sigmas = [s for s in image_type_args.get("LoG", {}).get("sigma", [])
              if f"log-sigma-{str(s).replace('.', '-')}-mm-3D" in wanted]
    if sigmas:
        args = dict(image_type_args["LoG"], sigma=sigmas)
        for img, name, _ in iop.getLoGImage(image, None, **args):
            out[name] = sitk.GetArrayFromImage(img)
    if any(w.startswith("wavelet") for w in wanted) and "Wavelet" in image_type_args:
        for img, name, _ in iop.getWaveletImage(image, None, **image_type_args["Wavelet"]):
            if name in wanted:
                out[name] = sitk.GetArrayFromImage(img)
    for kind in POINTWISE_TYPES:
        if kind in wanted:
            ref = None if pointwise_ref is None else pointwise_ref.get(kind)
            out[kind] = pointwise_filter(kind, base, ref)
    return out
