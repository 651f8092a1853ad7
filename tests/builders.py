"""Builders shared by the test modules: small bundles, patients, studies and fake results (no tests here)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from hypothesis import strategies as st
from pypdf import PdfReader

from tnbc_desktop.core.bundle import assemble_bundle, save_bundle
from tnbc_desktop.core.case import (BundleInfo, CaseInputs, CaseResult, CurveSummary, ModelPerformance,
                                    QualityChecks)
from tnbc_desktop.core.io.dicom_write import quantisation
from tnbc_desktop.core.study import DCEStudy, Geometry, Mask, PatientIdentity, PhaseInfo
from tnbc_desktop.core.survival_group import survival_group

CANARY = "ZZCANARY"


IMAGING = ["H1__original_firstorder_Mean", "H3__original_firstorder_Mean", "ring__original_firstorder_Mean",
           "MSI_H1H2", "kin_mean__original_firstorder_Mean"]


def km_curve(times, surv, n):
    return {"times": times, "survival": surv, "ci_low": [max(s - 0.1, 0) for s in surv],
            "ci_high": [min(s + 0.05, 1) for s in surv], "n": n, "n_events": 5,
            "at_risk_times": [0.0, 12.0, 24.0, 36.0, 48.0, 60.0], "at_risk": [n, n - 3, n - 8, n - 12, n - 15, 4]}


REFERENCE_CURVES = {"pCR": km_curve([0.0, 10.0, 30.0, 50.0, 80.0], [1.0, 0.97, 0.94, 0.92, 0.92], 40),
                    "non-pCR": km_curve([0.0, 10.0, 30.0, 50.0, 80.0], [1.0, 0.85, 0.72, 0.61, 0.55], 60)}


def cheap_model(features, coefs, intercept=0.0, cutoff=0.4, mean=None, sd=None):
    p = len(features)
    return {"features": features, "z_mean": mean or [0.0] * p, "z_sd": sd or [1.0] * p,
            "coefficients": coefs, "intercept": intercept,
            "covariance": (np.eye(p + 1) * 0.04).tolist(), "cutoff": cutoff,
            "input_range": {"min": [-1e12] * p, "max": [1e12] * p},
            "performance": {"training": {"n": 70, "auc": 0.81, "auc_ci": [0.7, 0.9], "calibration_slope": 1.0,
                                         "calibration_intercept": 0.0, "brier": 0.19, "sensitivity": 0.8,
                                         "specificity": 0.7},
                            "validation": {"n": 30, "auc": 0.74, "auc_ci": [0.55, 0.9]}},
            "survival": {"cohort": "synthetic test cohort", "endpoint": "DFS", "logrank_p": 0.02,
                         "curves": REFERENCE_CURVES}}


def make_test_bundle(path: Path, habitat_model: dict | None = None, **extraction) -> Path:
    """Write a tiny valid bundle (cheap features) with F's assemble_bundle + save_bundle."""
    from tnbc_desktop.core.bundle import assemble_bundle
    from tnbc_desktop.core.features.params import load_params

    params = load_params()
    hm = habitat_model or {
        "feature_order": ["WIS", "WOS", "SER", "PE"], "scaler_mean": [60.0, 5.0, 1.2, 80.0],
        "scaler_sd": [40.0, 10.0, 0.5, 50.0], "centroids_z": [[-1, -0.5, -0.5, -1], [0, 0, 0, 0], [1, 0.5, 0.5, 1]],
        "winsor_low": [-50.0, -100.0, -10.0, -50.0], "winsor_high": [500.0, 100.0, 10.0, 500.0], "ser_clip": 10.0,
        "slopes": "relative"}
    sd = [100.0, 100.0, 100.0, 1000.0, 100.0]
    models = {"model1": cheap_model(IMAGING[:4], [0.2, 0.1, -0.1, 0.05], sd=sd[:4]),
              "model2": cheap_model(IMAGING[4:], [0.3], sd=sd[4:]),
              "model3": cheap_model(IMAGING, [0.2, 0.1, -0.1, 0.05, 0.3], sd=sd),
              "prm": cheap_model(["radscore_model3", "ki67_high", "lvi"], [1.0, 0.5, -1.0], cutoff=0.37),
              "gprm": cheap_model(["radscore_model3", "ki67_high", "lvi", "vaf_sum"], [1.0, 0.5, -1.0, 2.0],
                                  cutoff=0.16)}
    doc = assemble_bundle(
        name="tiny test bundle", version="0.0.1", models=models, habitat_model=hm,
        extraction={"pyradiomics_params_file": "radiomics_params.yaml", "pyradiomics_params_sha256": params.sha256,
                    "kinetic_settings": {"slopes": "relative"}, "ring_width_mm": 5.0, "msi_connectivity": "2d-8",
                    **extraction},
        training_cohort={"n": 100, "n_validation": 30, "pcr_rate": 0.4, "source": "synthetic"}, is_demo=True)
    return save_bundle(doc, path)


