"""Feature-selection steps (SPEC section 8), each a small pure function on numpy / pandas data.

Order used by :mod:`tnbc_desktop.core.training.fit`: ICC(2,1) >= 0.75 on two readers (raw data) -> z-score
(training mean/SD) -> SMOTE (training only) -> Mann-Whitney p < 0.05 -> Pearson |r| > 0.9 pruning -> LASSO
logistic (stratified 10-fold CV) -> unpenalised logistic refit -> VIF < 10 loop -> radscore.
"""
from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import mannwhitneyu
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

# scikit-learn >= 1.8 deprecates ``penalty``: no penalty is C=inf, L1 is l1_ratio=1.
_NEW_SKLEARN_API = inspect.signature(LogisticRegression).parameters["penalty"].default == "deprecated"


def _logreg(kind: str, C: float = 1.0, solver: str = "lbfgs", **kw) -> LogisticRegression:
    """A LogisticRegression with penalty ``kind`` in {"none", "l1", "l2"} on any scikit-learn >= 1.4."""
    if _NEW_SKLEARN_API:
        if kind == "none":
            return LogisticRegression(C=np.inf, solver=solver, **kw)
        return LogisticRegression(C=C, l1_ratio=1.0 if kind == "l1" else 0.0, solver=solver, **kw)
    penalty = None if kind == "none" else kind
    return LogisticRegression(penalty=penalty, C=C, solver=solver, **kw)


# ---------------------------------------------------------------- ICC(2,1)

def icc_2_1(ratings: np.ndarray) -> np.ndarray:
    """ICC(2,1) (two-way random, absolute agreement, single rater; Shrout & Fleiss 1979, Koo & Li 2016).

    ``ratings`` (n_subjects, k_raters) or (n_subjects, k_raters, n_features) -> float or (n_features,).
    ICC = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n); NaN when the data have no variance.
    """
    r = np.asarray(ratings, dtype=float)
    squeeze = r.ndim == 2
    if squeeze:
        r = r[:, :, None]
    n, k = r.shape[0], r.shape[1]
    grand = r.mean(axis=(0, 1))
    row_means = r.mean(axis=1)
    col_means = r.mean(axis=0)
    ss_rows = k * np.sum((row_means - grand) ** 2, axis=0)
    ss_cols = n * np.sum((col_means - grand) ** 2, axis=0)
    ss_total = np.sum((r - grand) ** 2, axis=(0, 1))
    ss_err = ss_total - ss_rows - ss_cols
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    denom = msr + (k - 1) * mse + k * (msc - mse) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        icc = np.where(denom > 0, (msr - mse) / denom, np.nan)
    return float(icc[0]) if squeeze else icc


def icc_filter(reader1: pd.DataFrame, reader2: pd.DataFrame, threshold: float = 0.75) -> tuple[list[str], pd.Series]:
    """Features (columns of both tables, rows matched by index) with ICC(2,1) >= threshold; and all ICCs."""
    common_rows = reader1.index.intersection(reader2.index)
    cols = [c for c in reader1.columns if c in reader2.columns]
    a = reader1.loc[common_rows, cols].to_numpy(float)
    b = reader2.loc[common_rows, cols].to_numpy(float)
    iccs = pd.Series(icc_2_1(np.stack([a, b], axis=1)), index=cols, name="icc")
    keep = [c for c in cols if np.isfinite(iccs[c]) and iccs[c] >= threshold]
    return keep, iccs


# ---------------------------------------------------------------- scaling and resampling

