"""Figures of the training report (matplotlib Agg -> PNG bytes): ROC, calibration, decision curves, KM.

Inputs are the per-patient score table of a :class:`~tnbc_desktop.core.training.train_cohort.TrainingResult`
(columns split, pcr, dfs_months, dfs_event, p_<model>) and the bundle's survival blocks.
"""
from __future__ import annotations


import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tnbc_desktop.core.report.figures import png_bytes
from tnbc_desktop.core.training.stats import auc, calibration_bins, decision_curve

MODEL_COLOURS = {"model1": "#56B4E9", "model2": "#009E73", "model3": "#0072B2", "prm": "#E69F00",
                 "gprm": "#D55E00"}
MODEL_SHORT = {"model1": "Model 1", "model2": "Model 2", "model3": "Model 3", "prm": "PRM", "gprm": "GPRM"}
DPI = 130


def _png(fig: Figure) -> bytes:
    return png_bytes(fig, DPI)


def roc_points(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) of the empirical ROC curve over thresholds "p >= t", from (0, 0) to (1, 1)."""
    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    distinct = np.r_[np.flatnonzero(np.diff(ps)), ys.size - 1]
    tps = np.cumsum(ys)[distinct]
    fps = (distinct + 1) - tps
    return np.r_[0.0, fps / max(1, (y == 0).sum())], np.r_[0.0, tps / max(1, (y == 1).sum())]


def _rows(scores: pd.DataFrame, split: str, model: str):
    s = scores[scores["split"] == split]
    col = s[f"p_{model}"].to_numpy(float)
    ok = np.isfinite(col)
    return s["pcr"].to_numpy(int)[ok], col[ok]


def _usable(y: np.ndarray) -> bool:
    return y.size > 0 and min((y == 1).sum(), (y == 0).sum()) >= 2


def roc_png(scores: pd.DataFrame, split: str, models=tuple(MODEL_SHORT), size_in=(3.4, 3.1)) -> bytes:
    """ROC curves of ``models`` on one split, AUC in the legend."""
    fig = Figure(figsize=size_in)
    ax = fig.add_subplot(111)
    ax.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--")
    for m in models:
        y, p = _rows(scores, split, m)
        if not _usable(y):
            continue
        fpr, tpr = roc_points(y, p)
        ax.plot(fpr, tpr, color=MODEL_COLOURS[m], lw=1.3, label=f"{MODEL_SHORT[m]} AUC {auc(y, p):.2f}")
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", xlim=(0, 1), ylim=(0, 1.01), title=f"ROC: {split}")
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    return _png(fig)


def calibration_png(scores: pd.DataFrame, split: str, models=("model3", "prm", "gprm"), size_in=(3.4, 3.1)) -> bytes:
    """Decile calibration plot (mean predicted vs observed pCR rate)."""
    fig = Figure(figsize=size_in)
    ax = fig.add_subplot(111)
    ax.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--")
    for m in models:
        y, p = _rows(scores, split, m)
        if not _usable(y):
            continue
        bins = calibration_bins(y, p, n_bins=min(10, max(2, y.size // 8)))
        ax.plot([b["mean_predicted"] for b in bins], [b["observed"] for b in bins], "o-", ms=3, lw=1.0,
                color=MODEL_COLOURS[m], label=MODEL_SHORT[m])
    ax.set(xlabel="predicted P(pCR)", ylabel="observed pCR rate", xlim=(0, 1), ylim=(0, 1),
           title=f"Calibration: {split}")
    ax.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def decision_png(scores: pd.DataFrame, split: str, models=("model3", "prm", "gprm"), event: str = "non-pCR",
                 size_in=(3.4, 3.1)) -> bytes:
    """Decision curves (net benefit vs threshold probability), event = non-pCR by default."""
    fig = Figure(figsize=size_in)
    ax = fig.add_subplot(111)
    top = 0.05
    dc = None
    for m in models:
        y, p = _rows(scores, split, m)
        if not _usable(y):
            continue
        dc = decision_curve(y, p, event=event)
        ax.plot(dc["thresholds"], dc["net_benefit"], color=MODEL_COLOURS[m], lw=1.2, label=MODEL_SHORT[m])
        top = max(top, max(dc["net_benefit"]))
    if dc is not None:
        ax.plot(dc["thresholds"], dc["treat_all"], color="#555555", lw=0.8, label="treat all")
        ax.plot(dc["thresholds"], dc["treat_none"], color="#000000", lw=0.8, ls=":", label="treat none")
    ax.set(xlabel=f"threshold probability ({event})", ylabel="net benefit", xlim=(0, 1), ylim=(-0.05, top + 0.05),
           title=f"Decision curve: {split}")
    ax.legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    return _png(fig)


__all__ = ["roc_points", "roc_png", "calibration_png", "decision_png", "MODEL_SHORT"]
