"""Selection steps: ICC(2,1) (Shrout & Fleiss textbook example, pingouin), filters, LASSO, logistic covariance, VIF."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from tnbc_desktop.core.training.selection import (fit_logistic, fit_zscaler, icc_2_1, icc_filter, lasso_cv,
                                                  mann_whitney_pvalues, pearson_prune, smote_resample,
                                                  variance_inflation, vif_prune)

# Shrout & Fleiss (1979), Psychol Bull 86:420, Table 2: 6 targets x 4 judges; Table 4 gives ICC(2,1) = 0.29.
SF_TABLE = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)


def test_icc_textbook():
    """Oracle: Shrout & Fleiss 1979 Table 4, ICC(2,1) = 0.29 (exact value 0.28976 from their mean squares:
    BMS 11.24, JMS 32.49, EMS 1.02, (BMS - EMS)/(BMS + 3 EMS + 4 (JMS - EMS)/6))."""
    assert icc_2_1(SF_TABLE) == pytest.approx(0.2898, abs=5e-4)
    assert icc_2_1(np.column_stack([SF_TABLE[:, 0], SF_TABLE[:, 0]])) == pytest.approx(1.0)


def test_icc_against_pingouin():
    """Oracle: pingouin.intraclass_corr, row "ICC2" (pingouin < 0.7) / "ICC(A,1)" (>= 0.7): two-way, absolute
    agreement, single rater."""
    pg = pytest.importorskip("pingouin", reason="pingouin not installed (pip install pingouin)")
    rng = np.random.default_rng(1)
    truth = rng.normal(size=30)
    r = np.column_stack([truth + rng.normal(0, 0.4, 30), truth + 0.3 + rng.normal(0, 0.4, 30)])
    long = pd.DataFrame({"target": np.repeat(np.arange(30), 2), "rater": np.tile([0, 1], 30), "score": r.ravel()})
    ref = pg.intraclass_corr(long, targets="target", raters="rater", ratings="score").set_index("Type")
    label = "ICC2" if "ICC2" in ref.index else "ICC(A,1)"
    assert icc_2_1(r) == pytest.approx(float(ref.loc[label, "ICC"]), abs=1e-10)


def test_icc_filter_vectorised():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(40, 3))
    a = pd.DataFrame(base, columns=["good", "bad", "const"])
    b = a.copy()
    b["bad"] = rng.normal(size=40)
    a["const"] = b["const"] = 1.0
    keep, iccs = icc_filter(a, b)
    assert keep == ["good"] and iccs["good"] == pytest.approx(1.0) and np.isnan(iccs["const"])


def test_zscaler_and_smote():
    x = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "c": [5.0] * 4})
    sc = fit_zscaler(x)
    assert sc.names == ("a",) and sc.sd[0] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    rng = np.random.default_rng(0)
    xs = pd.DataFrame(rng.normal(size=(50, 3)), columns=list("abc"))
    y = np.r_[np.ones(12), np.zeros(38)].astype(int)
    xr, yr = smote_resample(xs, y, seed=0)
    assert np.bincount(yr).tolist() == [38, 38] and xr.shape == (76, 3)
    xr2, _ = smote_resample(xs, y, seed=0)
    assert np.array_equal(xr.to_numpy(), xr2.to_numpy())


def test_mann_whitney_and_pearson():
    """Oracle: scipy.stats.mannwhitneyu column by column; pruning drops the larger-p twin."""
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(4)
    y = np.r_[np.ones(30), np.zeros(30)].astype(int)
    s = rng.normal(size=60) + y
    x = pd.DataFrame({"s": s, "s_twin": s + rng.normal(0, 0.05, 60), "noise": rng.normal(size=60)})
    p = mann_whitney_pvalues(x, y)
    assert p["noise"] == pytest.approx(mannwhitneyu(x["noise"][y == 1], x["noise"][y == 0]).pvalue)
    kept = pearson_prune(x, p, 0.9)
    dropped = "s" if p["s"] > p["s_twin"] else "s_twin"
    assert dropped not in kept and "noise" in kept and len(kept) == 2


def test_lasso_selects_informative():
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(300, 12)), columns=[f"f{i}" for i in range(12)])
    y = (rng.random(300) < expit(1.5 * x["f0"] - 1.2 * x["f1"])).astype(int)
    res = lasso_cv(x, y, seed=0)
    assert {"f0", "f1"} <= set(res.selected)
    res1 = lasso_cv(x, y, seed=0, rule="1se")
    assert res1.C <= res.C and {"f0", "f1"} <= set(res1.selected) and len(res1.selected) <= len(res.selected)


def test_lasso_does_not_depend_on_numpy_global_random_state():
    """liblinear shuffles coordinates; the result must follow ``seed`` only (it followed numpy's global
    generator, so rebuilding a bundle with thousands of candidates gave a different feature order)."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(250, 300)), columns=[f"f{i}" for i in range(300)])
    y = ((x["f0"] + x["f1"] + rng.normal(size=250)) > 0).astype(int).to_numpy()
    runs = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        runs.append(lasso_cv(x, y, seed=0, n_folds=3, Cs=np.array([0.5])))
    assert runs[0].coefficients == runs[1].coefficients  # bit-identical, not approximately
    assert runs[0].selected == runs[1].selected


def test_logistic_fit_score_equations_and_covariance():
    """At the MLE the score equations X'(y - p) = 0 hold; covariance = inv(X'WX) computed here independently,
    and (when installed) equal to statsmodels Logit's cov_params()."""
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.normal(size=(200, 2)), columns=["a", "b"])
    y = (rng.random(200) < expit(0.3 + x["a"] - 0.5 * x["b"])).astype(int)
    fit = fit_logistic(x, y)
    xd = np.column_stack([np.ones(200), x.to_numpy()])
    beta = np.r_[fit.intercept, fit.coefficients]
    p = expit(xd @ beta)
    assert np.max(np.abs(xd.T @ (y - p))) < 1e-5
    np.testing.assert_allclose(fit.covariance, np.linalg.inv(xd.T @ (xd * (p * (1 - p))[:, None])), rtol=1e-10)
    try:
        import statsmodels.api as sm
    except ImportError:
        return
    ref = sm.Logit(y, xd).fit(disp=0)
    np.testing.assert_allclose(beta, ref.params, atol=1e-4)
    np.testing.assert_allclose(fit.covariance, ref.cov_params(), rtol=1e-3)


def test_logistic_separation_fallback():
    x = pd.DataFrame({"a": np.r_[np.arange(10.0), np.arange(10.0) + 20]})
    y = np.r_[np.zeros(10), np.ones(10)].astype(int)
    fit = fit_logistic(x, y)
    assert fit.l2 > 0 and fit.notes and np.all(np.isfinite(fit.covariance))


def test_vif():
    """Oracle: with two predictors VIF = 1 / (1 - r^2) (r = Pearson correlation)."""
    rng = np.random.default_rng(2)
    a = rng.normal(size=100)
    b = a + rng.normal(0, 0.5, 100)
    x = pd.DataFrame({"a": a, "b": b})
    r = np.corrcoef(a, b)[0, 1]
    assert variance_inflation(x)["a"] == pytest.approx(1 / (1 - r**2), rel=1e-10)
    x["c"] = a + b + rng.normal(0, 0.01, 100)
    kept = vif_prune(x, 10.0)
    assert len(kept) == 2 and variance_inflation(x[kept]).max() < 10