def write_small_patient(out_dir: Path, seed: int = 3, layout: str = "nifti"):
    """A small synthetic patient (6 phases of 16x64x64 at 2x1x1 mm, ~3 mL tumour) written to ``out_dir``."""
    from tnbc_desktop.core.synthetic import make_patient, write_patient

    patient = make_patient(seed=seed, shape=(16, 64, 64), spacing_mm=(2.0, 1.0, 1.0), tumour_volume_ml=3.0)
    return patient, write_patient(patient, out_dir, layout=layout)


SMALL_PATIENT = {"shape": (16, 64, 64), "spacing_mm": (2.0, 1.0, 1.0), "tumour_volume_ml": 3.0}


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


M1 = ["H1__original_firstorder_Mean", "ring__wavelet-LLH_glcm_Contrast"]


M2 = ["kin_mean__log-sigma-2-0-mm-3D_firstorder_Mean", "kin_var__original_glszm_ZoneEntropy"]


def bundle_test_model(features, coefs, intercept=-0.2, cutoff=0.4, means=None, sds=None):
    p = len(features)
    cov = [[0.04 if i == j else 0.01 for j in range(p + 1)] for i in range(p + 1)]
    out = {"description": "test", "features": list(features), "z_mean": means or [0.0] * p, "z_sd": sds or [1.0] * p,
            "coefficients": list(coefs), "intercept": intercept, "covariance": cov, "cutoff": cutoff,
            "input_range": {"min": [-3.0] * p, "max": [3.0] * p},
            "performance": {"training": {"n": 100, "auc": 0.8, "auc_ci": [0.7, 0.9]}, "validation": None},
            "survival": None}
    if means:
        out["input_range"] = {"min": [m - 3 * s for m, s in zip(means, sds)],
                              "max": [m + 3 * s for m, s in zip(means, sds)]}
    return out


def example_bundle_dict(is_demo: bool = True) -> dict:
    """A small valid bundle document (unsealed) used by the bundle and predict tests."""
    models = {"model1": bundle_test_model(M1, [0.8, -0.5]), "model2": bundle_test_model(M2, [0.6, 0.3]),
              "model3": bundle_test_model(M1 + M2, [0.7, -0.4, 0.5, 0.2], means=[10.0, 1.0, 5.0, 2.0],
                                          sds=[2.0, 0.5, 1.0, 4.0]),
              "prm": bundle_test_model(["radscore_model3", "ki67_high", "lvi"], [1.0, 0.5, -1.2], cutoff=0.37),
              "gprm": bundle_test_model(["radscore_model3", "ki67_high", "lvi", "vaf_sum"], [1.0, 0.4, -1.1, 3.0],
                                        cutoff=0.16)}
    habitat = {"feature_order": ["WIS", "WOS", "SER", "PE"], "scaler_mean": [1.0, 0.1, 1.2, 80.0],
               "scaler_sd": [0.5, 0.2, 0.3, 30.0], "centroids_z": [[-1, -1, -1, -1], [0, 0, 0, 0], [1, 1, 1, 1]],
               "winsor_low": [0, -5, 0, 0], "winsor_high": [10, 5, 3, 400], "ser_clip": 3.0, "slopes": "relative"}
    from tnbc_desktop.core.features.params import load_params

    extraction = {"pyradiomics_params_file": "radiomics_params.yaml", "pyradiomics_params_sha256": load_params().sha256,
                  "kinetic_settings": {"early_phase": 1}, "ring_width_mm": 5.0, "msi_connectivity": "2d-8"}
    return assemble_bundle(name="test-bundle", version="0.0.1", models=models, habitat_model=habitat,
                           extraction=extraction, is_demo=is_demo,
                           training_cohort={"n": 100, "pcr_rate": 0.4, "source": "synthetic", "dates": "n/a"})


