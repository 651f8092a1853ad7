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
#: settings key carrying the shared discretisation into :func:`_prebinned` classes
PREBINNED_KEY = "_tnbc_prebinned"
BINNED_CLASSES = frozenset({"firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm"})


def _prebinned(base):
    """``base`` with ``_applyBinning`` replaced by a lookup of the discretised ROI computed once per (image, ROI).

    pyradiomics bins the same image with the same mask and settings once per feature class (6 times per image);
    every class gets here the result of that same ``imageoperations.binImage`` call, so values are unchanged."""

    class Prebinned(base):
        __module__ = base.__module__  # pyradiomics names its logger after the module

        def _applyBinning(self, matrix):  # noqa: N802 (pyradiomics naming)
            binned, gray_levels, ng = self.settings[PREBINNED_KEY]
            self.coefficients["grayLevels"] = gray_levels
            self.coefficients["Ng"] = ng
            return binned.copy()

    Prebinned.__name__ = Prebinned.__qualname__ = f"Prebinned{base.__name__}"
    return Prebinned


def feature_class(name: str):
    """The pyradiomics feature class to use for ``name`` (GLCM with the fast MCC; texture classes take their
    discretised image from the settings, see :func:`compute_classes`)."""
    if name not in _CLASS_OVERRIDES:
        if name == "glcm":
            cls = _fast_glcm_class()
        else:
            from radiomics import getFeatureClasses

            cls = getFeatureClasses()[name]
        _CLASS_OVERRIDES[name] = _prebinned(cls) if name in BINNED_CLASSES else cls
    return _CLASS_OVERRIDES[name]


def discretise(image_zyx: np.ndarray, mask_zyx: np.ndarray, settings: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """pyradiomics' discretisation of the ROI (``base._applyBinning``): (int matrix [z, y, x], grey levels present
    in the ROI, Ng = highest grey level)."""
    from radiomics import imageoperations as iop

    binned, _ = iop.binImage(image_zyx.copy(), mask_zyx, **settings)
    gray_levels = np.unique(binned[mask_zyx])
    return binned, gray_levels, int(np.max(gray_levels))


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
    image_box = np.ascontiguousarray(image_zyx[box])
    mask_box = np.ascontiguousarray(mask_zyx[box])
    img = _as_image(image_box, spacing_xyz)
    msk = _as_image(mask_box.astype(np.uint32), spacing_xyz)
    binned_settings = None
    if any(cls in BINNED_CLASSES for cls in requests):  # discretise once for all texture classes
        binned_settings = dict(settings)
        binned_settings[PREBINNED_KEY] = discretise(image_box, mask_box.astype(bool), settings)
    out: dict[str, float] = {}
    for cls, feats in requests.items():
        wanted = tuple(feats) if feats is not None else class_features(cls)
        fc = feature_class(cls)(img, msk, **(binned_settings if cls in BINNED_CLASSES else settings))
        for f in wanted:
            fc.enableFeatureByName(f)
        values = fc.execute()
        for f in wanted:
            v = values.get(f, np.nan)
            out[f"{cls}_{f}"] = float(v) if v is not None else float("nan")
    return out
