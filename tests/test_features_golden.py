"""Golden test: our direct feature-class path reproduces pyradiomics' own baseline CSVs on breast1."""
from __future__ import annotations

import numpy as np
import pandas as pd
import SimpleITK as sitk

from tests.helpers import shared_data
from tnbc_desktop.core.features.region import compute_classes


def test_breast1_firstorder_and_shape_match_pyradiomics_baseline():
    """Expected values: /work/shared/data/pyradiomics/baseline_{firstorder,shape}.csv, column breast1 (pyradiomics
    repository data/baseline). Settings from the CSV's diagnostics_Configuration_Settings row: binWidth 25,
    voxelArrayShift 2000, no resampling/normalisation, label 1. Tolerance: relative 1e-9 (the CSV keeps ~12
    significant digits)."""
    d = shared_data("pyradiomics")
    img = sitk.ReadImage(str(d / "breast1_image.nrrd"))
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(d / "breast1_label.nrrd"))) == 1
    settings = {"binWidth": 25, "voxelArrayShift": 2000, "label": 1}
    ours = compute_classes(sitk.GetArrayFromImage(img).astype(np.float64), mask, img.GetSpacing(),
                           {"firstorder": None, "shape": None}, settings)
    checked = 0
    for csv in ("baseline_firstorder.csv", "baseline_shape.csv"):
        base = pd.read_csv(d / csv, index_col=0)["breast1"]
        for key, val in base.items():
            if key.startswith("original_"):
                name = key[len("original_"):]
                np.testing.assert_allclose(ours[name], float(val), rtol=1e-9, atol=0, err_msg=name)
                checked += 1
    assert checked == 18 + 14


def test_other_pyradiomics_version_falls_back_to_pyradiomics_own_classes(monkeypatch, caplog):
    """With pyradiomics' version faked to one the overrides were not written for, every feature class is
    pyradiomics' own (a warning says so) and breast1's values equal a plain RadiomicsFeatureExtractor run
    (original image, all classes) within rtol 1e-6."""
    import logging

    import radiomics
    from radiomics import featureextractor, getFeatureClasses

    from tnbc_desktop.core.features import region

    d = shared_data("pyradiomics")
    img = sitk.ReadImage(str(d / "breast1_image.nrrd"))
    label = sitk.ReadImage(str(d / "breast1_label.nrrd"))
    mask = sitk.GetArrayFromImage(label) == 1
    settings = {"binWidth": 25, "voxelArrayShift": 2000, "label": 1}
    classes = ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
    assert region.feature_class("glcm") is not getFeatureClasses()["glcm"]  # 3.1.4: the fast classes
    monkeypatch.setattr(radiomics, "__version__", "v3.2.0")
    region.reset_version_check()
    try:
        with caplog.at_level(logging.WARNING, logger="tnbc_desktop.features.region"):
            ours = compute_classes(sitk.GetArrayFromImage(img).astype(np.float64), mask, img.GetSpacing(),
                                   {c: None for c in classes}, settings)
        assert any("3.2.0" in r.getMessage() and "own classes" in r.getMessage() for r in caplog.records)
        for c in classes:
            assert region.feature_class(c) is getFeatureClasses()[c]
    finally:
        monkeypatch.undo()
        region.reset_version_check()
    extractor = featureextractor.RadiomicsFeatureExtractor(**settings)
    extractor.disableAllImageTypes()
    extractor.enableImageTypeByName("Original")
    extractor.enableAllFeatures()
    reference = {k[len("original_"):]: float(v) for k, v in extractor.execute(img, label).items()
                 if k.startswith("original_")}
    assert len(ours) > 90 and set(ours) <= set(reference)
    for name, value in ours.items():
        np.testing.assert_allclose(value, reference[name], rtol=1e-6, atol=0, err_msg=name)
    assert region.feature_class("glcm") is not getFeatureClasses()["glcm"]  # back on 3.1.4
