"""Place a patient's predicted group on the bundle's reference Kaplan-Meier DFS curves.

The bundle stores, per model and predicted group, the reference cohort's KM curve as a step function:
``time_months`` (ascending, starting at 0), ``survival``, ``ci_low``, ``ci_high`` and optionally ``at_risk``
(number still at risk at each time, i.e. with follow-up >= that time). DFS at a landmark t is the value of
the step function at t (the last step at or before t); it is None beyond the curve's last time.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tnbc_desktop.core.case import SurvivalGroup

LANDMARK_YEARS = (1, 3, 5)

_TIME_KEYS = ("time_months", "times", "times_months", "time", "timeline", "t")
_SURV_KEYS = ("survival", "surv", "s")
_LOW_KEYS = ("ci_low", "lower", "ci_lower")
_HIGH_KEYS = ("ci_high", "upper", "ci_upper")
_RISK_KEYS = ("at_risk", "n_at_risk", "numbers_at_risk")


def _pick(curve: Any, keys: tuple[str, ...]) -> list[float] | None:
    for key in keys:
        if isinstance(curve, Mapping) and key in curve and curve[key] is not None:
            return [float(v) if v is not None else float("nan") for v in curve[key]]
        if not isinstance(curve, Mapping) and getattr(curve, key, None) is not None:
            return [float(v) for v in np.asarray(getattr(curve, key), dtype=float)]
    return None


def normalise_curve(curve: Any) -> dict[str, list[float]]:
    """A reference curve (dict or KMCurve-like object) as plain lists with canonical keys."""
    times = _pick(curve, _TIME_KEYS)
    surv = _pick(curve, _SURV_KEYS)
    if times is None or surv is None or len(times) != len(surv) or not times:
        raise ValueError("reference curve lacks matching time and survival arrays")
    out = {"time_months": times, "survival": surv}
    for name, keys in (("ci_low", _LOW_KEYS), ("ci_high", _HIGH_KEYS)):
        vals = _pick(curve, keys)
        if vals is not None and len(vals) == len(times):
            out[name] = vals
    risk = _pick(curve, _RISK_KEYS)
    risk_times = _pick(curve, ("at_risk_times",))
    if risk is not None and risk_times is not None and len(risk_times) == len(risk) and risk:
        out["at_risk_times"], out["at_risk"] = risk_times, risk  # numbers at risk at chosen landmarks
    elif risk is not None and len(risk) == len(times):
        out["at_risk"] = risk  # aligned with the step times
    return out


def step_value(times: list[float], values: list[float], t: float) -> float | None:
    """Value of a right-continuous step function at ``t`` (None before the first or after the last time)."""
    if not times or t < times[0] or t > times[-1]:
        return None
    idx = int(np.searchsorted(np.asarray(times), t, side="right")) - 1
    return float(values[idx])


def at_risk_at(curve: dict[str, list[float]], t: float) -> int | None:
    """Number at risk at ``t`` (None if unknown).

    With ``at_risk_times`` (landmark table, as :func:`tnbc_desktop.core.survival.kaplan_meier` stores) the
    entry at exactly ``t``; otherwise ``at_risk`` is aligned with the step times and the entry of the first
    time >= t is used.
    """
    risk = curve.get("at_risk")
    if "at_risk_times" in curve:
        for rt, n in zip(curve["at_risk_times"], curve["at_risk"]):
            if abs(rt - t) < 1e-6:
                return int(round(n))
        return None
    times = curve["time_months"]
    if risk is None or t > times[-1]:
        return None
    idx = int(np.searchsorted(np.asarray(times), t, side="left"))
    return int(round(risk[min(idx, len(risk) - 1)]))


def landmark_dfs(curve: dict[str, list[float]], years: tuple[int, ...] = LANDMARK_YEARS):
    """{year: (survival, ci_low, ci_high, n_at_risk)} read off one reference curve."""
    out = {}
    times = curve["time_months"]
    for year in years:
        t = 12.0 * year
        s = step_value(times, curve["survival"], t)
        lo = step_value(times, curve["ci_low"], t) if "ci_low" in curve else None
        hi = step_value(times, curve["ci_high"], t) if "ci_high" in curve else None
        out[year] = (s, lo if s is not None else None, hi if s is not None else None, at_risk_at(curve, t))
    return out


def survival_group(model: str, group: str, reference: Mapping[str, Any], logrank_p: float | None = None,
                   source: str = "") -> SurvivalGroup:
    """Build the :class:`SurvivalGroup` for ``group`` from ``reference`` (group name -> curve).

    Raises ValueError when the group has no reference curve.
    """
    curves = {str(g): normalise_curve(c) for g, c in reference.items()}
    if group not in curves:
        raise ValueError(f"the bundle has no reference DFS curve for group '{group}' of {model}")
    return SurvivalGroup(model=model, group=group, dfs=landmark_dfs(curves[group]), curves=curves,
                         logrank_p=logrank_p, source=source)


def reference_curves(model: str, survival: Mapping[str, Any]) -> SurvivalGroup:
    """The bundle's reference DFS curves of ``model`` (its ``survival`` block) with no case placed on them."""
    curves = {str(g): normalise_curve(c) for g, c in (survival.get("curves") or {}).items()}
    return SurvivalGroup(model=model, group="", dfs={}, curves=curves, logrank_p=survival.get("logrank_p"),
                         source=str(survival.get("cohort") or ""))


def censor_marks(curve: dict[str, list[float]]) -> tuple[list[float], list[float]]:
    """(times, survival) of the censor marks drawn on a reference curve.

    [D] A KM step function stored in a bundle keeps every observed time (lifelines' timeline); a time after 0
    at which the survival does not drop had only censored patients, and is marked. A time with both an event
    and a censoring shows as a drop only (the bundle does not keep the censored count).
    """
    times, surv = curve["time_months"], curve["survival"]
    out_t, out_s = [], []
    for i in range(1, len(times)):
        if times[i] > 0 and surv[i] == surv[i - 1]:
            out_t.append(float(times[i]))
            out_s.append(float(surv[i]))
    return out_t, out_s


def at_risk_table(curves: Mapping[str, dict[str, list[float]]]) -> tuple[list[float], dict[str, list[int | None]]]:
    """Numbers at risk per group at common times (months): the landmark times the bundle stored
    (``at_risk_times``), else 0/12/24/36/48/60. Drawn under the KM plot by the GUI and the report alike."""
    stored = [c["at_risk_times"] for c in curves.values() if "at_risk_times" in c]
    times = [float(t) for t in stored[0]] if stored else [0.0, 12.0, 24.0, 36.0, 48.0, 60.0]
    return times, {g: [at_risk_at(c, t) for t in times] for g, c in curves.items()}
