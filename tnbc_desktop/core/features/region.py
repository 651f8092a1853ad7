"""pyradiomics feature classes called directly on precomputed (filtered, resampled) arrays.

This is what ``RadiomicsFeatureExtractor.computeFeatures`` / ``computeShape`` do after filtering: crop image and
mask to the ROI bounding box (no padding) and run each feature class with the extractor's settings. A value
pyradiomics could not compute (it logs and returns NaN) is reported as not computable, never as a value.

Speed, same values: the texture and first-order classes are pyradiomics' own, constructed from the arrays (no
SimpleITK round trip per class), fed one shared discretisation, and with the slowest Python parts replaced by
bit-identical shortcuts (GLCM sums and cluster features, first-order moments and percentiles).
tests/test_features_speed_equivalence.py compares every value with pyradiomics' classes on SimpleITK images.

These shortcuts override private pyradiomics methods (``_calculateCoefficients``, ``_applyBinning``,
``_initCalculation``, ``_moment``) and the base constructor, as written in pyradiomics
:data:`OVERRIDES_WRITTEN_FOR`. On any other pyradiomics version they are not used: every class is pyradiomics'
own, on SimpleITK images, with its own discretisation (slower, values pyradiomics'), and a warning is logged once.
"""
from __future__ import annotations

import logging
from typing import Iterable, Mapping

import numpy as np
import SimpleITK as sitk

from tnbc_desktop.core.features.names import class_features
from tnbc_desktop.core.regions import bounding_box

#: a region with fewer voxels on the resampled grid is not analysed (3D texture needs a volume)
MIN_REGION_VOXELS = 8
#: the pyradiomics version whose private methods the shortcuts below override
OVERRIDES_WRITTEN_FOR = "3.1.4"
log = logging.getLogger("tnbc_desktop.features.region")
_OVERRIDES_OK: list[bool] = []  # one entry once decided for this process


def pyradiomics_version() -> str:
    """pyradiomics' version as installed (``radiomics.__version__`` without a leading "v")."""
    import radiomics

    return str(getattr(radiomics, "__version__", "unknown")).lstrip("v")


def overrides_enabled() -> bool:
    """True when the installed pyradiomics is the version the overrides were written for; else a warning is
    logged (once) and pyradiomics' own classes are used."""
    if not _OVERRIDES_OK:
        version = pyradiomics_version()
        ok = version == OVERRIDES_WRITTEN_FOR
        if not ok:
            log.warning("pyradiomics %s is installed but the fast feature classes were written for %s: using "
                        "pyradiomics' own classes (same values, slower)", version, OVERRIDES_WRITTEN_FOR)
        _OVERRIDES_OK.append(ok)
    return _OVERRIDES_OK[0]


def reset_version_check() -> None:
    """Forget the version decision and the classes built from it (after pyradiomics changed, e.g. in tests)."""
    _OVERRIDES_OK.clear()
    _CLASS_OVERRIDES.clear()


