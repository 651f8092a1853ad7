"""Resampling grid, crop boxes and filtered images.

The resampled grid replicates ``radiomics.imageoperations.resampleImage`` (same lattice, aligned to the input
origin; B-spline for the image, nearest neighbour for masks), computed over ONE box per image: the union of the
regions (or the tumour) plus ``padDistance``. Each region is then filtered on its own sub-box of that grid, the
box pyradiomics would resample for it, so LoG / wavelet borders and the point-wise filter scale (max|x| of the
box) are pyradiomics' own; resampled values agree with pyradiomics' to rounding (~1e-15 relative; ITK computes
physical points from the box origin). Arrays are [z, y, x]; SimpleITK sizes, spacings and boxes are (x, y, z).

Features only look inside the ROI's bounding box, so :func:`filtered_images` can return (and for LoG and
wavelet, compute) only that box: the same values, bit for bit, as filtering the whole box pyradiomics filters
and cutting the result (tests/test_features_speed_equivalence.py).
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
        up = [int(s - lo_ - n) for s, lo_, n in zip(image.GetSize(), grid.lower, grid.size)]
        return sitk.Crop(image, lo, up)
    return grid_resampler(grid, image.GetPixelID(), interpolator).Execute(crop_to_grid(image, grid))


def grid_resampler(grid: ResampledGrid, pixel_id: int, interpolator) -> sitk.ResampleImageFilter:
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
BSPLINE_MARGIN_VOXELS = 24


def crop_to_grid(image: sitk.Image, grid: ResampledGrid, margin: int = BSPLINE_MARGIN_VOXELS) -> sitk.Image:
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
                        margin: int = BSPLINE_MARGIN_VOXELS) -> tuple[np.ndarray, Geometry]:
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
        out = grid_resampler(grid, img.GetPixelID(), sitk.sitkNearestNeighbor).Execute(img)
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


Box = tuple  # [z, y, x] slices of an image array


def _recursive_gaussian(image: sitk.Image, sigma: float, direction: int, second_order: bool) -> sitk.Image:
    """One pass of ITK's recursive Gaussian (0th or 2nd order) along ``direction`` (0 = x), scale-normalised,
    as inside ``LaplacianRecursiveGaussianImageFilter``."""
    rg = sitk.RecursiveGaussianImageFilter()
    rg.SetSigma(float(sigma))
    rg.SetDirection(direction)
    rg.SetOrder(rg.SecondOrder if second_order else rg.ZeroOrder)
    rg.SetNormalizeAcrossScale(True)
    return rg.Execute(image)


def _crop_axis(image: sitk.Image, axis: int, lo: int, hi: int) -> sitk.Image:
    """``image`` restricted to indices lo..hi-1 along ITK axis ``axis`` (0 = x)."""
    index, size = [0, 0, 0], list(image.GetSize())
    index[axis], size[axis] = lo, hi - lo
    return sitk.RegionOfInterest(image, size, index)


def log_in_box(image: sitk.Image, sigma: float, box: Box) -> np.ndarray:
    """pyradiomics' LoG image (``LaplacianRecursiveGaussianImageFilter``, scale-normalised) inside ``box`` only.

    ITK computes, for each axis d, D2_d -> smooth along the two other axes (ascending) on the whole image, and sums
    the three in float32 as ``float(a + b / spacing_d^2)``. Each pass filters whole lines independently, so a pass
    is only run on the lines that later passes read: the 2nd-derivative pass on the whole image, the next only
    where axis d is inside the box, the last only where both are. Same passes on the same lines: bit-identical
    values (checked against the ITK filter in tests), ~30 % less work on a box with 15 mm padding.
    Returns float32 [z, y, x] of the box."""
    lo = [box[2].start, box[1].start, box[0].start]  # ITK order x, y, z
    hi = [box[2].stop, box[1].stop, box[0].stop]
    spacing = image.GetSpacing()
    total = None
    for d in range(3):
        a, b = [k for k in range(3) if k != d]
        part = _crop_axis(_recursive_gaussian(image, sigma, d, True), d, lo[d], hi[d])
        part = _crop_axis(_recursive_gaussian(part, sigma, a, False), a, lo[a], hi[a])
        part = _crop_axis(_recursive_gaussian(part, sigma, b, False), b, lo[b], hi[b])
        term = sitk.GetArrayViewFromImage(part).astype(np.float64) * (1.0 / (spacing[d] * spacing[d]))
        # ITK's cumulative image starts at 0 and adds in double precision, stored as float32 after each axis
        total = term.astype(np.float32) if total is None else (total.astype(np.float64) + term).astype(np.float32)
    return total


def log_images(image: sitk.Image, sigmas: list, box: Box | None) -> dict[str, np.ndarray]:
    """LoG images (pyradiomics names) for ``sigmas`` mm, whole image or only ``box``; sigmas pyradiomics would
    skip (image smaller than 4 voxels, or than sigma / spacing + 1) are skipped here too."""
    from radiomics import imageoperations as iop

    size = np.array(image.GetSize())
    spacing = np.array(image.GetSpacing())
    if box is None or np.min(size) < 4:
        return {name: sitk.GetArrayFromImage(img) for img, name, _ in iop.getLoGImage(image, None, sigma=sigmas)}
    out = {}
    for sigma in sigmas:
        if sigma > 0.0 and np.all(size >= np.ceil(sigma / spacing) + 1):
            out["log-sigma-%s-mm-3D" % (str(sigma).replace(".", "-"))] = log_in_box(image, sigma, box)
    return out


def wavelet_images(image: sitk.Image, args: dict, box: Box | None) -> dict[str, np.ndarray]:
    """pyradiomics' wavelet images (names ``wavelet-LLH``...), whole image or only ``box``.

    A level-1 stationary wavelet transform is a convolution along each axis with a filter of ``dec_len`` taps
    (periodic only at the image border), so away from the border a value depends only on its neighbours within
    ``dec_len`` voxels. With ``box`` (level 1, start level 0, box at least ``dec_len`` voxels inside the image),
    ``pywt.swtn`` runs on the box plus that margin (sizes made even as pyradiomics pads them): bit-identical
    values in the box (checked in tests), ~5x less work."""
    import pywt
    from radiomics import imageoperations as iop

    wavelet = pywt.Wavelet(args.get("wavelet", "coif1"))
    margin = int(wavelet.dec_len)
    arr = sitk.GetArrayViewFromImage(image)
    sub = None
    if box is not None and int(args.get("level", 1)) == 1 and int(args.get("start_level", 0)) == 0:
        sub = []
        for s, n in zip(box, arr.shape):
            lo, hi = s.start - margin, s.stop + margin
            hi += (hi - lo) % 2
            sub.append(slice(lo, hi))
        if any(s.start < 0 or s.stop > n for s, n in zip(sub, arr.shape)):
            sub = None  # too close to the border (periodic wrap): whole image
    if sub is None:
        out = {name: sitk.GetArrayFromImage(img) for img, name, _ in iop.getWaveletImage(image, None, **args)}
        return out if box is None else {k: v[box] for k, v in out.items()}
    data = np.array(arr[tuple(sub)])
    dec = pywt.swtn(data, wavelet, level=1, start_level=0, axes=(2, 1, 0))[0]  # pyradiomics' axes for 3D
    inner = tuple(slice(b.start - s.start, b.stop - s.start) for b, s in zip(box, sub))
    return {"wavelet-" + k.replace("a", "L").replace("d", "H"): np.ascontiguousarray(v[inner]) for k, v in dec.items()}


def filtered_images(image: sitk.Image, wanted: Iterable[str], image_type_args: dict[str, dict],
                    pointwise_ref: dict[str, float] | None = None, box: Box | None = None) -> dict[str, np.ndarray]:
    """Each wanted derived image of ``image`` (names as pyradiomics gives them), computed once.

    LoG and wavelet equal pyradiomics' own functions; point-wise filters scale by ``pointwise_ref[name]`` when
    given, else by the max|x| of the whole ``image``. With ``box`` ([z, y, x] slices, e.g. the ROI's bounding box)
    only the values inside the box are returned (and, for LoG and wavelet, computed): the same values as the
    whole-image filter cut to the box. Returns name -> [z, y, x] array.
    """
    wanted = set(wanted)
    out: dict[str, np.ndarray] = {}
    base = sitk.GetArrayFromImage(image)
    cut = (lambda a: a) if box is None else (lambda a: np.ascontiguousarray(a[box]))
    if "original" in wanted:
        out["original"] = cut(base)
    sigmas = [s for s in image_type_args.get("LoG", {}).get("sigma", [])
              if f"log-sigma-{str(s).replace('.', '-')}-mm-3D" in wanted]
    if sigmas:
        out.update(log_images(image, sigmas, box))
    if any(w.startswith("wavelet") for w in wanted) and "Wavelet" in image_type_args:
        out.update({k: v for k, v in wavelet_images(image, image_type_args["Wavelet"], box).items() if k in wanted})
    for kind in POINTWISE_TYPES:
        if kind in wanted:
            ref = None if pointwise_ref is None else pointwise_ref.get(kind)
            if ref is None:  # pyradiomics' scale: max|x| of the whole image, not of the box
                ref = float(np.max(np.abs(base.astype(np.float64))))
            out[kind] = pointwise_filter(kind, cut(base), ref)
    return out
