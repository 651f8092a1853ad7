"""Predictions of Model 1/2/3, PRM and GPRM from a verified bundle (SPEC section 8).

For each model: z = (x - mean) / sd, linear predictor lp = b0 + z . b, P(pCR) = logistic(lp); 95 % CI by the
delta method on the linear predictor, lp +- 1.96 sqrt(v' Sigma v) with v = [1, z] and Sigma the coefficient
covariance (intercept first), then logistic. Group "pCR" if P >= cutoff else "non-pCR". PRM's inputs are
Model 3's radscore (its linear predictor), Ki-67 >= 20 % (0/1) and LVI (0/1); GPRM adds vaf_sum. A model whose
inputs are missing is reported as not available with the reason; nothing is imputed. A bundle whose training
cohort had no Ki-67 / LVI / VAF records PRM / GPRM as not trainable; they are then not available with that reason.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from tnbc_desktop.core.bundle import MODEL_NAMES, ModelBundle, ModelSpec

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Prediction:
    """One model's output; when ``available`` is False only ``reason`` (and ``cutoff``) is meaningful."""

    model: str
    available: bool
    reason: str = ""
    probability: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    linear_predictor: float = float("nan")
    cutoff: float = float("nan")
    group: str = ""
    warnings: tuple[str, ...] = ()


def _unavailable(spec: ModelSpec, reason: str) -> Prediction:
    return Prediction(spec.name, False, reason=reason, cutoff=spec.cutoff)


def predict_model(spec: ModelSpec, inputs: Mapping[str, float]) -> Prediction:
    """Apply one model to raw inputs (all of ``spec.features`` must be present and finite)."""
    x = np.array([float(inputs[f]) for f in spec.features])
    z = (x - spec.z_mean) / spec.z_sd
    lp = float(spec.intercept + z @ spec.coefficients)
    v = np.concatenate([[1.0], z])
    var = float(v @ spec.covariance @ v)
    se = math.sqrt(max(var, 0.0))
    prob = float(expit(lp))
    warns = []
    for name, value, lo, hi in zip(spec.features, x, spec.input_min, spec.input_max):
        if value < lo or value > hi:
            warns.append(f"{name} = {value:.4g} is outside the training range [{lo:.4g}, {hi:.4g}]")
    return Prediction(spec.name, True, "", prob, float(expit(lp - Z95 * se)), float(expit(lp + Z95 * se)), lp,
                      spec.cutoff, "pCR" if prob >= spec.cutoff else "non-pCR", tuple(warns))


def _missing_imaging(spec: ModelSpec, features: Mapping[str, float], not_computable: Mapping[str, str]) -> str:
    for f in spec.features:
        if f in not_computable:
            return f"feature {f} could not be computed: {not_computable[f]}"
        value = features.get(f)
        if value is None:
            return f"feature {f} was not extracted"
        try:
            if not math.isfinite(float(value)):
                return f"feature {f} is not a finite number"
        except (TypeError, ValueError):
            return f"feature {f} is not a number"
    return ""


def predict_all(bundle: ModelBundle, features, pathology=None, vaf_sum: float | None = None,
                not_computable: Mapping[str, str] | None = None) -> dict[str, Prediction]:
    """Predictions for model1, model2, model3, prm, gprm (in that order).

    ``features``: dict name -> value, or a FeatureSet-like object with ``values`` and ``not_computable``.
    ``pathology``: object with ``ki67_high`` and ``lvi_present`` (bool or None = unknown), or None.
    ``vaf_sum``: summed VAF of REL + MED23 (None when no mutation file was given).
    """
    if hasattr(features, "values") and not isinstance(features, Mapping):
        nc = dict(getattr(features, "not_computable", {}) or {})
        features = dict(features.values)
    else:
        nc = {}
        features = dict(features or {})
    nc.update(not_computable or {})

    out: dict[str, Prediction] = {}
    for name in ("model1", "model2", "model3"):
        spec = bundle.models[name]
        reason = _missing_imaging(spec, features, nc)
        out[name] = _unavailable(spec, reason) if reason else predict_model(spec, features)

    ki67 = getattr(pathology, "ki67_high", None) if pathology is not None else None
    lvi = getattr(pathology, "lvi_present", None) if pathology is not None else None
    m3 = out["model3"]
    clinical = {"radscore_model3": m3.linear_predictor,
                "ki67_high": None if ki67 is None else float(bool(ki67)),
                "lvi": None if lvi is None else float(bool(lvi)),
                "vaf_sum": None if vaf_sum is None or not math.isfinite(float(vaf_sum)) else float(vaf_sum)}
    not_trainable = dict(getattr(bundle, "not_trainable", {}) or {})
    for name in ("prm", "gprm"):
        spec = bundle.models.get(name)
        if spec is None:
            why = not_trainable.get(name, "the bundle has no such model")
            out[name] = Prediction(name, False, reason=f"not trainable on the bundle's training cohort: {why}")
            continue
        reason = ""
        for f in spec.features:
            if f == "radscore_model3" and not m3.available:
                reason = f"Model 3 is not available ({m3.reason})"
            elif f == "ki67_high" and clinical[f] is None:
                reason = "Ki-67 was not given"
            elif f == "lvi" and clinical[f] is None:
                reason = "lymphovascular invasion (LVI) status was not given"
            elif f == "vaf_sum" and clinical[f] is None:
                reason = "no mutation file (MAF) was given, so the REL/MED23 VAF is unknown"
            elif f not in clinical:
                reason = _missing_imaging(spec, features, nc) if f not in features else ""
            if reason:
                break
        if reason:
            out[name] = _unavailable(spec, reason)
        else:
            inputs = {**features, **{k: v for k, v in clinical.items() if v is not None}}
            out[name] = predict_model(spec, inputs)
    return {name: out[name] for name in MODEL_NAMES}


__all__ = ["Prediction", "predict_model", "predict_all"]