def reference_curves():
    t = [0.0, 6.0, 14.0, 30.0, 40.0, 70.0]
    return {
        "pCR": {"time_months": t, "survival": [1.0, 0.98, 0.96, 0.93, 0.93, 0.90],
                "ci_low": [1.0, 0.93, 0.9, 0.85, 0.85, 0.8], "ci_high": [1.0, 1.0, 0.99, 0.98, 0.98, 0.97],
                "at_risk": [40, 39, 36, 30, 22, 5]},
        "non-pCR": {"time_months": t, "survival": [1.0, 0.9, 0.8, 0.7, 0.65, 0.6],
                    "ci_low": [1.0, 0.82, 0.7, 0.6, 0.54, 0.48], "ci_high": [1.0, 0.96, 0.88, 0.8, 0.75, 0.72],
                    "at_risk": [60, 55, 47, 36, 27, 6]},
    }


def fake_prediction(model, available=True, p=0.42, group="pCR", reason=""):
    return SimpleNamespace(model=model, available=available, reason=reason, probability=p if available else None,
                           ci_low=p - 0.1 if available else None, ci_high=p + 0.1 if available else None,
                           linear_predictor=0.0, cutoff=0.31, group=group if available else None, warnings=())


def fake_case_result(name: str = f"{CANARY}^Alice", patient_id: str = f"{CANARY}-0001", sample=f"{CANARY}-T",
                     demo: bool = True, gprm_available: bool = True, warnings=("Ki-67 given as text",),
                     source: str = "/data/case") -> CaseResult:
    """A small hand-made CaseResult (6 phases of 8x48x48 at 2x0.7x0.7 mm, spherical tumour)."""
    shape = (8, 48, 48)
    zz, yy, xx = np.indices(shape)
    d = np.sqrt(((zz - 4) * 2.0) ** 2 + ((yy - 24) * 0.7) ** 2 + ((xx - 24) * 0.7) ** 2)
    tumour = d <= 7.0
    ring = (d > 7.0) & (d <= 12.0)
    times = (0.0, 90.0, 180.0, 270.0, 360.0, 450.0)
    data = np.full((6, *shape), 100.0, dtype=np.float32)
    labels = np.zeros(shape, np.uint8)
    labels[tumour & (d <= 3)] = 3
    labels[tumour & (d > 3) & (d <= 5)] = 2
    labels[tumour & (d > 5)] = 1
    for k, t in enumerate(times):
        data[k][labels == 3] += 150 * min(t, 90) / 90 - 0.1 * max(t - 90, 0)
        data[k][labels == 2] += 90 * min(t, 90) / 90
        data[k][labels == 1] += 0.15 * t
        data[k][ring] += 0.05 * t
    geom = Geometry(shape=shape, spacing_mm=(2.0, 0.7, 0.7))
    study = DCEStudy(data=data, phase_times_s=times, geometry=geom,
                     phases=tuple(PhaseInfo(i, t, "TriggerTime") for i, t in enumerate(times)),
                     layout="dicom-per-phase", timing_source="TriggerTime", source=source,
                     identity=PatientIdentity(patient_name=name, patient_id=patient_id, birth_date="19700101",
                                              study_date="20240102", accession_number=f"{CANARY}ACC"))
    mask = Mask(array=tumour, geometry=geom, source=f"{source}/mask.nii.gz")
    fr = np.array([np.count_nonzero(labels == k) for k in (1, 2, 3)], float) / tumour.sum()
    habitats = SimpleNamespace(labels=labels, fractions=fr, mode="population")
    curves = {}
    for region, sel in (("tumour", tumour), ("H1", labels == 1), ("H2", labels == 2), ("H3", labels == 3),
                        ("ring", ring)):
        m = data[:, sel].mean(axis=1)
        curves[region] = CurveSummary(region, times, tuple(map(float, m)), tuple([1.0] * 6), int(sel.sum()),
                                      "persistent")
    preds = {"model1": fake_prediction("model1"), "model2": fake_prediction("model2"),
             "model3": fake_prediction("model3", p=0.35), "prm": fake_prediction("prm", p=0.22, group="non-pCR"),
             "gprm": fake_prediction("gprm", available=gprm_available, p=0.5,
                                 reason="no mutation file given")}
    sgs = {m: survival_group(m, p.group, reference_curves(), logrank_p=0.01)
           for m, p in preds.items() if p.available}
    panel = SimpleNamespace(sample=sample, vaf_sum=0.31, variants=(
        SimpleNamespace(gene="REL", protein_change="p.R123W", variant_class="Missense_Mutation", vaf=0.21,
                        nonsynonymous=True, used_by_model=True),
        SimpleNamespace(gene="MED23", protein_change="p.P394H", variant_class="Missense_Mutation", vaf=0.10,
                        nonsynonymous=True, used_by_model=True)))
    perf = tuple(ModelPerformance(m, (0.8, 0.7, 0.9), (0.75, 0.6, 0.88), 0.02, 0.95, 0.18, 0.31, 0.8, 0.7)
                 for m in ("model1", "model2", "model3", "prm", "gprm"))
    bundle = BundleInfo(name="demo-bundle", version="0.1", sha256="ab" * 32, is_demo=demo,
                        intended_use="demonstration", training_cohort="synthetic, n=140, pCR 40%",
                        performance=perf)
    qc = QualityChecks(phase_times_s=times, timing_source="TriggerTime", early_phase=1, late_phase=5,
                       habitat_mode="population", habitat_fractions=tuple(fr), habitat_volumes_ml=(0.5, 0.3, 0.1),
                       mask_volume_ml=mask.volume_ml, ring_volume_ml=0.9)
    inputs = CaseInputs(study_source=source, mask_path=f"{source}/mask.nii.gz", ki67="35", lvi="absent",
                        maf_path=f"{source}/mutations.maf", sample=sample)
    return CaseResult(inputs=inputs, study=study, mask=mask, kinetic_maps=None, habitats=habitats, ring=ring,
                      msi={}, features={}, mutation_panel=panel,
                      pathology=SimpleNamespace(ki67_high=True, lvi_present=False), predictions=preds,
                      survival_groups=sgs, curves=curves, qc=qc, bundle=bundle,
                      timings_s={"load": 0.1, "features": 1.0}, warnings=tuple(warnings), app_version="0.1.0")


