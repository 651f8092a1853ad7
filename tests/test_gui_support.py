"""Shared stand-ins for the GUI tests (no tests here): a tiny valid model bundle and a small synthetic patient.

The bundle is built with the core's own ``assemble_bundle`` / ``save_bundle`` (cheap features only) so the
real pipeline runs in a few seconds; the patient is B's ``make_patient`` at 16x64x64.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGING = ["H1__original_firstorder_Mean", "H3__original_firstorder_Mean", "ring__original_firstorder_Mean",
           "MSI_H1H2", "kin_mean__original_firstorder_Mean"]
SMALL_PATIENT = {"shape": (16, 64, 64), "spacing_mm": (2.0, 1.0, 1.0), "tumour_volume_ml": 3.0}


def _km(times, surv, n):
    return {"times": times, "survival": surv, "ci_low": [max(s - 0.1, 0) for s in surv],
            "ci_high": [min(s + 0.05, 1) for s in surv], "n": n, "n_events": 5,
            "at_risk_times": [0.0, 12.0, 24.0, 36.0, 48.0, 60.0], "at_risk": [n, n - 3, n - 8, n - 12, n - 15, 4]}


REFERENCE_CURVES = {"pCR": _km([0.0, 10.0, 30.0, 50.0, 80.0], [1.0, 0.97, 0.94, 0.92, 0.92], 40),
                    "non-pCR": _km([0.0, 10.0, 30.0, 50.0, 80.0], [1.0, 0.85, 0.72, 0.61, 0.55], 60)}


def _model(features, coefs, intercept=0.0, cutoff=0.4, sd=None):
    p = len(features)
    return {"features": features, "z_mean": [0.0] * p, "z_sd": sd or [1.0] * p, "coefficients": coefs,
            "intercept": intercept, "covariance": (np.eye(p + 1) * 0.04).tolist(), "cutoff": cutoff,
            "input_range": {"min": [-1e12] * p, "max": [1e12] * p},
            "performance": {"training": {"n": 70, "auc": 0.81, "auc_ci": [0.7, 0.9]},
                            "validation": {"n": 30, "auc": 0.74, "auc_ci": [0.55, 0.9]}},
            "survival": {"cohort": "synthetic test cohort", "endpoint": "DFS", "logrank_p": 0.02,
                         "curves": REFERENCE_CURVES}}


def make_test_bundle(path: Path) -> Path:
    from tnbc_desktop.core.bundle import assemble_bundle, save_bundle
    from tnbc_desktop.core.features.params import load_params

    params = load_params()
    hm = {"feature_order": ["WIS", "WOS", "SER", "PE"], "scaler_mean": [60.0, 5.0, 1.2, 80.0],
          "scaler_sd": [40.0, 10.0, 0.5, 50.0], "centroids_z": [[-1, -0.5, -0.5, -1], [0, 0, 0, 0], [1, 0.5, 0.5, 1]],
          "winsor_low": [-50.0, -100.0, -10.0, -50.0], "winsor_high": [500.0, 100.0, 10.0, 500.0], "ser_clip": 10.0,
          "slopes": "relative"}
    sd = [100.0, 100.0, 100.0, 1000.0, 100.0]
    models = {"model1": _model(IMAGING[:4], [0.2, 0.1, -0.1, 0.05], sd=sd[:4]),
              "model2": _model(IMAGING[4:], [0.3], sd=sd[4:]),
              "model3": _model(IMAGING, [0.2, 0.1, -0.1, 0.05, 0.3], sd=sd),
              "prm": _model(["radscore_model3", "ki67_high", "lvi"], [1.0, 0.5, -1.0], cutoff=0.37),
              "gprm": _model(["radscore_model3", "ki67_high", "lvi", "vaf_sum"], [1.0, 0.5, -1.0, 2.0], cutoff=0.16)}
    doc = assemble_bundle(
        name="tiny gui test bundle", version="0.0.1", models=models, habitat_model=hm,
        extraction={"pyradiomics_params_file": "radiomics_params.yaml", "pyradiomics_params_sha256": params.sha256,
                    "kinetic_settings": {"slopes": "relative"}, "ring_width_mm": 5.0, "msi_connectivity": "2d-8"},
        training_cohort={"n": 100, "n_validation": 30, "pcr_rate": 0.4, "source": "synthetic"}, is_demo=True)
    return save_bundle(doc, path)


def write_small_patient(out_dir: Path, seed: int = 3, layout: str = "nifti"):
    from tnbc_desktop.core.synthetic import make_patient, write_patient

    patient = make_patient(seed=seed, **SMALL_PATIENT)
    return patient, write_patient(patient, out_dir, layout=layout)


def hand_made_study(n_phases: int = 4, shape=(16, 64, 64), spacing_mm=(2.0, 0.7, 1.4)):
    """A DCEStudy built by hand (no loader): noise + a brighter enhancing box; returns (study, mask)."""
    from tnbc_desktop.core.study import DCEStudy, Geometry, PhaseInfo

    rng = np.random.default_rng(0)
    times = tuple(float(90 * i) for i in range(n_phases))
    data = rng.normal(100.0, 3.0, (n_phases,) + tuple(shape)).astype(np.float32)
    mask = np.zeros(shape, bool)
    mask[5:10, 20:40, 20:40] = True
    for p in range(1, n_phases):
        data[p][mask] += 80.0
    phases = tuple(PhaseInfo(i, t, "user") for i, t in enumerate(times))
    study = DCEStudy(data, times, Geometry(tuple(shape), tuple(spacing_mm)), phases, "test", "user", "hand-made")
    return study, mask
