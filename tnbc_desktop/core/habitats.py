"""Three perfusion habitats from the voxel kinetic vectors (WIS, WOS, SER, PE) (SPEC section 3).

Population mode (default): a :class:`HabitatModel` fitted on pooled training voxels (winsorised at the
training [0.5, 99.5] percentiles, z-scored, k-means K=3, k-means++ with n_init=50 and a fixed seed, at most
5000 random voxels per patient) is shipped in the model bundle; a new patient's voxels go to the nearest
centroid in z-space. Per-patient mode: k-means on the patient's own z-scored voxels (labels then relative to
the patient). In both modes clusters are ordered by centroid PE in original units, ascending (ties: WIS),
so labels are 1 = poorly, 2 = moderately, 3 = highly perfused; 0 = outside the tumour or invalid voxel.
Calinski-Harabasz and silhouette scores are diagnostics only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tnbc_desktop.core.kinetics import FEATURE_ORDER, KineticMaps
from tnbc_desktop.errors import BundleError, ConfigError, FeatureError

N_HABITATS = 3
WINSOR_PERCENTILES = (0.5, 99.5)
HABITAT_NAMES = ("poorly perfused", "moderately perfused", "highly perfused")
SILHOUETTE_SAMPLE = 2000
_PE, _WIS = FEATURE_ORDER.index("PE"), FEATURE_ORDER.index("WIS")


@dataclass(frozen=True, eq=False)
class HabitatModel:
    """Scaler + ordered centroids; ``to_dict()`` is the JSON form stored in model bundles."""

    scaler_mean: tuple[float, ...]
    scaler_sd: tuple[float, ...]
    centroids_z: tuple[tuple[float, ...], ...]  # (3, 4), poorly -> highly perfused
    winsor_low: tuple[float, ...]
    winsor_high: tuple[float, ...]
    # the training voxels' 99.5th percentile of |SER|, kept as a record: maps are computed with the extraction's
    # kinetic settings (see core.imaging_chain), and SER is winsorised to winsor_low/high before assignment
    ser_clip: float
    slopes: str = "relative"
    feature_order: tuple[str, ...] = FEATURE_ORDER
    diagnostics: dict = field(default_factory=dict)  # not serialised

    def centroids_original(self) -> np.ndarray:
        """Centroids (3, 4) in original units (before z-scoring)."""
        return np.asarray(self.centroids_z) * np.asarray(self.scaler_sd) + np.asarray(self.scaler_mean)

    def to_dict(self) -> dict:
        return {
            "feature_order": list(self.feature_order),
            "scaler_mean": [float(v) for v in self.scaler_mean],
            "scaler_sd": [float(v) for v in self.scaler_sd],
            "centroids_z": [[float(v) for v in row] for row in self.centroids_z],
            "winsor_low": [float(v) for v in self.winsor_low],
            "winsor_high": [float(v) for v in self.winsor_high],
            "ser_clip": float(self.ser_clip),
            "slopes": self.slopes,
        }

    @classmethod
    def from_dict(cls, d: dict, source: str | None = None) -> "HabitatModel":
        """Validate and build; any problem raises :class:`BundleError` naming the key."""
        if not isinstance(d, dict):
            raise BundleError("habitat_model must be a JSON object", source)
        keys = ("feature_order", "scaler_mean", "scaler_sd", "centroids_z", "winsor_low", "winsor_high",
                "ser_clip", "slopes")
        missing = [k for k in keys if k not in d]
        if missing:
            raise BundleError(f"habitat_model lacks {', '.join(missing)}", source)
        if list(d["feature_order"]) != list(FEATURE_ORDER):
            raise BundleError(f"habitat_model feature_order must be {list(FEATURE_ORDER)}, "
                              f"not {d['feature_order']}", source)
        if d["slopes"] not in ("relative", "absolute"):
            raise BundleError(f"habitat_model slopes must be 'relative' or 'absolute', not {d['slopes']!r}", source)
        vecs = {}
        for k in ("scaler_mean", "scaler_sd", "winsor_low", "winsor_high"):
            vecs[k] = _float_array(d[k], (4,), k, source)
        cz = _float_array(d["centroids_z"], (N_HABITATS, 4), "centroids_z", source)
        if np.any(vecs["scaler_sd"] <= 0):
            raise BundleError("habitat_model scaler_sd must be > 0", source)
        if np.any(vecs["winsor_low"] > vecs["winsor_high"]):
            raise BundleError("habitat_model winsor_low must not exceed winsor_high", source)
        try:
            ser_clip = float(d["ser_clip"])
        except (TypeError, ValueError):
            raise BundleError("habitat_model ser_clip must be a number", source) from None
        if not (np.isfinite(ser_clip) and ser_clip > 0):
            raise BundleError("habitat_model ser_clip must be a finite number > 0", source)
        return cls(scaler_mean=tuple(vecs["scaler_mean"]), scaler_sd=tuple(vecs["scaler_sd"]),
                   centroids_z=tuple(tuple(r) for r in cz), winsor_low=tuple(vecs["winsor_low"]),
                   winsor_high=tuple(vecs["winsor_high"]), ser_clip=ser_clip, slopes=d["slopes"])


def _float_array(value, shape, key, source) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise BundleError(f"habitat_model {key} must hold numbers", source) from None
    if arr.shape != shape or not np.all(np.isfinite(arr)):
        raise BundleError(f"habitat_model {key} must be finite numbers of shape {list(shape)}", source)
    return arr


@dataclass(frozen=True, eq=False)
class Habitats:
    """Habitat labels uint8 [z, y, x] (0 outside/invalid, 1..3) with per-habitat summaries."""

    labels: np.ndarray
    fractions: np.ndarray  # (3,) share of labelled voxels per habitat
    centroids_original: np.ndarray  # (3, 4) cluster centres in original units (WIS, WOS, SER, PE)
    mode: str  # "population" | "per-patient"
    counts: np.ndarray = field(default_factory=lambda: np.zeros(N_HABITATS, dtype=np.int64))
    habitat_means: np.ndarray = field(default_factory=lambda: np.full((N_HABITATS, 4), np.nan))
    empty_habitats: tuple[int, ...] = ()  # labels (1..3) with no voxel: their features are imputed + flagged
    calinski_harabasz: float = float("nan")
    silhouette: float = float("nan")

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(f"habitat {h} ({HABITAT_NAMES[h - 1]}) is empty" for h in self.empty_habitats)


def _order_clusters(centres_original: np.ndarray) -> np.ndarray:
    """Cluster indices sorted by PE ascending, ties broken by WIS ascending."""
    return np.lexsort((centres_original[:, _WIS], centres_original[:, _PE]))


def _finite_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 4:
        raise FeatureError(f"voxel features must be an (N, 4) array (WIS, WOS, SER, PE), got shape {x.shape}")
    return x[np.all(np.isfinite(x), axis=1)]


def _kmeans(z: np.ndarray, seed: int, n_init: int):
    """k-means++ (K=3) centres and labels. One BLAS/OpenMP thread: with K=3 and 4 features the work is tiny
    and OpenMP spin-waiting made it 10-30x slower on a busy 2-core machine (measured)."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    if len(np.unique(z, axis=0)) < N_HABITATS:
        raise FeatureError(f"fewer than {N_HABITATS} distinct kinetic vectors; cannot form {N_HABITATS} habitats")
    km = KMeans(n_clusters=N_HABITATS, init="k-means++", n_init=n_init, random_state=seed)
    with threadpool_limits(limits=1):
        km.fit(z)
    return km.cluster_centers_, km.labels_


