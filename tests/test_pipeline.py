"""analyze_case on a small synthetic patient: steps in order, progress, cancel, step-named failures, QC,
survival groups (oracle: the reference curve values put in the bundle), no identifier in log lines."""
from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from tnbc_desktop.core.case import CaseInputs
from tnbc_desktop.errors import CancelledError, PipelineError
from tests.builders import (CANARY, IMAGING, REFERENCE_CURVES, km_curve,
                            make_test_bundle, write_small_patient)













@pytest.fixture(scope="module")
def case_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("case")
    patient, files = write_small_patient(root / "patient", layout="per-phase")
    bundle = make_test_bundle(root / "bundle.json")
    return patient, files, bundle


def _inputs(files, bundle, **kw) -> CaseInputs:
    base = dict(study_source=files.study, mask_path=files.mask, maf_path=files.maf, sample=None, ki67="35",
                lvi="absent", bundle_path=bundle)
    base.update(kw)
    return CaseInputs(**base)


def test_analyze_case_runs_all_steps_in_order(case_files, caplog):
    from tnbc_desktop.core.pipeline import STEPS, analyze_case

    patient, files, bundle = case_files
    seen: list[tuple[str, float]] = []
    caplog.set_level(logging.DEBUG, logger="tnbc_desktop")
    res = analyze_case(_inputs(files, bundle), None, progress=lambda s, f: seen.append((s, f)))
    steps = list(dict.fromkeys(s for s, _ in seen))
    assert steps == list(STEPS) + ["done"]
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert set(res.timings_s) == set(STEPS)
    # the models ran on the features the bundle needs (and only those plus MSI)
    assert set(IMAGING) <= set(res.features)
    assert not any(k.startswith("H2__") for k in res.features)
    for m in ("model1", "model2", "model3", "prm", "gprm"):
        assert res.predictions[m].available, res.predictions[m].reason
    # QC: habitat fractions match the label map; times as written by the generator
    labels = np.asarray(res.habitats.labels)
    n = np.count_nonzero(labels)
    assert res.qc.habitat_fractions == pytest.approx([np.count_nonzero(labels == k) / n for k in (1, 2, 3)])
    assert res.qc.phase_times_s == pytest.approx(patient.study.phase_times_s)
    assert res.qc.registration.startswith("off")
    assert res.bundle.is_demo and len(res.bundle.sha256) == 64
    # survival group: value of the reference step curve at 36 months (curve above: 0.72 for non-pCR, 0.94 pCR)
    for name, sg in res.survival_groups.items():
        expected = {"pCR": 0.94, "non-pCR": 0.72}[sg.group]
        assert sg.dfs[3][0] == pytest.approx(expected)
        assert sg.dfs[3][3] == {"pCR": 28, "non-pCR": 48}[sg.group]  # at_risk at 36 months = n - 12
        assert sg.group == res.predictions[name].group
    assert {"tumour", "ring"} <= set(res.curves)
    # no identifier (canary) in any log record
    assert all(CANARY not in r.getMessage() for r in caplog.records)


def test_cancel_stops_between_steps(case_files):
    from tnbc_desktop.core.pipeline import analyze_case

    _, files, bundle = case_files
    cancel = threading.Event()
    seen = []

    def progress(step, fraction):
        seen.append(step)
        if step == "habitats":
            cancel.set()

    with pytest.raises(CancelledError):
        analyze_case(_inputs(files, bundle), None, progress=progress, cancel=cancel)
    assert "peritumoral ring" not in seen


def test_failing_step_is_named(case_files, tmp_path):
    from tnbc_desktop.core.pipeline import analyze_case

    _, files, bundle = case_files
    bad_mask = tmp_path / "mask.nii.gz"
    bad_mask.write_bytes(b"not a nifti file")
    with pytest.raises(PipelineError) as err:
        analyze_case(_inputs(files, bundle, mask_path=bad_mask), None)
    assert err.value.step == "load mask"
    assert "load mask" in str(err.value)

    bad_maf = tmp_path / "x.maf"
    bad_maf.write_text("garbage\n")
    with pytest.raises(PipelineError) as err:
        analyze_case(_inputs(files, bundle, maf_path=bad_maf), None)
    assert err.value.step == "mutations"


def test_missing_pathology_and_maf_make_prm_gprm_unavailable(case_files):
    from tnbc_desktop.core.pipeline import analyze_case

    _, files, bundle = case_files
    res = analyze_case(_inputs(files, bundle, ki67=None, maf_path=None), None)
    assert res.predictions["model3"].available
    assert not res.predictions["prm"].available and "Ki-67" in res.predictions["prm"].reason
    assert not res.predictions["gprm"].available
    assert any("Ki-67" in w for w in res.warnings)
    assert res.mutation_panel is None


def test_report_from_real_pipeline_result(case_files, tmp_path):
    from pypdf import PdfReader

    from tnbc_desktop.core.pipeline import analyze_case
    from tnbc_desktop.core.report import write_report

    _, files, bundle = case_files
    res = analyze_case(_inputs(files, bundle), None)
    out = write_report(res, tmp_path / "case.pdf", deidentify=True)
    reader = PdfReader(str(out))
    assert len(reader.pages) == 2
    text = " ".join(p.extract_text() for p in reader.pages)
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    assert CANARY not in text and CANARY not in meta


