"""Habitat clustering (SPEC section 3): recovery of known habitats, ordering, JSON form, edge cases.

Oracle: ground-truth habitat label maps of synthetic tumours whose three habitats have known, well-separated
enhancement curves S(t) = S0 (1 + A (1 - exp(-k_in t)) exp(-k_out t)) (SPEC section 14), plus Rician noise
at SNR 30. The labels found must match the truth (Dice >= 0.85 per habitat) in the order
poorly < moderately < highly perfused. Two sources: a small phantom built here (always runs) and engineer
B's generator ``tnbc_desktop.core.synthetic.make_patient`` (runs once that module is present).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from tests.builders import curves_study as make_study
from tnbc_desktop.core.habitats import (
    HabitatModel, assign_habitats, fit_habitat_model, per_patient_habitats)
from tnbc_desktop.core.kinetics import KineticSettings, compute_kinetic_maps
from tnbc_desktop.core.study import DCEStudy, Geometry, PhaseInfo
from tnbc_desktop.errors import BundleError, ConfigError, FeatureError

TIMES = (0.0, 90.0, 180.0, 270.0, 360.0, 450.0)
# (A, k_in 1/min, k_out 1/min) for habitats 1..3: persistent / plateau / wash-out
CURVES = {1: (1.25, 0.45, 0.0), 2: (1.55, 1.3, 0.015), 3: (2.7, 3.0, 0.085)}


def phantom(seed: int, shape=(12, 40, 40), snr: float = 30.0):
    """(DCEStudy, tumour mask, true labels uint8) with three blob-shaped habitats and a random gain."""
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    c = np.array(shape) / 2 + rng.uniform(-1, 1, 3)
    r = np.sqrt(((z - c[0]) * 2.0) ** 2 + ((y - c[1]) * 0.7) ** 2 + ((x - c[2]) * 0.7) ** 2)
    mask = r < 9.0
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=(1.0, 3.0, 3.0))
    q = np.quantile(field[mask], rng.dirichlet((4, 4, 4)).cumsum()[:2])
    truth = np.zeros(shape, np.uint8)
    truth[mask] = 1 + np.searchsorted(q, field[mask])
    gain = rng.uniform(0.5, 2.0)
    s0 = np.full(shape, 100.0 * gain)
    t_min = np.asarray(TIMES) / 60.0
    data = np.empty((len(TIMES),) + shape, np.float32)
    enh = np.zeros((len(TIMES),) + shape)
    for h, (a, kin, kout) in CURVES.items():
        curve = a * (1 - np.exp(-kin * t_min)) * np.exp(-kout * t_min)
        enh[:, truth == h] = curve[:, None]
    clean = s0[None] * (1 + enh)
    sigma = 100.0 * gain / snr
    data[:] = np.hypot(clean + rng.normal(0, sigma, clean.shape), rng.normal(0, sigma, clean.shape))
    geom = Geometry(shape=shape, spacing_mm=(2.0, 0.7, 0.7))
    study = DCEStudy(data=data, phase_times_s=TIMES, geometry=geom,
                     phases=tuple(PhaseInfo(i, t, "user") for i, t in enumerate(TIMES)),
                     layout="test", timing_source="user", source="phantom")
    return study, mask, truth


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.count_nonzero(a & b) / max(np.count_nonzero(a) + np.count_nonzero(b), 1)


def assert_recovers(labels: np.ndarray, truth: np.ndarray, min_dice: float = 0.85) -> list[float]:
    scores = [dice(labels == h, truth == h) for h in (1, 2, 3)]
    assert min(scores) >= min_dice, f"Dice per habitat {scores}"
    return scores


@pytest.fixture(scope="module")
def fitted():
    maps = [compute_kinetic_maps(*phantom(s)[:2]) for s in (11, 12, 13, 14)]
    return fit_habitat_model([m.voxel_features()[0] for m in maps], seed=0, max_voxels_per_patient=3000,
                             n_init=20)


def test_population_mode_recovers_phantom_habitats_in_order(fitted):
    study, mask, truth = phantom(99)
    maps = compute_kinetic_maps(study, mask)
    hab = assign_habitats(maps, fitted)
    assert hab.mode == "population" and hab.labels.dtype == np.uint8
    assert_recovers(hab.labels, truth)
    assert np.all(hab.labels[~mask] == 0)
    np.testing.assert_allclose(hab.fractions, [np.mean(truth[mask] == h) for h in (1, 2, 3)], atol=0.05)
    cen = fitted.centroids_original()
    # every kinetic parameter rises 1 -> 3 here (SPEC section 0): PE, WIS, SER; WOS too
    for col in range(4):
        assert cen[0, col] < cen[1, col] < cen[2, col]
    assert np.isfinite(hab.calinski_harabasz) and -1 <= hab.silhouette <= 1
    assert fitted.diagnostics["n_voxels"] <= 4 * 3000


def test_per_patient_mode_recovers_phantom_habitats():
    study, mask, truth = phantom(5)
    hab = per_patient_habitats(compute_kinetic_maps(study, mask), seed=0)
    assert hab.mode == "per-patient"
    assert_recovers(hab.labels, truth)
    pe = hab.centroids_original[:, 3]
    assert pe[0] < pe[1] < pe[2]


def test_model_json_round_trip_and_determinism(fitted):
    d = json.loads(json.dumps(fitted.to_dict()))
    assert set(d) == {"feature_order", "scaler_mean", "scaler_sd", "centroids_z", "winsor_low", "winsor_high",
                      "ser_clip", "slopes"}
    assert d["feature_order"] == ["WIS", "WOS", "SER", "PE"]
    assert np.asarray(d["centroids_z"]).shape == (3, 4)
    back = HabitatModel.from_dict(d)
    assert back.to_dict() == fitted.to_dict()
    maps = compute_kinetic_maps(*phantom(42)[:2])
    np.testing.assert_array_equal(assign_habitats(maps, d).labels, assign_habitats(maps, fitted).labels)
    # same seed, same inputs -> same model
    feats = [maps.voxel_features()[0]]
    a = fit_habitat_model(feats, seed=3, max_voxels_per_patient=500, n_init=5)
    b = fit_habitat_model(feats, seed=3, max_voxels_per_patient=500, n_init=5)
    assert a.to_dict() == b.to_dict()


def test_winsor_and_scaler_follow_training_percentiles():
    """Oracle: numpy percentiles / mean / SD of the pooled (uncapped) training rows."""
    rng = np.random.default_rng(0)
    g = rng.integers(0, 3, 4000)  # three groups; every column shifts with the group
    x = np.column_stack([np.array([30.0, 60.0, 110.0])[g] + rng.normal(0, 5, 4000),
                         np.array([-5.0, 0.0, 15.0])[g] + rng.normal(0, 2, 4000),
                         np.array([0.5, 1.0, 1.6])[g] * rng.lognormal(0, 0.1, 4000),
                         np.array([50.0, 120.0, 230.0])[g] + rng.normal(0, 5, 4000)])
    x[:5] = np.nan  # non-finite rows are dropped
    m = fit_habitat_model([x[:2000], x[2000:]], max_voxels_per_patient=5000, n_init=3)
    good = x[5:]
    np.testing.assert_allclose(m.winsor_low, np.percentile(good, 0.5, axis=0))
    np.testing.assert_allclose(m.winsor_high, np.percentile(good, 99.5, axis=0))
    w = np.clip(good, m.winsor_low, m.winsor_high)
    np.testing.assert_allclose(m.scaler_mean, w.mean(axis=0))
    np.testing.assert_allclose(m.scaler_sd, w.std(axis=0))
    assert m.ser_clip == pytest.approx(np.percentile(np.abs(good[:, 2]), 99.5))
    pe = m.centroids_original()[:, 3]
    np.testing.assert_allclose(np.sort(pe), [50, 120, 230], atol=3)
    assert list(pe) == sorted(pe)


def test_empty_habitat_gives_zero_fraction_and_flag(fitted):
    study, mask, truth = phantom(7)
    keep = mask & (truth != 3)  # drop the highly perfused voxels from the mask
    hab = assign_habitats(compute_kinetic_maps(study, keep), fitted)
    assert hab.fractions[2] == 0.0 and hab.counts[2] == 0 and hab.empty_habitats == (3,)
    assert np.isnan(hab.habitat_means[2]).all() and "habitat 3" in hab.flags[0]
    assert hab.fractions.sum() == pytest.approx(1.0)


def test_errors(fitted):
    maps_abs = compute_kinetic_maps(*phantom(8)[:2], KineticSettings(slopes="absolute"))
    with pytest.raises(ConfigError):
        assign_habitats(maps_abs, fitted)
    bad = fitted.to_dict()
    del bad["scaler_sd"]
    with pytest.raises(BundleError, match="scaler_sd"):
        HabitatModel.from_dict(bad)
    bad = fitted.to_dict() | {"centroids_z": [[0, 0, 0, 0]] * 2}
    with pytest.raises(BundleError, match="centroids_z"):
        HabitatModel.from_dict(bad)
    bad = fitted.to_dict() | {"feature_order": ["PE", "SER", "WIS", "WOS"]}
    with pytest.raises(BundleError):
        HabitatModel.from_dict(bad)
    with pytest.raises(FeatureError):
        fit_habitat_model([np.ones((10, 4))])  # one distinct vector
    study = make_study(np.array([[100, 200, 150], [100, 210, 160]] + [[0, 0, 0]] * 4), (0, 120, 360))
    with pytest.raises(FeatureError):
        per_patient_habitats(compute_kinetic_maps(study, np.ones((1, 2, 3), bool)))


def test_generator_patients_population_mode_dice():
    """The synthetic generator's patients (SNR 30): fit on 3 training seeds, assign on another seed."""
    from tnbc_desktop.core import synthetic

    shape = (24, 96, 96)
    train = [synthetic.make_patient(seed=s, shape=shape, snr=30.0) for s in (101, 102, 103)]
    feats = [compute_kinetic_maps(p.study, p.mask.array).voxel_features()[0] for p in train]
    model = fit_habitat_model(feats, seed=0)
    test = synthetic.make_patient(seed=7, shape=shape, snr=30.0)
    hab = assign_habitats(compute_kinetic_maps(test.study, test.mask.array), model)
    truth = np.asarray(test.habitat_truth)
    scores = assert_recovers(hab.labels, truth)
    print("generator Dice per habitat:", [round(float(s), 3) for s in scores])
    pe = model.centroids_original()[:, 3]
    assert pe[0] < pe[1] < pe[2]
