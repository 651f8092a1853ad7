"""Model fitting end to end on a synthetic feature table with known informative columns, then a sealed bundle."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from tests.builders import example_bundle_dict
from tnbc_desktop.core.bundle import assemble_bundle, load_bundle, save_bundle
from tnbc_desktop.core.predict import predict_all
from tnbc_desktop.core.training.fit import SelectionSettings, fit_models
from tnbc_desktop.core.training.stats import auc

INFORMATIVE = {"H1__original_firstorder_Mean": 1.1, "H3__wavelet-LLH_glcm_Contrast": -1.0,
               "ring__original_shape_Sphericity": 0.9, "kin_mean__original_glcm_Idm": 1.0,
               "kin_var__log-sigma-2-0-mm-3D_firstorder_Skewness": -0.9}
NOISE_STEMS = ("H2__original_glrlm_Noise", "ring__square_firstorder_Noise", "kin_skew__original_ngtdm_Noise",
               "kin_kurt__squareroot_gldm_Noise", "MSI_Noise")


def make_cohort(n=320, seed=0, n_noise=25):
    """Generating model: logit P(pCR) = -0.4 + sum(b_k z_k) over the INFORMATIVE standardised columns."""
    rng = np.random.default_rng(seed)
    cols, lp = {}, np.full(n, -0.4)
    for name, b in INFORMATIVE.items():
        z = rng.normal(size=n)
        cols[name] = 3.0 * z + 10.0
        lp = lp + b * z
    for i in range(n_noise):
        cols[f"{NOISE_STEMS[i % len(NOISE_STEMS)]}{i}"] = rng.normal(size=n) * 2 + 5
    table = pd.DataFrame(cols, index=[f"P{i:03d}" for i in range(n)])
    p = expit(lp)
    y = (rng.random(n) < p).astype(int)
    clin = pd.DataFrame({"ki67_high": (rng.random(n) < 0.9).astype(float),
                         "lvi": (rng.random(n) < np.where(y == 1, 0.05, 0.45)).astype(float),
                         "vaf_sum": np.where(rng.random(n) < 0.5, np.abs(rng.normal(0.1 + 0.1 * y, 0.08)), np.nan)},
                        index=table.index)
    t = rng.weibull(1.2, n) * np.where(y == 1, 120, 45)
    clin["dfs_event"] = (t < 90).astype(float)
    clin["dfs_months"] = np.minimum(t, 90)
    return table, clin, y, p


@pytest.fixture(scope="module")
def fitted():
    table, clin, y, p = make_cohort()
    tr, va = np.arange(224), np.arange(224, 320)
    r2 = table.iloc[tr] + np.random.default_rng(9).normal(0, 0.3, size=table.iloc[tr].shape)  # second reader
    res = fit_models(table.iloc[tr], clin.iloc[tr], y[tr], validation_table=table.iloc[va],
                     validation_clinical=clin.iloc[va], validation_labels=y[va], reader2_table=r2,
                     settings=SelectionSettings(seed=0))
    return res, table, clin, y, p, va


def test_selected_features_include_informative(fitted):
    res = fitted[0]
    m1, m2, m3 = (res["models"][k]["features"] for k in ("model1", "model2", "model3"))
    assert {"H1__original_firstorder_Mean", "H3__wavelet-LLH_glcm_Contrast",
            "ring__original_shape_Sphericity"} <= set(m1)
    assert {"kin_mean__original_glcm_Idm", "kin_var__log-sigma-2-0-mm-3D_firstorder_Skewness"} <= set(m2)
    assert set(INFORMATIVE) <= set(m3)
    assert sum(f.startswith("ring__") for f in m1) <= 2 and sum(not f.startswith("ring__") for f in m1) <= 5
    assert all(f.startswith("kin_") for f in m2) and len(m2) <= 18
    assert res["selection_log"]["icc"]["kept"] > 0


def test_validation_auc_near_generating_model(fitted):
    """Independent reference: the AUC of the true generating probabilities on the same validation patients."""
    res, table, clin, y, p, va = fitted
    oracle = auc(y[va], p[va])
    val = res["models"]["model3"]["performance"]["validation"]
    assert val["auc"] > oracle - 0.08
    lo, hi = val["auc_ci"]
    assert lo < val["auc"] < hi
    assert 0 < res["models"]["model3"]["cutoff"] < 1
    # pathology adds information in this cohort (LVI is far more common in non-pCR)
    train_auc = {k: res["models"][k]["performance"]["training"]["auc"] for k in ("prm", "model3")}
    assert train_auc["prm"] >= train_auc["model3"] - 0.01
    assert "delong_gprm_vs_model3_validation" in res["comparisons"]
    assert res["models"]["model3"]["survival"]["curves"].keys() <= {"pCR", "non-pCR"}
    assert set(res["cox"]["covariates"]) == {"radscore_model3", "ki67_high", "lvi"}


def test_fitted_models_make_a_loadable_bundle(fitted, tmp_path):
    res, table, clin, y, p, va = fitted
    base = example_bundle_dict()
    doc = assemble_bundle(name="fit-test", version="1", models=res["models"], habitat_model=base["habitat_model"],
                          extraction=base["extraction"], is_demo=True, comparisons=res["comparisons"],
                          cox=res["cox"],
                          training_cohort={"n": 224, "n_validation": 96, "pcr_rate": float(y[:224].mean()),
                                           "source": "synthetic test cohort"})
    bundle = load_bundle(save_bundle(doc, tmp_path / "fit.json"))
    row = table.iloc[va[0]]
    c = clin.iloc[va[0]]

    class Path_:
        ki67_high = bool(c["ki67_high"])
        lvi_present = bool(c["lvi"])

    out = predict_all(bundle, row.to_dict(), Path_(), vaf_sum=0.1)
    assert all(pred.available for pred in out.values())
    from tnbc_desktop.core.training.evaluate import model_probabilities
    assert out["model3"].probability == pytest.approx(
        float(model_probabilities(res["models"]["model3"], table.iloc[[va[0]]])[0]), abs=1e-12)
