"""Fit Model 1/2/3, PRM and GPRM from a feature table -> the ``models`` part of a bundle (SPEC section 8).

Steps per imaging model (training rows only): [ICC(2,1) >= 0.75 on two readers' raw tables] -> z-score ->
SMOTE -> Mann-Whitney p < 0.05 -> Pearson |r| > 0.9 pruning -> LASSO (stratified 10-fold CV) -> cap at the
paper's sizes (Model 1: 5 habitat/MSI + 2 ring; Model 2: 18 kinetic) by |LASSO coefficient| -> unpenalised
logistic refit on the real (non-SMOTE) training rows -> VIF < 10 loop. Model 3 = refit on the union of Model 1
and Model 2 features. PRM = logistic on (Model 3 radscore, ki67_high, lvi); GPRM = PRM + vaf_sum (rows with a
MAF only). Cutoffs: Youden on training. [D] Selection runs on SMOTE-balanced data; coefficients are refitted
on real patients so probabilities stay calibrated and the covariance reflects the real sample size.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tnbc_desktop.core.survival import cox_summary
from tnbc_desktop.core.training.evaluate import (compare_delong, model_linear_predictor, model_probabilities,
                                                 performance, survival_block)
from tnbc_desktop.core.training.selection import (fit_logistic, fit_zscaler, icc_filter, lasso_cv,
                                                  mann_whitney_pvalues, pearson_prune, smote_resample, vif_prune)
from tnbc_desktop.core.training.stats import youden_cutoff

HABITAT_PREFIXES = ("H1__", "H2__", "H3__", "MSI")
RING_PREFIX = "ring__"
KINETIC_PREFIX = "kin_"


@dataclass(frozen=True)
class SelectionSettings:
    icc_threshold: float = 0.75
    p_threshold: float = 0.05
    corr_threshold: float = 0.9
    vif_threshold: float = 10.0
    lasso_rule: str = "min"          # "min" (lambda_min) or "1se"
    n_folds: int = 10
    use_smote: bool = True
    model1_caps: tuple[int, int] = (5, 2)   # habitat/MSI, ring
    model2_cap: int = 18
    seed: int = 0


def _is_habitat(name: str) -> bool:
    return name.startswith(HABITAT_PREFIXES)


def select_features(train: pd.DataFrame, y: np.ndarray, settings: SelectionSettings) -> tuple[list[str], dict]:
    """z-score -> SMOTE -> Mann-Whitney -> Pearson -> LASSO on ``train`` columns; returns (selected, log)."""
    log: dict = {"candidates": int(train.shape[1])}
    scaler = fit_zscaler(train)
    z = scaler.transform(train)
    log["scalable"] = len(scaler.names)
    if settings.use_smote:
        z, y = smote_resample(z, y, seed=settings.seed)
    log["n_after_smote"] = int(len(y))
    pvals = mann_whitney_pvalues(z, y)
    kept = [c for c in z.columns if pvals[c] < settings.p_threshold]
    if not kept:  # nothing significant: keep the best few so the model can still be fitted, and say so
        kept = list(pvals.sort_values().index[:3])
        log["note"] = "no feature reached the univariate threshold; the 3 smallest p were kept"
    log["after_univariate"] = len(kept)
    kept = pearson_prune(z[kept], pvals, settings.corr_threshold)
    log["after_pearson"] = len(kept)
    lasso = lasso_cv(z[kept], y, seed=settings.seed, n_folds=settings.n_folds, rule=settings.lasso_rule)
    selected = sorted(lasso.selected, key=lambda c: -abs(lasso.coefficients[c]))
    if not selected:
        selected = kept[:1]
        log["lasso_note"] = "LASSO kept no feature; the smallest-p feature was used"
    log["after_lasso"] = len(selected)
    log["lasso_C"] = lasso.C
    return selected, log


def _cap(selected: list[str], kind: str, settings: SelectionSettings) -> list[str]:
    if kind == "model1":
        hab = [c for c in selected if _is_habitat(c)][: settings.model1_caps[0]]
        ring = [c for c in selected if c.startswith(RING_PREFIX)][: settings.model1_caps[1]]
        return [c for c in selected if c in hab or c in ring]
    return selected[: settings.model2_cap]


def _fit_model_dict(train: pd.DataFrame, y: np.ndarray, features: list[str], standardise: bool,
                    vif_threshold: float, description: str) -> dict:
    """Logistic refit (+ VIF loop) on raw training columns; returns a bundle model dict without performance."""
    raw = train[features].astype(float)
    if standardise:
        scaler = fit_zscaler(raw)
        features = list(scaler.names)
        mean, sd = np.asarray(scaler.mean), np.asarray(scaler.sd)
    else:
        mean, sd = np.zeros(len(features)), np.ones(len(features))
    z = (raw[features] - mean) / sd
    if len(features) > 1:
        kept = vif_prune(z, vif_threshold)
        idx = [features.index(c) for c in kept]
        features, mean, sd, z = kept, mean[idx], sd[idx], z[kept]
    fit = fit_logistic(z, y)
    model = {"description": description, "features": features, "z_mean": mean.tolist(), "z_sd": sd.tolist(),
             "coefficients": list(fit.coefficients), "intercept": fit.intercept, "covariance": fit.covariance.tolist(),
             "input_range": {"min": raw[features].min().tolist(), "max": raw[features].max().tolist()},
             "fit_notes": list(fit.notes)}
    lp = model_linear_predictor(model, train)
    model["cutoff"] = youden_cutoff(y, 1.0 / (1.0 + np.exp(-lp)))[0]
    return model


def _with_clinical(table: pd.DataFrame, clinical: pd.DataFrame | None, radscore: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame({"radscore_model3": radscore}, index=table.index)
    if clinical is not None:
        for col in ("ki67_high", "lvi", "vaf_sum", "dfs_months", "dfs_event"):
            if col in clinical.columns:
                out[col] = pd.to_numeric(clinical.loc[table.index, col], errors="coerce").astype(float)
    return out


def fit_models(train_table: pd.DataFrame, clinical: pd.DataFrame | None, labels, *,
               validation_table: pd.DataFrame | None = None, validation_clinical: pd.DataFrame | None = None,
               validation_labels=None, reader2_table: pd.DataFrame | None = None,
               settings: SelectionSettings = SelectionSettings()) -> dict:
    """Fit the five models. Tables: rows = patients (index = patient id), columns = feature names.

    ``clinical`` columns (same index): ki67_high (0/1), lvi (0/1), vaf_sum (NaN without MAF), optional dfs_months,
    dfs_event. ``labels``: 1 = pCR. Returns {"models": {...5 model dicts...}, "comparisons": {...},
    "cox": {...} | None, "selection_log": {...}, "notes": [...]}.
    """
    y = np.asarray(labels).astype(int)
    log: dict = {}
    notes: list[str] = []
    columns = list(train_table.columns)
    if reader2_table is not None:
        keep, iccs = icc_filter(train_table, reader2_table, settings.icc_threshold)
        log["icc"] = {"tested": int(iccs.size), "kept": len(keep)}
        columns = [c for c in columns if c in set(keep)]
    groups = {"model1": [c for c in columns if _is_habitat(c) or c.startswith(RING_PREFIX)],
              "model2": [c for c in columns if c.startswith(KINETIC_PREFIX)]}
    models: dict[str, dict] = {}
    for name, cands in groups.items():
        if not cands:
            raise ValueError(f"no candidate features for {name}")
        selected, log[name] = select_features(train_table[cands], y, settings)
        selected = _cap(selected, name, settings) or selected[:1]
        desc = "habitat + peritumoral radiomics" if name == "model1" else "kinetic (phase-varying) radiomics"
        models[name] = _fit_model_dict(train_table, y, selected, True, settings.vif_threshold, desc)
    union = list(dict.fromkeys(models["model1"]["features"] + models["model2"]["features"]))
    models["model3"] = _fit_model_dict(train_table, y, union, True, settings.vif_threshold,
                                       "radiomic: Model 1 + Model 2 features")

    clin_tr = _with_clinical(train_table, clinical, model_linear_predictor(models["model3"], train_table))
    prm_cols = ["radscore_model3", "ki67_high", "lvi"]
    for name, cols in (("prm", prm_cols), ("gprm", prm_cols + ["vaf_sum"])):
        gap = clinical_gap(clin_tr, cols, y)
        if gap:
            models[name] = {"not_trainable": gap}
            notes.append(f"{name} not trainable: {gap}")
            log[name] = {"not_trainable": gap}
            continue
        rows = clin_tr[cols].notna().all(axis=1).to_numpy()
        models[name] = _fit_model_dict(clin_tr[rows], y[rows], cols, False, np.inf,
                                       "Model 3 radscore + Ki-67 >= 20 % + LVI" if name == "prm"
                                       else "PRM + summed VAF of REL and MED23")
        models[name]["features"] = [c for c in cols if c in models[name]["features"]]
        log[name] = {"n_train": int(rows.sum())}

    # performance on training and validation
    fitted = fitted_models(models)
    val = _evaluate_split(fitted, train_table, clin_tr, y, "training")
    comparisons: dict = {}
    if validation_table is not None and validation_labels is not None:
        yv = np.asarray(validation_labels).astype(int)
        clin_v = _with_clinical(validation_table, validation_clinical,
                                model_linear_predictor(models["model3"], validation_table))
        val_v = _evaluate_split(fitted, validation_table, clin_v, yv, "validation")
        for name in fitted:
            models[name]["performance"] = {"training": val[name]["perf"], "validation": val_v[name]["perf"]}
            models[name]["survival"] = val_v[name]["surv"] or val[name]["surv"]
        rows = (clin_v["vaf_sum"].notna().to_numpy() if "vaf_sum" in clin_v and "gprm" in fitted
                else np.zeros(len(yv), bool))
        if rows.any():
            both = pd.concat([validation_table, clin_v], axis=1).iloc[rows]
            res = compare_delong(yv[rows], model_probabilities(models["gprm"], both),
                                 model_probabilities(models["model3"], both))
            if res is not None:
                comparisons["delong_gprm_vs_model3_validation"] = res
    else:
        for name in fitted:
            models[name]["performance"] = {"training": val[name]["perf"], "validation": None}
            models[name]["survival"] = val[name]["surv"]
        notes.append("no validation set: performance is apparent (training) only")

    cox = None
    if {"dfs_months", "dfs_event"} <= set(clin_tr.columns):
        try:
            cox_cols = prm_cols if "prm" in fitted else ["radscore_model3"]
            cox = cox_summary(clin_tr, "dfs_months", "dfs_event", cox_cols, penalizer=0.01)
            cox["model"] = (f"{'multivariable' if len(cox_cols) > 1 else 'univariable'} Cox on "
                            f"{'PRM inputs' if 'prm' in fitted else 'the Model 3 radscore'} (training set, "
                            "penalizer 0.01)")
        except Exception as exc:  # noqa: BLE001 - Cox may fail on tiny/separated data; the bundle stays usable
            notes.append(f"Cox model could not be fitted: {type(exc).__name__}")
    return {"models": models, "comparisons": comparisons, "cox": cox, "selection_log": log, "notes": notes}


CLINICAL_LABELS = {"ki67_high": "Ki-67", "lvi": "LVI", "vaf_sum": "REL/MED23 VAF"}
MIN_PER_CLASS = 5  # [D] as for the training split itself (train_cohort.load_training_manifest)


def clinical_gap(clin: pd.DataFrame, cols: list[str], y: np.ndarray) -> str:
    """'' when the training rows with every input in ``cols`` known hold >= MIN_PER_CLASS patients of each
    class; otherwise what is missing, e.g. "no Ki-67, LVI (none of the 120 training patients has it)". [D]"""
    n = len(clin)
    missing = [c for c in cols if c not in clin.columns or clin[c].notna().sum() == 0]
    if missing:
        names = ", ".join(CLINICAL_LABELS.get(c, c) for c in missing)
        return f"no {names} (none of the {n} training patients has it)"
    rows = clin[cols].notna().all(axis=1).to_numpy()
    counts = np.bincount(np.asarray(y)[rows].astype(int), minlength=2)
    if counts.min() < MIN_PER_CLASS:
        known = ", ".join(f"{CLINICAL_LABELS.get(c, c)} {int(clin[c].notna().sum())}" for c in cols
                          if c in CLINICAL_LABELS)
        return (f"too few training patients with every input known ({int(rows.sum())}: {counts[1]} pCR, "
                f"{counts[0]} non-pCR; known of {n}: {known}); at least {MIN_PER_CLASS} of each class are needed")
    return ""


def fitted_models(models: dict) -> dict:
    """The models that were fitted (PRM / GPRM may be ``{"not_trainable": reason}``)."""
    return {k: v for k, v in models.items() if "not_trainable" not in v}


def _evaluate_split(models: dict, table: pd.DataFrame, clin: pd.DataFrame, y: np.ndarray, cohort: str) -> dict:
    both = pd.concat([table, clin], axis=1)
    out = {}
    for name, model in models.items():
        rows = both[model["features"]].notna().all(axis=1).to_numpy()
        prob = model_probabilities(model, both.iloc[rows])
        surv = None
        if {"dfs_months", "dfs_event"} <= set(both.columns):
            surv = survival_block(prob, model["cutoff"], both["dfs_months"].to_numpy()[rows],
                                  both["dfs_event"].to_numpy()[rows], cohort)
        out[name] = {"perf": performance(y[rows], prob, model["cutoff"]), "surv": surv}
    return out


__all__ = ["SelectionSettings", "select_features", "fit_models", "clinical_gap", "fitted_models"]
