"""Issue #4 speed-ups of the radiomics extraction give the same values as the code they replace.

Bit for bit (``np.array_equal`` / ``==``): filters computed only inside the ROI box versus pyradiomics' filter on
the whole image cut to the box; the GLCM / first-order shortcuts and the array-based construction versus
pyradiomics' own classes on SimpleITK images; the discretisation versus ``imageoperations.binImage``.
"""
from __future__ import annotations

import logging

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from tnbc_desktop.core.features import filters, region
from tnbc_desktop.core.features.names import class_features


def _image(shape=(40, 44, 42), spacing=(1.0, 1.0, 1.0), seed=0) -> sitk.Image:
    rng = np.random.default_rng(seed)
    arr = (100 * ndimage.gaussian_filter(rng.normal(size=shape), 1.5) + 300).astype(np.float32)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing)
    return img


BOX = (slice(12, 29), slice(11, 33), slice(13, 30))  # [z, y, x], >= 11 voxels from every border


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.7, 0.8, 2.0)])
@pytest.mark.parametrize("sigma", [1.0, 3.0])
def test_log_in_box_equals_itk_filter_cut_to_box(spacing, sigma):
    img = _image(spacing=spacing)
    lrg = sitk.LaplacianRecursiveGaussianImageFilter()
    lrg.SetNormalizeAcrossScale(True)
    lrg.SetSigma(sigma)
    whole = sitk.GetArrayFromImage(lrg.Execute(img))
    part = filters.log_in_box(img, sigma, BOX)
    assert part.dtype == whole.dtype == np.float32
    assert np.array_equal(part, whole[BOX])


def test_log_box_at_the_image_border_equals_whole_image():
    img = _image(shape=(20, 24, 22))
    box = (slice(0, 20), slice(0, 9), slice(15, 22))
    whole = filters.log_images(img, [2.0], None)["log-sigma-2-0-mm-3D"]
    assert np.array_equal(filters.log_images(img, [2.0], box)["log-sigma-2-0-mm-3D"], whole[box])


@pytest.mark.parametrize("box", [BOX, (slice(2, 20), slice(0, 30), slice(5, 40))])  # inside / touching borders
def test_wavelet_in_box_equals_pyradiomics_cut_to_box(box):
    from radiomics import imageoperations as iop

    img = _image(shape=(39, 44, 41))  # odd sizes: pyradiomics pads them (wrap) before pywt.swtn
    whole = {name: sitk.GetArrayFromImage(im) for im, name, _ in iop.getWaveletImage(img, None, wavelet="coif1",
                                                                                        level=1)}
    part = filters.wavelet_images(img, {"wavelet": "coif1", "level": 1}, box)
    assert set(part) == set(whole) and len(part) == 8
    for name in whole:
        assert np.array_equal(part[name], whole[name][box]), name


def test_filtered_images_with_box_equal_whole_cut_to_box():
    img = _image()
    args = {"LoG": {"sigma": [1.0, 2.0]}, "Wavelet": {"wavelet": "coif1", "level": 1}}
    wanted = ["original", "log-sigma-1-0-mm-3D", "log-sigma-2-0-mm-3D", "wavelet-LLH", "wavelet-HHH", "square",
              "squareroot", "logarithm"]
    for ref in (None, {"square": 900.0, "squareroot": 900.0, "logarithm": 900.0}):
        whole = filters.filtered_images(img, wanted, args, ref)
        part = filters.filtered_images(img, wanted, args, ref, box=BOX)
        assert set(part) == set(whole) == set(wanted)
        for name in wanted:
            assert np.array_equal(part[name], whole[name][BOX]), name


def _texture_case(seed: int, gaps: bool):
    """A float image and an irregular ROI; ``gaps``: grey levels missing inside the ROI (pyradiomics then deletes
    GLCM rows/columns, so the GLCM grey levels are not 1..Ng)."""
    rng = np.random.default_rng(seed)
    img = ndimage.gaussian_filter(rng.normal(size=(14, 17, 16)), 1.0) * 40
    if gaps:
        img = np.where(img > 5, img + 60, img)
    mask = ndimage.binary_dilation(rng.random(img.shape) > 0.55, iterations=1)
    mask[0], mask[:, 0] = False, False
    return img.astype(np.float32), mask


def _plain(cls_name: str, image: np.ndarray, mask: np.ndarray, spacing, settings: dict) -> dict:
    """pyradiomics' own class on SimpleITK images (what RadiomicsFeatureExtractor runs after cropping)."""
    from radiomics import getFeatureClasses

    box = region.roi_crop(mask)
    img = sitk.GetImageFromArray(np.ascontiguousarray(image[box]))
    msk = sitk.GetImageFromArray(np.ascontiguousarray(mask[box]).astype(np.uint32))
    img.SetSpacing(spacing)
    msk.SetSpacing(spacing)
    fc = getFeatureClasses()[cls_name](img, msk, **settings)
    for f in class_features(cls_name):
        fc.enableFeatureByName(f)
    return {f"{cls_name}_{k}": float(v) for k, v in fc.execute().items()}