def _glcm_sums(P: np.ndarray, gray_levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p_{x+y} and p_{x-y} of a GLCM stack ``P`` (Nv, n, n, angles) whose rows/columns are ``gray_levels`` (n,).

    Returns (pxAddy (Nv, 2 Ng - 1, angles) for k = 2..2 Ng, pxSuby (Nv, Ng, angles) for k = 0..Ng-1), Ng = max
    grey level. pyradiomics sums ``P[:, i + j == k, :]`` for every k (a boolean mask per k); ``np.add.at`` adds
    the same entries in the same (row-major) order one after the other, so the sums are bit-identical."""
    nv, n, _, na = P.shape
    ng = int(gray_levels[-1])
    gl = gray_levels.astype(np.int64)
    flat = np.moveaxis(P.reshape(nv, n * n, na), 1, 0)  # (n*n, Nv, angles), row-major over (i, j)
    add = np.zeros((2 * ng - 1, nv, na))
    sub = np.zeros((ng, nv, na))
    np.add.at(add, (gl[:, None] + gl[None, :] - 2).ravel(), flat)
    np.add.at(sub, np.abs(gl[:, None] - gl[None, :]).ravel(), flat)
    return np.moveaxis(add, 0, 1), np.moveaxis(sub, 0, 1)


def _fast_glcm_class():
    """pyradiomics' GLCM class with faster, equivalent coefficients and features.

    - Maximal Correlation Coefficient: pyradiomics builds Q(i, j) = sum_k p(i,k) p(j,k) / (px(i) py(k) + eps)
      with a Python loop over k and takes the 2nd largest eigenvalue of the non-symmetric Q: seconds per call at
      ~250 grey levels (kinetic phases). Q = Dx^-1/2 (A A^T) Dx^1/2 with A = Dx^-1/2 P Dy^-1/2, so its
      eigenvalues are the squared singular values of A; MCC = sqrt(2nd largest eigenvalue of the symmetric
      A A^T). Equal to pyradiomics up to eps/(px py) (< 1e-6 relative).
    - p_{x+y}, p_{x-y} by :func:`_glcm_sums` (bit-identical, ~5x faster than a boolean mask per k).
    - Cluster prominence / shade / tendency: (i + j - ux - uy)^p depends on (i + j) only, so the power is taken
      once per distinct sum and gathered onto the (i, j) grid: same operands, same operations, bit-identical
      (``np.power`` over 64 x 64 x 13 elements was ~2 ms a call).
    """
    from radiomics.glcm import RadiomicsGLCM

    class FastGLCM(RadiomicsGLCM):
        __module__ = "radiomics.glcm"  # pyradiomics names its logger after the module; keep it quiet with ours

        def _calculateCoefficients(self):  # noqa: N802 (pyradiomics naming) - same maths as pyradiomics 3.1.4
            P = self.P_glcm
            gray = self.coefficients["grayLevels"]
            eps = np.spacing(1)
            ng_vector = gray.astype("float")
            i, j = np.meshgrid(ng_vector, ng_vector, indexing="ij", sparse=True)
            ng = self.coefficients["Ng"]
            px = P.sum(2, keepdims=True)
            py = P.sum(1, keepdims=True)
            ux = np.sum(i[None, :, :, None] * P, (1, 2), keepdims=True)
            uy = np.sum(j[None, :, :, None] * P, (1, 2), keepdims=True)
            pxAddy, pxSuby = _glcm_sums(P, gray)  # noqa: N806
            HXY = (-1) * np.sum((P * np.log2(P + eps)), (1, 2))  # noqa: N806
            self.coefficients.update(
                eps=eps, i=i, j=j, kValuesSum=np.arange(2, (ng * 2) + 1, dtype="float"),
                kValuesDiff=np.arange(0, ng, dtype="float"), px=px, py=py, ux=ux, uy=uy, pxAddy=pxAddy,
                pxSuby=pxSuby, HXY=HXY)

        def _cluster(self, power: int) -> np.ndarray:
            """sum_ij P(i,j) (i + j - ux - uy)^power per angle, mean over angles (pyradiomics' expression)."""
            c = self.coefficients
            if "_tnbc_sums" not in c:  # shared by the three cluster features
                sums = c["i"] + c["j"]  # (n, n): sums of integers, exact
                values, where = np.unique(sums, return_inverse=True)
                c["_tnbc_sums"] = (values, where.reshape(sums.shape))
            values, where = c["_tnbc_sums"]
            term = (values[None, None, :, None] - c["ux"] - c["uy"]) ** power  # (Nv, 1, n_sums, angles)
            full = term[:, 0][:, where, :]  # (Nv, n, n, angles)
            return np.nanmean(np.sum(self.P_glcm * full, (1, 2)), 1)

        def getClusterProminenceFeatureValue(self):  # noqa: N802
            return self._cluster(4)

        def getClusterShadeFeatureValue(self):  # noqa: N802
            return self._cluster(3)

        def getClusterTendencyFeatureValue(self):  # noqa: N802
            return self._cluster(2)

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

    return FastGLCM


def _fast_firstorder_class():
    """pyradiomics' first-order class computing shared intermediates once per ROI, bit-identically.

    Skewness and kurtosis both take the 2nd central moment and every moment recomputes the mean and the
    deviations; 10th/90th percentiles are taken twice (again for the robust MAD) and 25th/75th for the IQR,
    each a partition of the ROI. Here the deviations and each moment are computed once, the four percentiles
    in one ``nanpercentile`` call (the same order statistics and interpolation per q)."""
    from radiomics.firstorder import RadiomicsFirstOrder

    class FastFirstOrder(RadiomicsFirstOrder):
        __module__ = "radiomics.firstorder"

        def _initCalculation(self, voxelCoordinates=None):  # noqa: N802, N803
            super()._initCalculation(voxelCoordinates)
            self._tnbc_cache = {}

        def _moment(self, a, moment=1):
            if moment == 1 or a is not getattr(self, "targetVoxelArray", None):
                return RadiomicsFirstOrder._moment(a, moment)
            cache = self._tnbc_cache
            if "dev" not in cache:
                cache["dev"] = a - np.nanmean(a, 1, keepdims=True)
            key = ("moment", moment)
            if key not in cache:
                cache[key] = np.nanmean(np.power(cache["dev"], moment), 1)
            return cache[key].copy()  # callers edit the result in place (flat-region guards)

        def _percentile(self, q: int) -> np.ndarray:
            cache = self._tnbc_cache
            if "pct" not in cache:
                qs = (10, 25, 75, 90)
                cache["pct"] = dict(zip(qs, np.nanpercentile(self.targetVoxelArray, qs, axis=1)))
            return cache["pct"][q].copy()

        def get10PercentileFeatureValue(self):  # noqa: N802
            return self._percentile(10)

        def get90PercentileFeatureValue(self):  # noqa: N802
            return self._percentile(90)

        def getInterquartileRangeFeatureValue(self):  # noqa: N802
            return self._percentile(75) - self._percentile(25)

    return FastFirstOrder


_CLASS_OVERRIDES: dict = {}
#: settings key carrying the shared discretisation into :func:`_prebinned` classes
PREBINNED_KEY = "_tnbc_prebinned"
BINNED_CLASSES = frozenset({"firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm"})


def _prebinned(base):
    """``base`` with ``_applyBinning`` replaced by a lookup of the discretised ROI computed once per (image, ROI).

    pyradiomics bins the same image with the same mask and settings once per feature class (6 times per image);
    every class gets here the result of one :func:`discretise` call (equal to ``imageoperations.binImage``),
    so values are unchanged."""

    class Prebinned(base):
        __module__ = base.__module__  # pyradiomics names its logger after the module

        def _applyBinning(self, matrix):  # noqa: N802 (pyradiomics naming)
            binned, gray_levels, ng = self.settings[PREBINNED_KEY]
            self.coefficients["grayLevels"] = gray_levels
            self.coefficients["Ng"] = ng
            return binned.copy()

    Prebinned.__name__ = Prebinned.__qualname__ = f"Prebinned{base.__name__}"
    return Prebinned


class _ArrayImage:
    """What pyradiomics' texture and first-order classes read from their SimpleITK image / mask: the [z, y, x]
    array and ``GetSpacing()`` (x, y, z mm). Passed instead of SimpleITK images (see :func:`_array_base`)."""

    __slots__ = ("array", "spacing")

    def __init__(self, array: np.ndarray, spacing_xyz: tuple[float, float, float]):
        self.array = array
        self.spacing = tuple(float(v) for v in spacing_xyz)

    def GetSpacing(self):  # noqa: N802 (SimpleITK naming)
        return self.spacing


def _array_base():
    """``RadiomicsFeaturesBase`` whose constructor takes :class:`_ArrayImage` image and mask.

    pyradiomics' constructor converts both SimpleITK images back to arrays for every class instance (6 per
    image and ROI); the arrays are already there. Same attributes as pyradiomics 3.1.4 sets for segment-based
    extraction: ``maskArray = mask == label`` (a fresh array per instance, as pyradiomics');
    ``imageArray`` is shared, not copied: the texture classes replace it with their discretised copy and
    first-order only reads it. Placed after the pyradiomics class in the MRO (see :func:`feature_class`), so
    the class's own ``__init__`` runs unchanged and its ``super().__init__`` lands here."""
    from radiomics import getProgressReporter
    from radiomics.base import RadiomicsFeaturesBase

    class ArrayBase(RadiomicsFeaturesBase):
        def __init__(self, inputImage, inputMask, **kwargs):  # noqa: N803 (pyradiomics naming)
            if kwargs.get("voxelBased", False):
                raise ValueError("voxel-based extraction needs SimpleITK images")
            self.logger = logging.getLogger(self.__module__)
            self.progressReporter = getProgressReporter
            self.settings = kwargs
            self.label = kwargs.get("label", 1)
            self.voxelBased = False
            self.coefficients = {}
            self.enabledFeatures = {}
            self.featureValues = {}
            self.featureNames = self.getFeatureNames()
            self.inputImage = inputImage
            self.inputMask = inputMask
            self.imageArray = inputImage.array
            self.maskArray = inputMask.array == self.label

    return ArrayBase


def _with_cached_names(base):
    """``base`` whose ``getFeatureNames`` (an ``inspect.getmembers`` scan, run by every instance) is computed once."""
    names = base.getFeatureNames()

    class Cached(base):
        __module__ = base.__module__

        @classmethod
        def getFeatureNames(cls):  # noqa: N802 (pyradiomics naming)
            return dict(names)

    Cached.__name__ = Cached.__qualname__ = base.__name__
    return Cached


def feature_class(name: str):
    """The pyradiomics feature class to use for ``name``: GLCM and first-order with the shortcuts above; the
    texture and first-order classes are built from :class:`_ArrayImage` arrays and take their discretised image
    from the settings (see :func:`compute_classes`); shape is pyradiomics' own on SimpleITK images. With another
    pyradiomics version than :data:`OVERRIDES_WRITTEN_FOR`: pyradiomics' own class, unchanged."""
    if name not in _CLASS_OVERRIDES:
        _CLASS_OVERRIDES[name] = _build_class(name)
    return _CLASS_OVERRIDES[name]


def _build_class(name: str):
    from radiomics import getFeatureClasses

    if not overrides_enabled():
        return getFeatureClasses()[name]
    if name == "glcm":
        cls = _fast_glcm_class()
    elif name == "firstorder":
        cls = _fast_firstorder_class()
    else:
        cls = getFeatureClasses()[name]
    if name in BINNED_CLASSES:  # constructed from arrays (ArrayBase after the pyradiomics class in the MRO)
        cls = type(cls.__name__, (_prebinned(cls), _array_base()), {"__module__": cls.__module__})
    return _with_cached_names(cls)


def discretise(image_zyx: np.ndarray, mask_zyx: np.ndarray, settings: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """pyradiomics' discretisation of the ROI (``base._applyBinning``): (int matrix [z, y, x], grey levels present
    in the ROI, Ng = highest grey level).

    Same as ``imageoperations.binImage``, except that the bin edges are computed from the ROI's (min, max) only:
    pyradiomics' edges depend on nothing else (``binWidth``: Python ``min()``/``max()`` over the voxels, slow;
    ``binCount``: ``np.histogram`` of all voxels, whose counts are discarded). With NaN in the ROI pyradiomics'
    own path is used (Python's min/max and numpy's disagree there)."""
    from radiomics import imageoperations as iop

    values = image_zyx[mask_zyx]
    if values.size and not np.isnan(values).any():
        edges = iop.getBinEdges(np.array([values.min(), values.max()], dtype=values.dtype), **settings)
    else:
        edges = iop.getBinEdges(values, **settings)
    binned = np.zeros(image_zyx.shape, dtype="int")
    binned[mask_zyx] = np.digitize(values, edges)
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
    """[z, y, x] slices of the bounding box of a non-empty 3D mask (:func:`core.regions.bounding_box`)."""
    box = bounding_box(mask_zyx)
    if box is None:
        raise ValueError("the mask is empty")
    return box  # type: ignore[return-value]


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
    mask_box = np.ascontiguousarray(mask_zyx[box]).astype(np.uint32)  # the label image pyradiomics is given
    binned_settings = None
    fast = overrides_enabled()
    if fast and any(cls in BINNED_CLASSES for cls in requests):  # discretise once for all texture classes
        binned_settings = dict(settings)
        binned_settings[PREBINNED_KEY] = discretise(image_box, mask_box.astype(bool), settings)
    out: dict[str, float] = {}
    for cls, feats in requests.items():
        wanted = tuple(feats) if feats is not None else class_features(cls)
        if fast and cls in BINNED_CLASSES:
            fc = feature_class(cls)(_ArrayImage(image_box, spacing_xyz), _ArrayImage(mask_box, spacing_xyz),
                                    **binned_settings)
        else:  # shape (or any class without the overrides): pyradiomics reads SimpleITK images itself
            fc = feature_class(cls)(_as_image(image_box, spacing_xyz), _as_image(mask_box, spacing_xyz),
                                    **settings)
        for f in wanted:
            fc.enableFeatureByName(f)
        values = fc.execute()
        for f in wanted:
            v = values.get(f, np.nan)
            out[f"{cls}_{f}"] = float(v) if v is not None else float("nan")
    return out
