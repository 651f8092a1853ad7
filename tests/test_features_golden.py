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
