"""Performance statistics for binary models (SPEC section 10).

- fast DeLong (Sun & Xu 2014): AUC, its variance and the paired comparison of two models;
- AUC confidence interval (DeLong, Wald or logit scale);
- Youden cutoff (rule: score >= c is positive; ties -> lower c), sensitivity / specificity / accuracy;
- calibration (intercept = calibration-in-the-large by offset logistic regression, slope, Brier score);
- decision curve (Vickers & Elkin 2006; event = non-pCR by default);
- percentile bootstrap.

Inputs are 1-D arrays: ``y_true`` in {0, 1} (1 = positive class, pCR unless stated) and scores of equal length.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit, logit
from scipy.stats import norm

_Z95 = 1.959963984540054


def _as_binary(y_true) -> np.ndarray:
    y = np.asarray(y_true).astype(float).ravel()
    if y.size == 0 or not np.all((y == 0) | (y == 1)):
        raise ValueError("y_true must be a non-empty array of 0/1 values")
    if y.min() == y.max():
        raise ValueError("y_true holds only one class; AUC is undefined")
    return y.astype(int)


def midranks(x: np.ndarray) -> np.ndarray:
    """1-based mid-ranks of ``x`` (each run of ties gets the mean of its positions)."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = xs.size
    ranks_sorted = np.empty(n, dtype=float)
    i = 0
    while i < n:
        j = i
        while j < n and xs[j] == xs[i]:
            j += 1
        ranks_sorted[i:j] = 0.5 * (i + j - 1) + 1.0
        i = j
    out = np.empty(n, dtype=float)
    out[order] = ranks_sorted
    return out


