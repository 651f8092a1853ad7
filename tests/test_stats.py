"""Statistics oracles: DeLong (SPEC section 10 vector, brute force, MLstatkit), Youden, calibration, decision curve."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from tnbc_desktop.core.training.stats import (auc_ci, bootstrap_ci, calibration, confusion_at, decision_curve,
                                              delong_test, fast_delong, midranks, youden_cutoff)

Y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
P1 = [.9, .8, .4, .7, .6, .3, .2, .1, .4, .05]
P2 = [.7, .6, .5, .5, .65, .4, .3, .2, .1, .5]


def test_spec_test_vector():
    """Expected numbers: SPEC section 10 test vector (checked there against a brute-force DeLong)."""
    r = delong_test(Y, P1, P2)
    assert r["auc_a"] == pytest.approx(0.9375, abs=1e-9)
    assert r["auc_b"] == pytest.approx(0.833333, abs=1e-6)
    assert r["var_a"] == pytest.approx(0.00572917, abs=1e-8)
    assert r["var_b"] == pytest.approx(0.01875, abs=1e-8)
    assert r["cov_ab"] == pytest.approx(0.00590278, abs=1e-8)
    assert r["z"] == pytest.approx(0.925292, abs=1e-6)
    assert r["p"] == pytest.approx(0.354814, abs=1e-6)


def _brute_delong(y, scores):
    """DeLong 1988 by definition: psi kernel, structural components V10/V01 by O(mn) loops."""
    y = np.asarray(y)
    k = len(scores)
    pos = [np.asarray(s)[y == 1] for s in scores]
    neg = [np.asarray(s)[y == 0] for s in scores]
    m, n = pos[0].size, neg[0].size
    psi = lambda a, b: 1.0 if a > b else (0.5 if a == b else 0.0)  # noqa: E731
    v10 = np.array([[sum(psi(pos[r][i], neg[r][j]) for j in range(n)) / n for i in range(m)] for r in range(k)])
    v01 = np.array([[sum(psi(pos[r][i], neg[r][j]) for i in range(m)) / m for j in range(n)] for r in range(k)])
    aucs = v10.mean(axis=1)
    s10 = np.array([[np.sum((v10[a] - aucs[a]) * (v10[b] - aucs[b])) / (m - 1) for b in range(k)] for a in range(k)])
    s01 = np.array([[np.sum((v01[a] - aucs[a]) * (v01[b] - aucs[b])) / (n - 1) for b in range(k)] for a in range(k)])
    return aucs, s10 / m + s01 / n


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_delong_matches_brute_force(seed):
    """Oracle: brute-force DeLong (definition) on random data with ties (scores rounded to 1 decimal)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(60) < 0.4).astype(int)
    a = np.round(y * 0.8 + rng.normal(size=60), 1)
    b = np.round(y * 0.4 + rng.normal(size=60), 1)
    aucs, cov = fast_delong(y, np.vstack([a, b]))
    baucs, bcov = _brute_delong(y, [a, b])
    np.testing.assert_allclose(aucs, baucs, atol=1e-12)
    np.testing.assert_allclose(cov, bcov, atol=1e-12)
    assert aucs[0] == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    r = delong_test(y, a, b)
    z = (baucs[0] - baucs[1]) / np.sqrt(bcov[0, 0] + bcov[1, 1] - 2 * bcov[0, 1])
    assert r["z"] == pytest.approx(z, abs=1e-10) and r["p"] == pytest.approx(2 * norm.sf(abs(z)), abs=1e-10)


def test_against_mlstatkit():
    """Oracle: MLstatkit.Delong_test (PyPI); its z is signed AUC_B - AUC_A."""
    mlstatkit = pytest.importorskip("MLstatkit", reason="MLstatkit not installed (pip install MLstatkit)")
    rng = np.random.default_rng(7)
    y = (rng.random(80) < 0.45).astype(int)
    a, b = y + rng.normal(size=80), 0.5 * y + rng.normal(size=80)
    z, p, *_ = mlstatkit.Delong_test(y, a, b)
    r = delong_test(y, a, b)
    assert r["z"] == pytest.approx(-z, rel=1e-9) and r["p"] == pytest.approx(p, rel=1e-9)


def test_midranks():
    assert midranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_auc_ci():
    """Wald CI = AUC +- 1.96 sqrt(var) with the SPEC vector's var 0.00572917 (upper clipped at 1)."""
    auc, lo, hi = auc_ci(Y, P1)
    assert lo == pytest.approx(0.9375 - 1.959964 * np.sqrt(0.00572917), abs=1e-6) and hi == 1.0
    auc, lo, hi = auc_ci(Y, P1, scale="logit")
    assert lo < auc < hi < 1.0


