"""pyradiomics feature classes called directly on precomputed (filtered, resampled) arrays.

This is what ``RadiomicsFeatureExtractor.computeFeatures`` / ``computeShape`` do after filtering: crop image and
mask to the ROI bounding box (no padding) and run each feature class with the extractor's settings. A value
pyradiomics could not compute (it logs and returns NaN) is reported as not computable, never as a value.
"""
from __future__ import annotations

import logging
from typing import Iterable, Mapping

import numpy as np
import SimpleITK as sitk

from tnbc_desktop.core.features.names import class_features

#: a region with fewer voxels on the resampled grid is not analysed (3D texture needs a volume)
MIN_REGION_VOXELS = 8


def _fast_glcm_class():
    """pyradiomics' GLCM class with a faster, equivalent Maximal Correlation Coefficient.

    pyradiomics builds Q(i, j) = sum_k p(i,k) p(j,k) / (px(i) py(k) + eps) with a Python loop over k and takes
    the 2nd largest eigenvalue of the non-symmetric Q: seconds per call at ~250 grey levels (kinetic phases).
    Q = Dx^-1/2 (A A^T) Dx^1/2 with A = Dx^-1/2 P Dy^-1/2, so its eigenvalues are the squared singular values
    of A; MCC = sqrt(2nd largest eigenvalue of the symmetric A A^T). Equal to pyradiomics up to eps/(px py) (< 1e-6 relative).
    """
    from radiomics.glcm import RadiomicsGLCM

    class FastMCCGLCM(RadiomicsGLCM):
        __module__ = "radiomics.glcm"  # pyradiomics names its logger after the module; keep it quiet with ours
        def getMCCFeatureValue(self):  # noqa: N802 (pyradiomics naming)
            P = self.P_glcm  # (Nv, Ng, Ng, angles)
            if P.shape[1] < 2:
                return 1  # flat region, as pyradiomics
            px = self.coefficients["px"][:, :, 0, :]  # (Nv, Ng, angles)
            py = self.coefficients["py"][:, 0, :, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                sx = np.where(px > 0, 1.0 / np.sqrt(px), 0.0)
                sy = np.where(py > 0, 1.0 / np.sqrt(py), 0.0)
            A = P * sx[:, :, None, :] * sy[:, None, :, :]
            A = np.moveaxis(A, 3, 1)  # (Nv, angles, Ng, Ng)
            ev = np.linalg.eigvalsh(A @ np.swapaxes(A, 2, 3))  # ascending, real, >= 0 up to rounding
            return np.nanmean(np.sqrt(np.clip(ev[:, :, -2], 0, None)), 1)

    return FastMCCGLCM


_CLASS_OVERRIDES: dict = {}


def feature_class(name: str):
    """The pyradiomics feature class to use for ``name`` (GLCM with the fast MCC)."""
    if name == "glcm":
        if "glcm" not in _CLASS_OVERRIDES:
            _CLASS_OVERRIDES["glcm"] = _fast_glcm_class()
        return _CLASS_OVERRIDES["glcm"]
    from radiomics import getFeatureClasses

    return getFeatureClasses()[name]


def quiet_pyradiomics() -> None:
    """pyradiomics logs every failed feature at ERROR with a traceback; we report them ourselves."""
    logging.getLogger("radiomics").setLevel(logging.CRITICAL)


def region_problem(mask_zyx: np.ndarray, what: str) -> str | None:
    """Why features cannot be computed for a region mask (study or resampled grid), or None if they can."""
    n = int(np.count_nonzero(mask_zyx))
    if n == 0:
        return f"{what} is empty"
    idx = np.nonzero(mask_zyx)
    extents = [int(a.max() - a.min() + 1) for a in idx]
    if min(extents) < 2:
        axis = "zyx"[int(np.argmin(extents))]
        return f"{what} spans a single voxel along {axis} (3D features need a volume)"
    if n < MIN_REGION_VOXELS:
        return f"{what} has only {n} voxel(s) (at least {MIN_REGION_VOXELS} needed)"
    return None


def roi_crop(mask_zyx: np.ndarray) -> tuple[slice, slice, slice]:
    idx = np.nonzero(mask_zyx)
    return tuple(slice(int(a.min()), int(a.max()) + 1) for a in idx)  # type: ignore[return-value]


def _as_image(array: np.ndarray, spacing_xyz: tuple[float, float, float]) -> sitk.Image:
    img = sitk.GetImageFromArray(array)
    img.SetSpacing(spacing_xyz)
    return img


def compute_classes(image_zyx: np.ndarray, mask_zyx: np.ndarray, spacing_xyz: tuple[float, float, float],
                    requests: Mapping[str, Iterable[str] | None], settings: dict) -> dict[str, float]:
    """Run pyradiomics feature classes on one (image, ROI).

    ``requests``: class name -> feature names (None = all non-deprecated). ``settings``: pyradiomics settings
    (binCount / binWidth, voxelArrayShift, label=1...). Image and mask are cropped to the ROI box first.
    Returns ``"<class>_<feature>" -> value`` (NaN where pyradiomics failed).
    """
    box = roi_crop(mask_zyx)
    img = _as_image(np.ascontiguousarray(image_zyx[box]), spacing_xyz)
    msk = _as_image(np.ascontiguousarray(mask_zyx[box]).astype(np.uint32), spacing_xyz)
    out: dict[str, float] = {}
    for cls, feats in requests.items():
        wanted = tuple(feats) if feats is not None else class_features(cls)
        fc = feature_class(cls)(img, msk, **settings)
        for f in wanted:
            fc.enableFeatureByName(f)
        values = fc.execute()
        for f in wanted:
            v = values.get(f, np.nan)
            out[f"{cls}_{f}"] = float(v) if v is not None else float("nan")
    return out