def pdf_text(path: Path) -> tuple[int, str, str]:
    """(number of pages, text of all pages, metadata as text) read with pypdf."""
    reader = PdfReader(str(path))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    meta = " ".join(f"{k}={v}" for k, v in (reader.metadata or {}).items())
    return len(reader.pages), text, meta


def curves_study(curves: np.ndarray, times_s, shape=(1, 2, 3)) -> DCEStudy:
    """Study whose voxels (row-major over ``shape``) carry the given (N, P) curves."""
    curves = np.asarray(curves, dtype=np.float32)
    n, p = curves.shape
    data = curves.T.reshape((p,) + tuple(shape))
    geom = Geometry(shape=tuple(shape), spacing_mm=(2.0, 0.7, 0.7))
    phases = tuple(PhaseInfo(index=i, time_s=float(t), source_tag="user") for i, t in enumerate(times_s))
    return DCEStudy(data=data, phase_times_s=tuple(float(t) for t in times_s), geometry=geom, phases=phases,
                    layout="test", timing_source="user", source="test")


OBLIQUE = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0)  # a non-identity direction (sagittal-ish axes)


def random_study(n_phases=4, shape=(8, 32, 24), times=(0.0, 75.5, 160.0, 290.0), seed=0,
               direction=OBLIQUE, spacing=(2.5, 0.7, 0.8)) -> DCEStudy:
    """Small random study with distinct phases (4 phases of 8x32x24 by default)."""
    rng = np.random.default_rng(seed)
    data = (rng.random((n_phases, *shape)) * 1000 + 50 + 100 * np.arange(n_phases)[:, None, None, None])
    geometry = Geometry(shape=shape, spacing_mm=spacing, origin_mm=(-10.0, 20.0, -30.0), direction=direction)
    times = tuple(times[:n_phases])
    phases = tuple(PhaseInfo(i, t, "user") for i, t in enumerate(times))
    identity = PatientIdentity(patient_name="DOE^ZZCANARYJANE", patient_id="ZZCANARY42", study_date="20240102",
                               accession_number="ZZCANARYACC")
    return DCEStudy(data=data.astype(np.float32), phase_times_s=times, geometry=geometry, phases=phases,
                    layout="memory", timing_source="user", source="memory", identity=identity)