def test_youden_and_ties():
    """By hand: with P1, c=0.7 gives Se 3/4, Sp 6/6, J=0.75 (best). Tie case: scores [1,2,3,4], y [0,1,0,1]:
    c=2 -> Se 1, Sp 1/2; c=4 -> Se 1/2, Sp 1; both J=0.5 -> lower c=2."""
    assert youden_cutoff(Y, P1) == (0.7, pytest.approx(0.75))
    c, j = youden_cutoff([0, 1, 0, 1], [1.0, 2.0, 3.0, 4.0])
    assert c == 2.0 and j == pytest.approx(0.5)
    conf = confusion_at(Y, P1, 0.7)
    assert (conf["sensitivity"], conf["specificity"], conf["accuracy"]) == (0.75, 1.0, 0.9)


def test_calibration_oracles():
    """Slope oracle: unpenalised sklearn logistic of y on logit(p). Intercept: score equation of the offset model
    sum(y - expit(a + logit p)) = 0. Brier: mean squared error by definition."""
    from sklearn.linear_model import LogisticRegression

    from tnbc_desktop.core.training.selection import _logreg

    rng = np.random.default_rng(3)
    p = expit(rng.normal(size=400) * 1.5)
    y = (rng.random(400) < expit(0.5 + 0.7 * logit(p))).astype(int)
    cal = calibration(y, p)
    ref = _logreg("none", max_iter=5000, tol=1e-12).fit(logit(p)[:, None], y)
    assert isinstance(ref, LogisticRegression)
    assert cal["calibration_slope"] == pytest.approx(ref.coef_[0][0], abs=1e-5)
    assert abs(np.sum(y - expit(cal["calibration_intercept"] + logit(p)))) < 1e-8
    assert cal["brier"] == pytest.approx(np.mean((p - y) ** 2), abs=1e-15)
    # constant predictions: intercept = logit(observed) - logit(predicted)
    cal0 = calibration([1, 0, 0, 0], [0.5] * 4)
    assert cal0["calibration_intercept"] == pytest.approx(logit(0.25), abs=1e-9)


def test_decision_curve_by_hand():
    """Hand: event = non-pCR, y_ev = 1 - y = [0,0,0,0,1,1,1,1,1,1], p_ev = 1 - P1 =
    [.1,.2,.6,.3,.4,.7,.8,.9,.6,.95]. At pt = 0.5 treated (p_ev >= 0.5) = {2,5,6,7,8,9}: TP 5, FP 1
    -> NB = 5/10 - 1/10 * 1 = 0.4; treat-all = 0.6 - 0.4 * 1 = 0.2."""
    dc = decision_curve(Y, P1, thresholds=[0.5])
    assert dc["net_benefit"][0] == pytest.approx(0.4) and dc["treat_all"][0] == pytest.approx(0.2)
    dc2 = decision_curve(Y, P1, thresholds=[0.5], event="pCR")
    assert dc2["treat_all"][0] == pytest.approx(0.4 - 0.6)


def test_decision_curve_against_dcurves():
    """Oracle: dcurves.dca (PyPI) net benefit for model, treat-all and treat-none."""
    dcurves = pytest.importorskip("dcurves", reason="dcurves not installed (pip install dcurves)")
    import pandas as pd

    rng = np.random.default_rng(5)
    y = (rng.random(200) < 0.4).astype(int)
    p = expit(1.2 * (y - 0.4) + rng.normal(size=200))
    ours = decision_curve(y, p, event="non-pCR")
    df = pd.DataFrame({"event": 1 - y, "risk": 1 - p})
    ref = dcurves.dca(data=df, outcome="event", modelnames=["risk"], thresholds=ours["thresholds"])
    for model, key in (("risk", "net_benefit"), ("all", "treat_all"), ("none", "treat_none")):
        nb = ref[ref["model"] == model].sort_values("threshold")["net_benefit"].to_numpy()
        np.testing.assert_allclose(ours[key], nb, atol=1e-10)


def test_bootstrap_ci_covers_estimate():
    est, lo, hi = bootstrap_ci(roc_auc_score, np.array(Y * 3), np.array(P1 * 3), n_boot=300, seed=1)
    assert lo <= est <= hi and est == pytest.approx(0.9375)