@pytest.mark.parametrize("seed,gaps", [(0, False), (1, True), (2, True)])
@pytest.mark.parametrize("binning", [{"binCount": 64}, {"binWidth": 2.5}])
def test_compute_classes_equal_plain_pyradiomics_classes(seed, gaps, binning):
    region.quiet_pyradiomics()
    logging.getLogger("radiomics").setLevel(logging.CRITICAL)
    image, mask = _texture_case(seed, gaps)
    spacing = (1.0, 1.0, 1.0)
    settings = dict(binning, label=1, voxelArrayShift=300)
    ours = region.compute_classes(image, mask, spacing, {c: None for c in region.BINNED_CLASSES} | {"shape": None},
                                  settings)
    for cls in sorted(region.BINNED_CLASSES) + ["shape"]:
        ref = _plain(cls, image, mask, spacing, settings)
        for k, v in ref.items():
            if k == "glcm_MCC":  # by eigenvalues of a symmetric matrix (region.py): equal to rounding only
                np.testing.assert_allclose(ours[k], v, rtol=1e-6)
            else:
                assert ours[k] == v or (np.isnan(ours[k]) and np.isnan(v)), (k, ours[k], v)


@pytest.mark.parametrize("binning", [{"binCount": 64}, {"binWidth": 3.0}, {"binCount": 16}])
def test_discretise_equals_pyradiomics_bin_image(binning):
    from radiomics import imageoperations as iop

    image, mask = _texture_case(3, gaps=True)
    binned, levels, ng = region.discretise(image, mask, binning)
    ref, _ = iop.binImage(image.copy(), mask, **binning)
    assert np.array_equal(binned, ref) and binned.dtype == ref.dtype
    assert np.array_equal(levels, np.unique(ref[mask])) and ng == int(ref[mask].max())
    image[tuple(a[0] for a in mask.nonzero())] = np.nan  # NaN in the ROI: pyradiomics' own path, same outcome

    def outcome(fn):
        try:
            return fn()[0]
        except ValueError as exc:  # np.histogram refuses a NaN range (binCount)
            return type(exc)

    got = outcome(lambda: region.discretise(image, mask, binning))
    ref = outcome(lambda: iop.binImage(image.copy(), mask, **binning))
    assert (got is ref) if isinstance(ref, type) else np.array_equal(got, ref)


def test_glcm_sums_equal_pyradiomics_boolean_mask_sums():
    rng = np.random.default_rng(4)
    gray = np.array([1, 2, 5, 6, 9, 13])
    P = rng.random((1, gray.size, gray.size, 13))
    P[:, 2, 3, 4] = 0.0
    add, sub = region._glcm_sums(P, gray)
    i, j = np.meshgrid(gray.astype(float), gray.astype(float), indexing="ij", sparse=True)
    ng = int(gray[-1])
    ref_add = np.array([np.sum(P[:, i + j == k, :], 1) for k in np.arange(2, 2 * ng + 1)]).transpose((1, 0, 2))
    ref_sub = np.array([np.sum(P[:, np.abs(i - j) == k, :], 1) for k in np.arange(0, ng)]).transpose((1, 0, 2))
    assert np.array_equal(add, ref_add) and np.array_equal(sub, ref_sub)


def test_parallel_cancel_while_phases_resample_stops_early_region_units():
    """With n_jobs > 1 the region units start in the pool while the phases are resampled; a cancel then must
    still raise, drop the queued units, and leave the next parallel extraction working."""
    import threading

    from tests.features_phantom import make_phantom
    from tnbc_desktop.core.features import extract_features
    from tnbc_desktop.errors import CancelledError

    study, regions = make_phantom()
    names = ["H1__original_firstorder_Mean", "H2__original_glcm_Contrast", "kin_mean__original_firstorder_Mean"]
    ev = threading.Event()
    seen = []

    def progress(step, frac):
        seen.append(step)
        if "resampled phase" in step:
            ev.set()

    with pytest.raises(CancelledError):
        extract_features(study, regions, names, early_phase=1, progress=progress, cancel=ev, n_jobs=2)
    assert any("resampled phase" in s for s in seen)
    serial = extract_features(study, regions, names, early_phase=1)
    again = extract_features(study, regions, names, early_phase=1, n_jobs=2)
    assert again.values == serial.values and len(serial.values) == 3


def test_name_parsing_fast_path_equals_longest_prefix_search():
    from tnbc_desktop.core.features import all_feature_names, load_params, parse_feature_name

    types = load_params().image_type_names()
    slow_types = tuple(types) + ("not_used_x",)  # an image type with "_" switches the fast path off
    for name in all_feature_names(types):
        assert parse_feature_name(name, types) == parse_feature_name(name, slow_types), name


def test_parameter_file_cache_follows_the_file_bytes(tmp_path):
    from tnbc_desktop.core.features import load_params
    from tnbc_desktop.errors import ConfigError

    text = open(load_params().source, encoding="utf-8").read()
    f = tmp_path / "params.yaml"
    f.write_text(text, encoding="utf-8")
    first = load_params(f)
    assert load_params(f) is first and first.settings["binCount"] == 64
    f.write_text(text.replace("binCount: 64", "binCount: 32"), encoding="utf-8")
    changed = load_params(f)
    assert changed.settings["binCount"] == 32 and changed.sha256 != first.sha256
    f.write_text(text.replace("binCount: 64", "binCount: 32\n  binWidth: 5"), encoding="utf-8")
    for _ in range(2):  # an invalid file is refused every time, never served from the cache
        with pytest.raises(ConfigError):
            load_params(f)