def tolerance(study: DCEStudy) -> float:
    slope, _ = quantisation(study.data)
    return slope / 2 + 2e-7 * float(np.abs(study.data).max())


WAIT_MS = 60_000


def make_window(qtbot, store=None):
    from tnbc_desktop.gui.app import create_window

    window, _ = create_window(store)
    qtbot.addWidget(window)
    window.show()
    return window


def open_case(qtbot, window, files, bundle, **extra):
    from tnbc_desktop.gui.session import SessionState

    state = SessionState(study_source=[str(files.study)], mask_path=str(files.mask), bundle_path=str(bundle),
                         **extra)
    with qtbot.waitSignal(window.caseLoaded, timeout=WAIT_MS):
        window.restore_state(state)


def deep_seed(p, habitat: int = 3) -> tuple[int, int, int]:
    """The voxel (x, y, z) of ``habitat`` farthest from its edge (a click in the middle of that habitat)."""
    from scipy import ndimage

    depth = ndimage.distance_transform_edt(p.habitat_truth == habitat)
    z, y, x = (int(v) for v in np.unravel_index(int(np.argmax(depth)), depth.shape))
    return x, y, z


def demo_candidate_names() -> tuple[str, ...]:
    from tnbc_desktop.core.features.names import MSI_NAMES, kinetic_feature_names, region_feature_names

    region = [n for n in region_feature_names(["original"]) if "_firstorder_" in n
              or n.endswith(("_shape_Sphericity", "_shape_MeshVolume", "_shape_Elongation"))]
    kinetic = [n for n in kinetic_feature_names(["original"]) if "_firstorder_" in n]
    return tuple(region + list(MSI_NAMES) + kinetic)


# --------------------------------------------------------------------------------------------------- fuzzing
@st.composite
def mutations(draw, size: int):
    """A list of (kind, position, payload) edits applied in order to a byte string of ``size`` bytes."""
    edits = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "overwrite", "delete"]))
        pos = draw(st.integers(0, max(size - 1, 0)))
        payload = draw(st.binary(min_size=1, max_size=16))
        edits.append((kind, pos, payload))
    return edits


def apply(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for kind, pos, payload in edits:
        pos = min(pos, len(buf))
        if kind == "flip" and pos < len(buf):
            buf[pos] ^= payload[0] or 0xFF
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "insert":
            buf[pos:pos] = payload
        elif kind == "overwrite":
            buf[pos:pos + len(payload)] = payload
        elif kind == "delete":
            del buf[pos:pos + len(payload)]
    return bytes(buf)
