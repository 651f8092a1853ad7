"""Evaluate fitted models (bundle model dicts) on a cohort: performance blocks, survival by predicted group.

A model dict is the bundle form (``features``, ``z_mean``, ``z_sd``, ``coefficients``, ``intercept``, ...).
Performance block keys: n, n_pcr, auc, auc_ci [low, high], sensitivity, specificity, accuracy,
calibration_intercept, calibration_slope, brier (NaN-free values or None when undefined).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from tnbc_desktop.core.survival import km_by_group
from tnbc_desktop.core.training.stats import auc_ci, calibration, confusion_at, delong_test


def model_linear_predictor(model: dict, table: pd.DataFrame) -> np.ndarray:
    """Linear predictor per row of ``table`` (raw inputs in the model's feature columns)."""
    x = table[list(model["features"])].to_numpy(float)
    z = (x - np.asarray(model["z_mean"], float)) / np.asarray(model["z_sd"], float)
    return float(model["intercept"]) + z @ np.asarray(model["coefficients"], float)


def model_probabilities(model: dict, table: pd.DataFrame) -> np.ndarray:
    """P(pCR) per row."""
    return expit(model_linear_predictor(model, table))


def performance(y_true, prob, cutoff: float) -> dict | None:
    """Performance block at ``cutoff``; None when fewer than 2 cases of each class."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(prob, float)
    if y.size == 0 or min(np.sum(y == 1), np.sum(y == 0)) < 2:
        return None
    auc, lo, hi = auc_ci(y, p)
    conf = confusion_at(y, p, cutoff)
    cal = calibration(y, p)
    return {"n": int(y.size), "n_pcr": int(y.sum()), "auc": auc, "auc_ci": [lo, hi],
            "sensitivity": conf["sensitivity"], "specificity": conf["specificity"], "accuracy": conf["accuracy"],
            "calibration_intercept": cal["calibration_intercept"], "calibration_slope": cal["calibration_slope"],
            "brier": cal["brier"]}


def survival_block(prob, cutoff: float, dfs_months, dfs_event, cohort: str) -> dict | None:
    """Kaplan-Meier DFS per predicted group ("pCR" if P >= cutoff) and the log-rank P."""
    t = np.asarray(dfs_months, float)
    e = np.asarray(dfs_event, float)
    ok = np.isfinite(t) & np.isfinite(e)
    if ok.sum() < 4:
        return None
    groups = np.where(np.asarray(prob, float) >= cutoff, "pCR", "non-pCR")[ok]
    res = km_by_group(t[ok], e[ok], groups)
    return {"cohort": cohort, "endpoint": "disease-free survival (months)", "logrank_p": res["logrank_p"],
            "curves": res["curves"]}


def compare_delong(y_true, prob_a, prob_b) -> dict | None:
    """DeLong comparison, or None when a class has fewer than 2 cases."""
    y = np.asarray(y_true).astype(int)
    if y.size == 0 or min(np.sum(y == 1), np.sum(y == 0)) < 2:
        return None
    return delong_test(y, prob_a, prob_b)


__all__ = ["model_linear_predictor", "model_probabilities", "performance", "survival_block", "compare_delong"]
