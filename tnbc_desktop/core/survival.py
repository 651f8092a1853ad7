"""Survival analysis on top of lifelines: Kaplan-Meier with CI and numbers at risk, log-rank, Cox summary.

Times are in months. :class:`KMCurve` is a compact, JSON-serialisable step function stored in model bundles
(reference DFS curves per predicted group) and drawn by the GUI and the report.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_AT_RISK_MONTHS = (0.0, 12.0, 24.0, 36.0, 48.0, 60.0)


@dataclass(frozen=True)
class KMCurve:
    """Kaplan-Meier step function: survival S(t) for t >= times[i] until times[i+1] (times[0] = 0, S = 1)."""

    label: str
    times: tuple[float, ...]
    survival: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    n: int
    n_events: int
    at_risk_times: tuple[float, ...] = ()
    at_risk: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        return {"label": self.label, "times": list(self.times), "survival": list(self.survival),
                "ci_low": list(self.ci_low), "ci_high": list(self.ci_high), "n": self.n, "n_events": self.n_events,
                "at_risk_times": list(self.at_risk_times), "at_risk": list(self.at_risk)}

    @classmethod
    def from_dict(cls, d: dict) -> "KMCurve":
        return cls(str(d.get("label", "")), tuple(map(float, d["times"])), tuple(map(float, d["survival"])),
                   tuple(map(float, d["ci_low"])), tuple(map(float, d["ci_high"])), int(d["n"]), int(d["n_events"]),
                   tuple(map(float, d.get("at_risk_times", ()))), tuple(map(int, d.get("at_risk", ()))))


def _clean(times, events) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(times, float).ravel()
    e = np.asarray(events, float).ravel()
    if t.size != e.size:
        raise ValueError("times and events differ in length")
    ok = np.isfinite(t) & np.isfinite(e)
    if np.any(t[ok] < 0):
        raise ValueError("negative survival times")
    return t[ok], e[ok].astype(int)


def kaplan_meier(times, events, label: str = "", at_risk_times=DEFAULT_AT_RISK_MONTHS, alpha: float = 0.05) -> KMCurve:
    """Kaplan-Meier estimate (lifelines; log(-log) CI at level 1 - alpha) and numbers at risk at ``at_risk_times``."""
    from lifelines import KaplanMeierFitter

    t, e = _clean(times, events)
    if t.size == 0:
        raise ValueError("no observations for Kaplan-Meier")
    kmf = KaplanMeierFitter(alpha=alpha).fit(t, e, label=label or "KM")
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    lo = ci.iloc[:, 0].fillna(1.0).to_numpy(float)
    hi = ci.iloc[:, 1].fillna(1.0).to_numpy(float)
    at = tuple(float(a) for a in at_risk_times)
    n_at = tuple(int(np.sum(t >= a)) for a in at)
    return KMCurve(label, tuple(float(v) for v in sf.index), tuple(float(v) for v in sf.to_numpy()),
                   tuple(float(v) for v in lo), tuple(float(v) for v in hi), int(t.size), int(e.sum()), at, n_at)


def survival_at(curve: KMCurve, months: float) -> tuple[float, float, float]:
    """(S, CI low, CI high) at ``months``; NaN beyond the last observed time."""
    times = np.asarray(curve.times)
    if months < 0 or times.size == 0:
        raise ValueError("months must be >= 0")
    if months > times[-1]:
        return float("nan"), float("nan"), float("nan")
    i = int(np.searchsorted(times, months, side="right") - 1)
    return curve.survival[i], curve.ci_low[i], curve.ci_high[i]


def survival_table(curve: KMCurve, months=(12.0, 36.0, 60.0)) -> list[dict]:
    """Survival with CI at landmark times (default 12/36/60 months)."""
    return [dict(zip(("months", "survival", "ci_low", "ci_high"), (float(m), *survival_at(curve, m)))) for m in months]


def logrank(times, events, groups) -> dict:
    """Log-rank test across the groups (2 or more): keys statistic, p, df, groups, n."""
    from lifelines.statistics import multivariate_logrank_test

    t = np.asarray(times, float).ravel()
    e = np.asarray(events, float).ravel()
    g = np.asarray(groups).ravel()
    ok = np.isfinite(t) & np.isfinite(e)
    labels = sorted(set(g[ok].tolist()), key=str)
    if len(labels) < 2:
        return {"statistic": float("nan"), "p": float("nan"), "df": 0, "groups": [str(x) for x in labels],
                "n": int(ok.sum())}
    res = multivariate_logrank_test(t[ok], g[ok], e[ok].astype(int))
    return {"statistic": float(res.test_statistic), "p": float(res.p_value), "df": len(labels) - 1,
            "groups": [str(x) for x in labels], "n": int(ok.sum())}


def cox_summary(table: pd.DataFrame, duration_col: str, event_col: str, covariates: list[str] | None = None,
                penalizer: float = 0.0) -> dict:
    """Multivariable Cox model (lifelines): per covariate HR, 95 % CI and p; plus concordance and n."""
    from lifelines import CoxPHFitter

    cols = covariates if covariates is not None else [c for c in table.columns if c not in (duration_col, event_col)]
    df = table[[duration_col, event_col, *cols]].dropna().astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter(penalizer=penalizer).fit(df, duration_col=duration_col, event_col=event_col)
    s = cph.summary
    out = {"n": int(df.shape[0]), "n_events": int(df[event_col].sum()), "concordance": float(cph.concordance_index_),
           "covariates": {}}
    for name in cols:
        out["covariates"][name] = {"hr": float(s.loc[name, "exp(coef)"]),
                                   "ci_low": float(s.loc[name, "exp(coef) lower 95%"]),
                                   "ci_high": float(s.loc[name, "exp(coef) upper 95%"]),
                                   "p": float(s.loc[name, "p"])}
    return out


def km_by_group(times, events, groups, at_risk_times=DEFAULT_AT_RISK_MONTHS) -> dict:
    """Curves per group label plus the log-rank test: {"curves": {label: KMCurve dict}, "logrank_p": p, ...}."""
    t, e, g = np.asarray(times, float), np.asarray(events, float), np.asarray(groups).astype(str)
    curves = {}
    for label in sorted(set(g.tolist())):
        sel = g == label
        curves[label] = kaplan_meier(t[sel], e[sel], label=label, at_risk_times=at_risk_times).to_dict()
    lr = logrank(t, e, g)
    return {"curves": curves, "logrank_p": lr["p"], "logrank_statistic": lr["statistic"], "n": lr["n"]}


__all__ = ["KMCurve", "kaplan_meier", "survival_at", "survival_table", "logrank", "cox_summary", "km_by_group",
           "DEFAULT_AT_RISK_MONTHS"]