def cluster_diagnostics(z: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """(Calinski-Harabasz on all points, silhouette on <= 2000 random points); NaN if < 2 clusters."""
    from sklearn.metrics import calinski_harabasz_score, silhouette_score

    from threadpoolctl import threadpool_limits

    if len(np.unique(labels)) < 2 or len(labels) < 3:
        return float("nan"), float("nan")
    ch = float(calinski_harabasz_score(z, labels))
    rng = np.random.default_rng(seed)
    take = rng.choice(len(labels), size=min(SILHOUETTE_SAMPLE, len(labels)), replace=False)
    if len(np.unique(labels[take])) < 2 or len(np.unique(labels[take])) >= len(take):
        return ch, float("nan")
    with threadpool_limits(limits=1):
        return ch, float(silhouette_score(z[take], labels[take]))


def fit_habitat_model(per_patient_voxel_features: list[np.ndarray], seed: int = 0,
                      max_voxels_per_patient: int = 5000, n_init: int = 50,
                      slopes: str = "relative") -> HabitatModel:
    """Fit the population habitat model on per-patient (N_i, 4) voxel features (WIS, WOS, SER, PE)."""
    rng = np.random.default_rng(seed)
    parts = []
    for x in per_patient_voxel_features:
        x = _finite_rows(x)
        if len(x) > max_voxels_per_patient:
            x = x[np.sort(rng.choice(len(x), size=max_voxels_per_patient, replace=False))]
        parts.append(x)
    pooled = np.concatenate(parts, axis=0) if parts else np.empty((0, 4))
    if len(pooled) < N_HABITATS:
        raise FeatureError(f"only {len(pooled)} valid training voxels; need at least {N_HABITATS}")
    ser_clip = float(np.percentile(np.abs(pooled[:, FEATURE_ORDER.index("SER")]), WINSOR_PERCENTILES[1]))
    low = np.percentile(pooled, WINSOR_PERCENTILES[0], axis=0)
    high = np.percentile(pooled, WINSOR_PERCENTILES[1], axis=0)
    w = np.clip(pooled, low, high)
    mean = w.mean(axis=0)
    sd = w.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    z = (w - mean) / sd
    centres_z, raw_labels = _kmeans(z, seed, n_init)
    order = _order_clusters(centres_z * sd + mean)
    rank = np.empty(N_HABITATS, dtype=int)
    rank[order] = np.arange(N_HABITATS)
    ch, sil = cluster_diagnostics(z, rank[raw_labels], seed)
    return HabitatModel(
        scaler_mean=tuple(float(v) for v in mean), scaler_sd=tuple(float(v) for v in sd),
        centroids_z=tuple(tuple(float(v) for v in centres_z[i]) for i in order),
        winsor_low=tuple(float(v) for v in low), winsor_high=tuple(float(v) for v in high),
        ser_clip=max(ser_clip, 1e-6), slopes=slopes,
        diagnostics={"n_patients": len(parts), "n_voxels": int(len(pooled)), "calinski_harabasz": ch,
                     "silhouette": sil, "seed": seed, "n_init": n_init})


def _build(maps: KineticMaps, feats, idx, labels_1based, centres_original, mode, z, seed, diagnostics):
    labels = np.zeros(maps.shape, dtype=np.uint8)
    labels[idx] = labels_1based.astype(np.uint8)
    counts = np.bincount(labels_1based, minlength=N_HABITATS + 1)[1:N_HABITATS + 1].astype(np.int64)
    total = counts.sum()
    fractions = counts / total if total else np.zeros(N_HABITATS)
    means = np.full((N_HABITATS, 4), np.nan)
    for h in range(N_HABITATS):
        if counts[h]:
            means[h] = feats[labels_1based == h + 1].mean(axis=0)
    ch, sil = cluster_diagnostics(z, labels_1based, seed) if diagnostics else (float("nan"), float("nan"))
    empty = tuple(int(h + 1) for h in range(N_HABITATS) if counts[h] == 0)
    return Habitats(labels=labels, fractions=fractions, centroids_original=np.asarray(centres_original),
                    mode=mode, counts=counts, habitat_means=means, empty_habitats=empty,
                    calinski_harabasz=ch, silhouette=sil)


def assign_habitats(maps: KineticMaps, model: HabitatModel | dict, diagnostics: bool = True,
                    seed: int = 0) -> Habitats:
    """Population mode: each valid voxel -> nearest model centroid in z-space (after winsorising)."""
    if isinstance(model, dict):
        model = HabitatModel.from_dict(model)
    if maps.slopes != model.slopes:
        raise ConfigError(f"kinetic maps use {maps.slopes} slopes but the habitat model was fitted on "
                          f"{model.slopes} slopes; recompute the maps with slopes={model.slopes!r}")
    feats, idx = maps.voxel_features()
    w = np.clip(feats, np.asarray(model.winsor_low), np.asarray(model.winsor_high))
    z = (w - np.asarray(model.scaler_mean)) / np.asarray(model.scaler_sd)
    cz = np.asarray(model.centroids_z)
    d2 = ((z[:, None, :] - cz[None, :, :]) ** 2).sum(axis=2)
    labels_1based = (np.argmin(d2, axis=1) + 1) if len(z) else np.zeros(0, dtype=np.int64)
    return _build(maps, feats, idx, labels_1based, model.centroids_original(), "population", z, seed,
                  diagnostics)


def per_patient_habitats(maps: KineticMaps, seed: int = 0, n_init: int = 10, diagnostics: bool = True) -> Habitats:
    """Per-patient mode: k-means (K=3) on the patient's own z-scored voxels, ordered by centroid PE."""
    feats, idx = maps.voxel_features()
    if len(feats) < N_HABITATS:
        raise FeatureError(f"only {len(feats)} valid tumour voxels; per-patient habitats need at least {N_HABITATS}")
    mean = feats.mean(axis=0)
    sd = feats.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    z = (feats - mean) / sd
    centres_z, raw = _kmeans(z, seed, n_init)
    centres = centres_z * sd + mean
    order = _order_clusters(centres)
    rank = np.empty(N_HABITATS, dtype=int)
    rank[order] = np.arange(N_HABITATS)
    return _build(maps, feats, idx, rank[raw] + 1, centres[order], "per-patient", z, seed, diagnostics)