@dataclass(frozen=True)
class ZScaler:
    """Training mean and SD (ddof=1) per feature; constant features are not scalable."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    sd: tuple[float, ...]

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        cols = list(self.names)
        return (table[cols] - np.asarray(self.mean)) / np.asarray(self.sd)


def fit_zscaler(table: pd.DataFrame) -> ZScaler:
    """Fit a z-scaler; drops columns with zero SD or any non-finite value."""
    ok = [c for c in table.columns if np.all(np.isfinite(table[c].to_numpy(float)))]
    sd = table[ok].std(ddof=1)
    keep = [c for c in ok if sd[c] > 0]
    return ZScaler(tuple(keep), tuple(float(v) for v in table[keep].mean()), tuple(float(v) for v in sd[keep]))


def smote_resample(x: pd.DataFrame, y: np.ndarray, seed: int = 0,
                   k_neighbors: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """SMOTE (imbalanced-learn; Chawla 2002) to balance the classes; k reduced if the minority class is tiny."""
    from imblearn.over_sampling import SMOTE

    y = np.asarray(y).astype(int)
    counts = np.bincount(y, minlength=2)
    if counts.min() < 2 or counts[0] == counts[1]:
        return x.copy(), y.copy()
    k = min(k_neighbors, int(counts.min()) - 1)
    xr, yr = SMOTE(k_neighbors=k, random_state=seed).fit_resample(x.to_numpy(float), y)
    return pd.DataFrame(xr, columns=x.columns), np.asarray(yr).astype(int)


# ---------------------------------------------------------------- univariate filters

def mann_whitney_pvalues(x: pd.DataFrame, y: np.ndarray) -> pd.Series:
    """Two-sided Mann-Whitney U p-value per column (class 1 vs class 0)."""
    y = np.asarray(y).astype(int)
    a, b = x.to_numpy(float)[y == 1], x.to_numpy(float)[y == 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = mannwhitneyu(a, b, alternative="two-sided", axis=0).pvalue
    return pd.Series(np.nan_to_num(np.atleast_1d(p), nan=1.0), index=x.columns, name="p")


def pearson_prune(x: pd.DataFrame, pvalues: pd.Series, threshold: float = 0.9) -> list[str]:
    """Drop, from every pair with |r| > threshold, the feature with the larger p (greedy by ascending p)."""
    order = sorted(x.columns, key=lambda c: (pvalues[c], c))
    corr = np.abs(np.corrcoef(x[order].to_numpy(float), rowvar=False)) if len(order) > 1 else np.zeros((1, 1))
    kept_idx: list[int] = []
    for i in range(len(order)):
        if all(not corr[i, j] > threshold for j in kept_idx):
            kept_idx.append(i)
    return [order[i] for i in kept_idx]


# ---------------------------------------------------------------- LASSO with CV

@dataclass(frozen=True)
class LassoResult:
    selected: tuple[str, ...]
    coefficients: dict[str, float]
    C: float
    rule: str
    cv_C: tuple[float, ...]
    cv_mean_deviance: tuple[float, ...]
    cv_se_deviance: tuple[float, ...]


def lasso_cv(x: pd.DataFrame, y: np.ndarray, seed: int = 0, n_folds: int = 10, rule: str = "min",
             Cs: np.ndarray | None = None) -> LassoResult:
    """L1 logistic regression, C chosen by stratified k-fold CV on mean deviance (lambda = 1/C).

    ``rule="min"``: lowest mean deviance (lambda_min); ``"1se"``: the strongest penalty whose deviance is within
    one standard error of the minimum (lambda_1se). Returns the features with non-zero coefficients at that C.
    liblinear shuffles coordinates with ``random_state``; left unset it draws from numpy's global generator, so
    coefficients moved by ~1e-4 between processes and, with thousands of candidates, the |coefficient| order
    (and the paper-size caps) changed: ``seed`` fixes it.
    """
    y = np.asarray(y).astype(int)
    xv = x.to_numpy(float)
    Cs = np.logspace(-2.5, 1.5, 25) if Cs is None else np.asarray(Cs, float)
    folds = min(n_folds, int(np.bincount(y).min()))
    if folds < 2:
        raise ValueError("too few cases of one class for cross-validation")
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    dev = np.zeros((folds, Cs.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for f, (tr, te) in enumerate(skf.split(xv, y)):
            for c_i, C in enumerate(Cs):
                m = _logreg("l1", C=C, solver="liblinear", max_iter=1000, random_state=seed).fit(xv[tr], y[tr])
                p = np.clip(m.predict_proba(xv[te])[:, 1], 1e-12, 1 - 1e-12)
                dev[f, c_i] = -2.0 * np.mean(y[te] * np.log(p) + (1 - y[te]) * np.log(1 - p))
        mean, se = dev.mean(axis=0), dev.std(axis=0, ddof=1) / np.sqrt(folds)
        best = int(np.argmin(mean))
        if rule == "1se":
            ok = np.flatnonzero(mean <= mean[best] + se[best])
            best = int(ok.min())  # smallest C = largest lambda
        elif rule != "min":
            raise ValueError("rule must be 'min' or '1se'")
        final = _logreg("l1", C=Cs[best], solver="liblinear", max_iter=1000, random_state=seed).fit(xv, y)
    coefs = dict(zip(x.columns, final.coef_[0].tolist()))
    selected = tuple(c for c in x.columns if abs(coefs[c]) > 1e-10)
    return LassoResult(selected, coefs, float(Cs[best]), rule, tuple(Cs.tolist()), tuple(mean.tolist()),
                       tuple(se.tolist()))


# ---------------------------------------------------------------- logistic refit, VIF

@dataclass(frozen=True)
class LogisticFit:
    """Unpenalised (or ridge-fallback) logistic fit; ``covariance`` is (p+1, p+1) ordered [intercept, coefs]."""

    names: tuple[str, ...]
    intercept: float
    coefficients: tuple[float, ...]
    covariance: np.ndarray
    l2: float
    notes: tuple[str, ...]

    def linear_predictor(self, x: pd.DataFrame | np.ndarray) -> np.ndarray:
        xv = x[list(self.names)].to_numpy(float) if isinstance(x, pd.DataFrame) else np.asarray(x, float)
        return self.intercept + xv @ np.asarray(self.coefficients)

    def predict_proba(self, x) -> np.ndarray:
        return expit(self.linear_predictor(x))


def logistic_covariance(x: np.ndarray, beta_full: np.ndarray, l2: float = 0.0) -> np.ndarray:
    """inv(X' W X + P) for design X with a leading intercept column; P = l2 on non-intercept terms."""
    xd = np.column_stack([np.ones(x.shape[0]), x])
    p = expit(xd @ beta_full)
    info = (xd * (p * (1.0 - p))[:, None]).T @ xd
    if l2 > 0:
        info = info + np.diag([0.0] + [l2] * x.shape[1])
    return np.linalg.pinv(info)


def fit_logistic(x: pd.DataFrame, y: np.ndarray, max_abs_coef: float = 15.0) -> LogisticFit:
    """Unpenalised maximum-likelihood logistic regression (scikit-learn) with covariance inv(X'WX).

    If the fit does not converge or a coefficient times its input's SD exceeds ``max_abs_coef`` (separation), it is
    refitted with a small ridge penalty (l2 = 1, intercept free) and the note says so; the covariance then includes the
    penalty.
    """
    y = np.asarray(y).astype(int)
    xv = x.to_numpy(float)
    notes: list[str] = []
    l2 = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        m = _logreg("none", solver="lbfgs", max_iter=5000, tol=1e-10).fit(xv, y)
    scaled = np.abs(m.coef_[0]) * (xv.std(axis=0) if xv.shape[0] > 1 else 1.0)  # effect per SD of input
    bad = any(issubclass(w.category, ConvergenceWarning) for w in caught) or np.max(scaled, initial=0) > max_abs_coef
    if bad:
        l2 = 1.0
        m = _logreg("l2", C=1.0 / l2, solver="lbfgs", max_iter=5000, tol=1e-10).fit(xv, y)
        notes.append("separation or non-convergence: refitted with ridge penalty l2=1")
    beta = np.concatenate([m.intercept_, m.coef_[0]])
    cov = logistic_covariance(xv, beta, l2)
    return LogisticFit(tuple(x.columns), float(beta[0]), tuple(float(b) for b in beta[1:]), cov, l2, tuple(notes))


def variance_inflation(x: pd.DataFrame) -> pd.Series:
    """VIF_j = 1 / (1 - R^2_j) from regressing column j on the others (with intercept)."""
    xv = x.to_numpy(float)
    out = {}
    for j, name in enumerate(x.columns):
        others = np.delete(xv, j, axis=1)
        design = np.column_stack([np.ones(xv.shape[0]), others])
        coef, *_ = np.linalg.lstsq(design, xv[:, j], rcond=None)
        resid = xv[:, j] - design @ coef
        ss_tot = np.sum((xv[:, j] - xv[:, j].mean()) ** 2)
        r2 = 1.0 - np.sum(resid**2) / ss_tot if ss_tot > 0 else 1.0
        out[name] = float(np.inf) if r2 >= 1.0 - 1e-12 else float(1.0 / (1.0 - r2))
    return pd.Series(out, name="vif")


def vif_prune(x: pd.DataFrame, threshold: float = 10.0) -> list[str]:
    """Repeatedly drop the column with the largest VIF until every VIF < threshold."""
    cols = list(x.columns)
    while len(cols) > 1:
        vif = variance_inflation(x[cols])
        worst = vif.idxmax()
        if vif[worst] < threshold:
            break
        cols.remove(worst)
    return cols


__all__ = ["icc_2_1", "icc_filter", "ZScaler", "fit_zscaler", "smote_resample", "mann_whitney_pvalues",
           "pearson_prune", "LassoResult", "lasso_cv", "LogisticFit", "fit_logistic", "logistic_covariance",
           "variance_inflation", "vif_prune"]
