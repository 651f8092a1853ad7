"""Extraction: equality with plain pyradiomics, lazy == full, across-phase statistics, failure reporting."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.stats

from tests.features_phantom import make_phantom
from tnbc_desktop.core.features import extract_features, load_params
from tnbc_desktop.core.features.filters import pointwise_filter, to_sitk
from tnbc_desktop.core.features.kinetic import across_phase_stats
from tnbc_desktop.core.features.names import REGIONS, all_feature_names
from tnbc_desktop.errors import CancelledError, FeatureError, GeometryError


@pytest.fixture(scope="module")
def phantom():
    return make_phantom()


@pytest.fixture(scope="module")
def full(phantom):
    study, regions = phantom
    return extract_features(study, regions, early_phase=1)


def test_full_extraction_count_and_all_finite(full):
    assert len(full.values) + len(full.not_computable) == 11238
    assert not full.not_computable
    assert all(np.isfinite(v) for v in full.values.values())
    assert len(full.params_sha256) == 64


def test_lazy_subset_equals_full(phantom, full):
    study, regions = phantom
    rng = np.random.default_rng(7)
    names = list(rng.choice(sorted(full.values), size=25, replace=False)) + ["MSI_H1H2"]
    lazy = extract_features(study, regions, names, early_phase=1)
    assert set(lazy.values) == set(names)
    for n in names:
        assert lazy.values[n] == full.values[n], n


def test_region_features_equal_plain_pyradiomics(phantom, full):
    """Oracle: pyradiomics' RadiomicsFeatureExtractor with the same parameter file, one execute() per region.
    The phantom is small, so every crop box (ours and pyradiomics' per region) is the whole resampled image;
    values must agree to rounding (GLCM MCC to 1e-6, see region.py)."""
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    study, regions = phantom
    ext = RadiomicsFeatureExtractor(load_params().source)
    image = to_sitk(study.data[1], study.geometry)
    for region in REGIONS:
        mask = to_sitk(regions.region(region).astype(np.uint32), study.geometry)
        ref = {k: float(v) for k, v in ext.execute(image, mask).items() if not k.startswith("diagnostics")}
        assert len(ref) == 1409
        for k, v in ref.items():
            tol = 1e-6 if k.endswith("_MCC") else 1e-9
            np.testing.assert_allclose(full.values[f"{region}__{k}"], v, rtol=tol, atol=1e-12, err_msg=k)


def test_pointwise_filters_equal_pyradiomics():
    from radiomics import imageoperations as iop

    arr = np.random.default_rng(0).normal(0, 50, (6, 7, 8)).astype(np.float32)
    img = to_sitk(arr, make_phantom()[0].geometry.__class__(shape=(6, 7, 8), spacing_mm=(1.0, 1.0, 1.0)))
    for kind, fn in (("square", iop.getSquareImage), ("squareroot", iop.getSquareRootImage),
                     ("logarithm", iop.getLogarithmImage)):
        import SimpleITK as sitk

        expected = sitk.GetArrayFromImage(next(fn(img, None))[0])
        np.testing.assert_allclose(pointwise_filter(kind, arr), expected, rtol=1e-12)


@pytest.mark.parametrize("vals", [[1.0, 2.0, 4.0, 8.0, 3.0, 5.0], [0.1, -3.0, 2.5], [7.0, 7.5, 9.0, 1.0]])
def test_across_phase_stats_match_scipy(vals):
    """Oracle: numpy var(ddof=1) and scipy.stats skew/kurtosis with bias=True (g1, excess g2)."""
    s = across_phase_stats(np.array(vals))
    assert s["mean"] == pytest.approx(np.mean(vals))
    assert s["var"] == pytest.approx(np.var(vals, ddof=1))
    assert s["skew"] == pytest.approx(scipy.stats.skew(vals, bias=True))
    assert s["kurt"] == pytest.approx(scipy.stats.kurtosis(vals, fisher=True, bias=True))


def test_constant_feature_has_zero_skew_and_kurtosis():
    s = across_phase_stats(np.full(5, 3.25))
    assert (s["skew"], s["kurt"], s["var"]) == (0.0, 0.0, 0.0)


def test_kinetic_three_phases_flags_degenerate_kurtosis():
    """Population kurtosis of any 3 distinct values is 1.5, i.e. excess kurtosis -1.5 (SPEC 7)."""
    study, regions = make_phantom(n_phases=3)
    names = ["kin_kurt__original_firstorder_Mean", "kin_skew__original_glcm_Contrast"]
    fs = extract_features(study, regions, names, early_phase=1)
    assert fs.values["kin_kurt__original_firstorder_Mean"] == pytest.approx(-1.5)
    assert any("3 phases" in n for n in fs.notes)


def test_empty_and_single_slice_regions_are_named_not_nan(phantom):
    study, regions = phantom
    labels = regions.habitat_labels.copy()
    labels[labels == 1] = 2            # H1 empty
    z = int(np.nonzero(labels == 3)[0].min())
    labels[(labels == 3)] = 2
    labels[z, 10:14, 10:14] = 3        # H3 a single slice
    rm = type(regions)(tumour=regions.tumour, habitat_labels=labels, ring=regions.ring)
    names = ["H1__original_firstorder_Mean", "H3__original_shape_Sphericity", "H2__original_firstorder_Mean"]
    fs = extract_features(study, rm, names, early_phase=1)
    assert "empty" in fs.not_computable["H1__original_firstorder_Mean"]
    assert "single" in fs.not_computable["H3__original_shape_Sphericity"]
    assert set(fs.values) == {"H2__original_firstorder_Mean"}


def test_bad_inputs_raise_named_errors(phantom):
    study, regions = phantom
    with pytest.raises(FeatureError):
        extract_features(study, regions, ["H1__original_glcm_Nope"], early_phase=1)
    with pytest.raises(FeatureError):
        extract_features(study, regions, ["MSI_H1H2"], early_phase=0)
    bad = type(regions)(tumour=regions.tumour[:-1], habitat_labels=regions.habitat_labels, ring=regions.ring)
    with pytest.raises(GeometryError):
        extract_features(study, bad, ["MSI_H1H2"], early_phase=1)


def test_cancel_and_progress(phantom):
    study, regions = phantom
    ev = threading.Event()
    seen = []

    def progress(step, frac):
        seen.append(frac)
        ev.set()  # cancel after the first report

    with pytest.raises(CancelledError):
        extract_features(study, regions, ["H1__original_firstorder_Mean", "kin_mean__original_firstorder_Mean"],
                         early_phase=1, progress=progress, cancel=ev)
    assert seen and all(0 <= f <= 1 for f in seen)


@pytest.mark.slow
def test_parallel_equals_serial(phantom, full):
    study, regions = phantom
    names = [n for n in all_feature_names(load_params().image_type_names()) if "original_" in n][:400]
    par = extract_features(study, regions, names, early_phase=1, n_jobs=2)
    for n in names:
        assert par.values[n] == full.values[n], n


def test_kinetic_original_features_equal_plain_pyradiomics_per_phase(phantom, full):
    """Oracle: per phase, pyradiomics' RadiomicsFeatureExtractor (Original image only) on the phase with the
    app's one affine transform applied (x' = 100 (x - mu0) / sd0, mu0/sd0 of the whole pre-contrast image),
    normalisation off and binWidth = (max - min) / 64 of the tumour values of all phases pooled, read from
    pyradiomics' own resampling of each phase (SPEC 7 as amended, kinetic.py). The across-phase mean and
    variance of those values must equal kin_mean / kin_var (numpy oracle, rtol 1e-9; MCC 1e-6)."""
    import SimpleITK as sitk
    from radiomics import imageoperations as iop
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    from tnbc_desktop.core.features.kinetic import affine_reference, transformed_phase

    study, regions = phantom
    settings = load_params().settings_dict()
    mu0, sd0 = affine_reference(study.data[0])
    mask = to_sitk(regions.tumour.astype(np.uint32), study.geometry)
    phases = [to_sitk(transformed_phase(study.data[p], mu0, sd0, 100.0), study.geometry)
              for p in range(study.n_phases)]
    pooled = []
    for img in phases:
        rimg, rmask = iop.resampleImage(img, mask, **settings)
        pooled.append(sitk.GetArrayFromImage(rimg)[sitk.GetArrayFromImage(rmask) == 1])
    pooled = np.concatenate(pooled)
    width = (float(pooled.max()) - float(pooled.min())) / 64
    kw = {k: v for k, v in settings.items() if k != "binCount"}
    ext = RadiomicsFeatureExtractor(**dict(kw, normalize=False, binWidth=width))
    ext.disableAllImageTypes()
    ext.enableImageTypeByName("Original")
    ext.disableAllFeatures()
    for cls in ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm"):
        ext.enableFeatureClassByName(cls)
    per_phase = [{k: float(v) for k, v in ext.execute(img, mask).items() if not k.startswith("diagnostics")}
                 for img in phases]
    assert len(per_phase[0]) == 93
    for k in per_phase[0]:
        series = np.array([pp[k] for pp in per_phase])
        tol = 1e-6 if k.endswith("_MCC") else 1e-9
        np.testing.assert_allclose(full.values[f"kin_mean__{k}"], series.mean(), rtol=tol, atol=1e-12, err_msg=k)
        np.testing.assert_allclose(full.values[f"kin_var__{k}"], series.var(ddof=1), rtol=max(tol, 1e-8),
                                   atol=1e-12, err_msg=k)


def test_habitat_boxes_smaller_than_union_box_still_equal_plain_pyradiomics():
    """Oracle: pyradiomics' RadiomicsFeatureExtractor (Original + LoG sigma 3 mm) on H1 alone. The field of view
    is larger than in the other tests, so H1's own pyradiomics box (core +- 15 mm) is smaller than the union box
    of all regions; LoG borders then differ unless H1 is filtered on its own box (with the union box, LoG 3 mm
    features of make_patient(3) differed by up to 0.9 %). Tolerance: rtol 1e-9 (MCC 1e-6, see region.py)."""
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    study, regions = make_phantom(shape=(18, 60, 60), n_phases=3)
    h1 = regions.region("H1")
    zz, yy, xx = np.nonzero(h1)
    assert (yy.max() - yy.min() + 1) * 0.8 + 30 < 60 * 0.8  # H1 box + 2 x 15 mm pad fits inside the image
    feats = {"firstorder": ["Mean", "Entropy", "Kurtosis"], "glcm": ["Contrast", "MCC", "Idmn"],
             "glszm": ["ZoneEntropy"], "ngtdm": ["Busyness"]}
    settings = load_params().settings_dict()
    ext = RadiomicsFeatureExtractor(**settings)
    ext.disableAllImageTypes()
    ext.enableImageTypes(Original={}, LoG={"sigma": [3.0]})
    ext.disableAllFeatures()
    ext.enableFeaturesByName(**feats)
    ref = {k: float(v) for k, v in ext.execute(to_sitk(study.data[1], study.geometry),
                                                to_sitk(h1.astype(np.uint32), study.geometry)).items()
           if not k.startswith("diagnostics")}
    assert len(ref) == 2 * 8
    fs = extract_features(study, regions, [f"H1__{k}" for k in ref], early_phase=1)
    for k, v in ref.items():
        tol = 1e-6 if k.endswith("_MCC") else 1e-9
        np.testing.assert_allclose(fs.values[f"H1__{k}"], v, rtol=tol, atol=1e-12, err_msg=k)