def test_survival_group_reads_the_reference_step_function():
    """Oracle: the KM curve is a right-continuous step function, so DFS(t) is the value of the last step at or
    before t (non-pCR curve above: steps at 10, 30, 50 months -> 0.85 at 12, 0.72 at 36, 0.61 at 60); numbers
    at risk come from the bundle's landmark table (n - 3, n - 12, 4); beyond the last time -> None."""
    from tnbc_desktop.core.survival_group import survival_group

    sg = survival_group("prm", "non-pCR", REFERENCE_CURVES, logrank_p=0.02)
    assert [sg.dfs[y][0] for y in (1, 3, 5)] == pytest.approx([0.85, 0.72, 0.61])
    assert [sg.dfs[y][1] for y in (1, 3, 5)] == pytest.approx([0.75, 0.62, 0.51])
    assert [sg.dfs[y][3] for y in (1, 3, 5)] == [57, 48, 4]
    short = {"pCR": km_curve([0.0, 10.0, 30.0], [1.0, 0.9, 0.8], 10)}
    assert survival_group("model3", "pCR", short).dfs[5][0] is None
    with pytest.raises(ValueError):
        survival_group("model3", "non-pCR", short)


def test_given_study_and_mask_are_used_as_loaded(case_files):
    """A study and mask handed over in memory (as the GUI does) are analysed as they are: DICOM identity and the
    study's timing source reach the result, edited phase times are used, and the predictions equal a run from
    the same files when nothing was edited."""
    from dataclasses import replace

    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study
    from tnbc_desktop.core.pipeline import analyze_case

    _, files, bundle = case_files
    study = load_study(files.study)
    mask = load_mask(files.mask, study.geometry)
    assert study.identity.patient_id.startswith(CANARY) and study.timing_source != "sidecar"
    from_files = analyze_case(_inputs(files, bundle), None)
    given = analyze_case(_inputs(files, bundle), None, study=study, mask=mask)
    assert given.study is study and given.mask is mask
    assert given.qc.timing_source == from_files.qc.timing_source == study.timing_source
    for m in ("model3", "prm", "gprm"):
        assert given.predictions[m].probability == from_files.predictions[m].probability
    # phase times edited in memory (no file carries them) are the ones analysed
    edited_times = tuple(float(t) * 1.5 for t in study.phase_times_s)
    edited = replace(study, phase_times_s=edited_times, timing_source="user (phase table)")
    res = analyze_case(_inputs(files, bundle), None, study=edited, mask=mask)
    assert res.qc.phase_times_s == pytest.approx(edited_times)
    assert res.qc.timing_source == "user (phase table)"
    assert res.study.identity == study.identity


def test_given_mask_off_the_study_grid_is_refused(case_files):
    from dataclasses import replace

    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study
    from tnbc_desktop.core.pipeline import analyze_case

    _, files, bundle = case_files
    study = load_study(files.study)
    mask = load_mask(files.mask, study.geometry)
    g = mask.geometry
    shifted = replace(mask, geometry=replace(g, origin_mm=(g.origin_mm[0] + 7.0,) + tuple(g.origin_mm[1:])))
    with pytest.raises(PipelineError) as err:
        analyze_case(_inputs(files, bundle), None, study=study, mask=shifted)
    assert err.value.step == "load mask" and "grid" in str(err.value)
    cropped = replace(mask, array=mask.array[:-1])
    with pytest.raises(PipelineError) as err:
        analyze_case(_inputs(files, bundle), None, study=study, mask=cropped)
    assert err.value.step == "load mask"


def test_a_bundle_with_each_schema_msi_connectivity_runs(case_files, tmp_path):
    """Every msi_connectivity the bundle schema allows gives a bundle that analyses a case, with MSI computed
    on that neighbourhood (and once: the MSI_* model input is the MSI step's value)."""
    import json

    from tnbc_desktop.core.msi import msi_features
    from tnbc_desktop.core.pipeline import analyze_case
    from tnbc_desktop.paths import resource_path

    _, files, _ = case_files
    schema = json.loads(resource_path("bundle.schema.json").read_text(encoding="utf-8"))
    allowed = schema["properties"]["extraction"]["properties"]["msi_connectivity"]["enum"]
    seen = set()
    for conn in allowed:
        bundle = make_test_bundle(tmp_path / f"b-{conn}.json", msi_connectivity=conn)
        res = analyze_case(_inputs(files, bundle), None)
        oracle = msi_features(res.habitat_labels, res.study.geometry.voxel_volume_mm3, conn)
        assert res.msi == oracle and res.features["MSI_H1H2"] == oracle["MSI_H1H2"]
        assert res.predictions["model1"].available
        seen.add(res.msi["MSI_H1H2"])
    assert len(seen) == len(allowed)  # the neighbourhoods differ, so each run really used its own


def test_bundle_info_counts_the_features_of_the_bundle_s_parameter_file(case_files):
    """Oracle: the number of names a full extraction with the shipped parameter file gives (names.py)."""
    from tnbc_desktop.core.features.names import all_feature_names
    from tnbc_desktop.core.features.params import load_params
    from tnbc_desktop.core.pipeline import analyze_case

    _, files, bundle = case_files
    res = analyze_case(_inputs(files, bundle), None)
    assert res.bundle.full_feature_count == len(all_feature_names(load_params().image_type_names())) == 11_238
    assert res.qc.registration.startswith("off")