def fast_delong(y_true, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs (k,) and their DeLong covariance S (k, k) for ``scores`` of shape (k, N) (Sun & Xu 2014)."""
    y = _as_binary(y_true)
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    if s.shape[1] != y.size:
        raise ValueError("scores and y_true differ in length")
    pos, neg = s[:, y == 1], s[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    k = s.shape[0]
    tx = np.vstack([midranks(pos[r]) for r in range(k)])
    ty = np.vstack([midranks(neg[r]) for r in range(k)])
    tz = np.vstack([midranks(np.concatenate([pos[r], neg[r]])) for r in range(k)])
    aucs = (tz[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)
    v01 = (tz[:, :m] - tx) / n            # positive structural components V_i
    v10 = 1.0 - (tz[:, m:] - ty) / m      # negative structural components W_j
    sx = np.atleast_2d(np.cov(v01, ddof=1)) if m > 1 else np.zeros((k, k))
    sy = np.atleast_2d(np.cov(v10, ddof=1)) if n > 1 else np.zeros((k, k))
    return aucs, sx / m + sy / n


def delong_test(y_true, scores_a, scores_b) -> dict:
    """Paired DeLong test of AUC(a) vs AUC(b): keys auc_a, auc_b, z, p, var_a, var_b, cov_ab.

    z = (A_a - A_b) / sqrt(S_aa + S_bb - 2 S_ab), two-sided p. If the variance of the difference is 0
    (identical rankings) z = 0 and p = 1.
    """
    aucs, cov = fast_delong(y_true, np.vstack([np.asarray(scores_a, float), np.asarray(scores_b, float)]))
    var_diff = cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1]
    diff = aucs[0] - aucs[1]
    if var_diff <= 1e-15:
        z, p = 0.0, 1.0
    else:
        z = float(diff / np.sqrt(var_diff))
        p = float(2.0 * norm.sf(abs(z)))
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "z": z, "p": p,
            "var_a": float(cov[0, 0]), "var_b": float(cov[1, 1]), "cov_ab": float(cov[0, 1])}


def auc_ci(y_true, scores, level: float = 0.95, scale: str = "wald") -> tuple[float, float, float]:
    """(AUC, low, high) with the DeLong variance; ``scale`` "wald" (clipped to [0,1]) or "logit"."""
    aucs, cov = fast_delong(y_true, np.asarray(scores, float)[None, :])
    auc, var = float(aucs[0]), float(cov[0, 0])
    z = norm.ppf(0.5 + level / 2.0)
    if scale == "logit" and 0.0 < auc < 1.0:
        se_l = np.sqrt(var) / (auc * (1.0 - auc))
        lo, hi = expit(logit(auc) - z * se_l), expit(logit(auc) + z * se_l)
        return auc, float(lo), float(hi)
    half = z * np.sqrt(var)
    return auc, float(max(0.0, auc - half)), float(min(1.0, auc + half))


def confusion_at(y_true, scores, cutoff: float) -> dict:
    """Sensitivity, specificity, accuracy, PPV, NPV and counts at a cutoff (score >= cutoff -> positive)."""
    y = np.asarray(y_true).astype(int).ravel()
    pred = np.asarray(scores, float).ravel() >= cutoff
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    tn = int(np.sum(~pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))

    def ratio(a: int, b: int) -> float:
        return float(a / b) if b else float("nan")

    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "sensitivity": ratio(tp, tp + fn),
            "specificity": ratio(tn, tn + fp), "accuracy": ratio(tp + tn, y.size),
            "ppv": ratio(tp, tp + fp), "npv": ratio(tn, tn + fn)}


def youden_cutoff(y_true, scores) -> tuple[float, float]:
    """(cutoff, J) maximising J = Se + Sp - 1 over observed score values; ties go to the lower cutoff."""
    y = _as_binary(y_true)
    s = np.asarray(scores, float).ravel()
    cands = np.unique(s)  # ascending
    pos, neg = np.sort(s[y == 1]), np.sort(s[y == 0])
    se = 1.0 - np.searchsorted(pos, cands, side="left") / pos.size   # fraction of positives >= c
    sp = np.searchsorted(neg, cands, side="left") / neg.size          # fraction of negatives < c
    j = se + sp - 1.0
    best = int(np.flatnonzero(j >= j.max() - 1e-12)[0])              # first (lowest) maximiser
    return float(cands[best]), float(j[best])


def _offset_intercept(y: np.ndarray, offset: np.ndarray) -> float:
    """MLE of a in logit P(y=1) = a + offset (Newton's method)."""
    a = 0.0
    for _ in range(100):
        p = expit(a + offset)
        grad = np.sum(y - p)
        hess = np.sum(p * (1.0 - p))
        if hess <= 0:
            break
        step = grad / hess
        a += step
        if abs(step) < 1e-12:
            break
    return float(a)


def _logistic_slope(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """MLE (intercept, slope) of logit P(y=1) = b0 + b1 x (Newton's method)."""
    b = np.zeros(2)
    xm = np.column_stack([np.ones_like(x), x])
    for _ in range(100):
        p = expit(xm @ b)
        grad = xm.T @ (y - p)
        hess = (xm * (p * (1.0 - p))[:, None]).T @ xm
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        b += step
        if np.max(np.abs(step)) < 1e-12:
            break
    return float(b[0]), float(b[1])


def calibration(y_true, probabilities, eps: float = 1e-12) -> dict:
    """Calibration intercept (in-the-large, slope fixed at 1), slope, Brier score (Van Calster 2019)."""
    y = np.asarray(y_true, float).ravel()
    p = np.clip(np.asarray(probabilities, float).ravel(), eps, 1.0 - eps)
    lp = logit(p)
    intercept = _offset_intercept(y, lp)
    _, slope = _logistic_slope(y, lp)
    return {"calibration_intercept": intercept, "calibration_slope": slope,
            "brier": float(np.mean((p - y) ** 2)), "mean_predicted": float(p.mean()), "observed_rate": float(y.mean())}


def calibration_bins(y_true, probabilities, n_bins: int = 10) -> list[dict]:
    """Quantile-bin calibration table: mean predicted vs observed rate per bin (for plots)."""
    y = np.asarray(y_true, float).ravel()
    p = np.asarray(probabilities, float).ravel()
    order = np.argsort(p, kind="mergesort")
    out = []
    for chunk in np.array_split(order, min(n_bins, p.size)):
        if chunk.size:
            out.append({"n": int(chunk.size), "mean_predicted": float(p[chunk].mean()),
                        "observed": float(y[chunk].mean())})
    return out


def decision_curve(y_true, prob_positive, thresholds=None, event: str = "non-pCR") -> dict:
    """Net benefit of the model, treat-all and treat-none over thresholds pt (default 0.01..0.99).

    ``y_true`` = 1 for pCR and ``prob_positive`` = P(pCR). With ``event="non-pCR"`` (default) the event is
    y == 0 with probability 1 - P(pCR); with ``event="pCR"`` the event is y == 1. NB(pt) = TP/N - FP/N * pt/(1-pt),
    treat-all NB = pi - (1 - pi) * pt/(1-pt), treat-none = 0; "treat" means predicted event probability >= pt.
    """
    y = np.asarray(y_true).astype(int).ravel()
    p = np.asarray(prob_positive, float).ravel()
    if event == "non-pCR":
        y_ev, p_ev = 1 - y, 1.0 - p
    elif event == "pCR":
        y_ev, p_ev = y, p
    else:
        raise ValueError("event must be 'pCR' or 'non-pCR'")
    pts = np.round(np.arange(1, 100) / 100.0, 2) if thresholds is None else np.asarray(thresholds, float)
    n = y.size
    pi = y_ev.mean()
    odds = pts / (1.0 - pts)
    treat = p_ev[None, :] >= pts[:, None]
    tp = np.sum(treat & (y_ev[None, :] == 1), axis=1) / n
    fp = np.sum(treat & (y_ev[None, :] == 0), axis=1) / n
    return {"event": event, "thresholds": pts.tolist(), "net_benefit": (tp - fp * odds).tolist(),
            "treat_all": (pi - (1.0 - pi) * odds).tolist(), "treat_none": [0.0] * pts.size}


def bootstrap_ci(statistic: Callable[[np.ndarray, np.ndarray], float], y_true, scores, n_boot: int = 2000,
                 level: float = 0.95, seed: int = 0, stratified: bool = True) -> tuple[float, float, float]:
    """(estimate, low, high) percentile bootstrap of ``statistic(y, scores)``; stratified resampling by class."""
    y = np.asarray(y_true).ravel()
    s = np.asarray(scores, float).ravel()
    rng = np.random.default_rng(seed)
    est = float(statistic(y, s))
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratified else [np.arange(y.size)]
    vals = []
    for _ in range(n_boot):
        idx = np.concatenate([rng.choice(g, size=g.size, replace=True) for g in groups])
        try:
            vals.append(float(statistic(y[idx], s[idx])))
        except ValueError:
            continue
    if not vals:
        return est, float("nan"), float("nan")
    lo, hi = np.percentile(vals, [50 * (1 - level), 50 * (1 + level)])
    return est, float(lo), float(hi)


def auc(y_true, scores) -> float:
    """Area under the ROC curve (Mann-Whitney form, ties count 1/2)."""
    return float(fast_delong(y_true, np.asarray(scores, float)[None, :])[0][0])


__all__ = ["midranks", "fast_delong", "delong_test", "auc", "auc_ci", "confusion_at", "youden_cutoff",
           "calibration", "calibration_bins", "decision_curve", "bootstrap_ci"]
