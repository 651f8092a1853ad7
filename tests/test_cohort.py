"""Cohort extraction on Dask (core/cohort.py, cli/cohort.py): resumable after a hard kill, failures recorded
per patient, habitat model fitted on training rows only, no worker process left behind.

One small synthetic cohort (8 patients of 16x64x64 voxels, ~1 ml tumours, a short feature list) is shared by
the tests; one validation patient's study is a corrupt NIfTI. Oracles: the uninterrupted run's table (for the
killed-and-resumed run) and a habitat model fitted directly on the training rows with the library
functions (for the cluster fit).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import psutil
import pytest

from tnbc_desktop.core.cohort import CohortProgress, extract_cohort
from tnbc_desktop.core.cohort_worker import safe_name
from tnbc_desktop.core.manifest import read_manifest
from tnbc_desktop.errors import ConfigError, FeatureError, InputError

NAMES = ["H1__original_firstorder_Mean", "H3__original_firstorder_Energy", "ring__original_shape_Sphericity",
         "MSI_H1H2", "kin_mean__original_firstorder_Mean"]
N_PATIENTS = 8


def _worker_children() -> list[psutil.Process]:
    """Live Dask worker processes started by this test process (multiprocessing spawn children)."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.NoSuchProcess:
            continue
    return out


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """(manifest path, broken patient id, feature-list file, reference CohortResult, progress lines)."""
    from tnbc_desktop.core.synthetic import make_cohort

    root = tmp_path_factory.mktemp("cohort")
    manifest = make_cohort(N_PATIENTS, 11, root / "data", shape=(16, 64, 64), tumour_volume_ml=1.0)
    rows = read_manifest(manifest).rows
    broken = next(r for r in rows if r.split == "validation")
    broken.study.write_bytes(b"this is not a NIfTI file\n" * 50)  # corrupt study, same name
    names_file = root / "names.txt"
    names_file.write_text("# short list for a quick test\n" + "\n".join(NAMES) + "\n")
    seen: list[CohortProgress] = []
    ref = extract_cohort(manifest, root / "reference", n_workers=2, names=NAMES, progress=seen.append)
    return manifest, broken.patient_id, names_file, ref, seen


def test_reference_run_records_broken_row_and_completes_the_others(cohort):
    """(b) The corrupt study is reported with its error; every other row has features; progress is shown."""
    manifest, broken_id, _, ref, seen = cohort
    out = ref.table_path.parent
    table = pd.read_parquet(ref.table_path)
    ids = [r.patient_id for r in read_manifest(manifest).rows]
    assert sorted(table["patient_id"]) == sorted(i for i in ids if i != broken_id)
    assert list(table.columns) == ["patient_id", *NAMES]
    assert set(ref.failed) == {broken_id}
    rec = json.loads((out / "failed" / f"{safe_name(broken_id)}.json").read_text())
    assert rec["patient_id"] == broken_id and rec["stage"] == "features"
    assert "study.nii.gz" in rec["error"] and rec["error"] == ref.failed[broken_id]
    # the features stage reports done / failed / remaining with an ETA, ending at 0 remaining
    last = [p for p in seen if p.stage == "features"][-1]
    assert (last.done, last.failed, last.remaining) == (N_PATIENTS - 1, 1, 0)
    assert last.eta_s == 0 and "ETA" in last.line()
    assert np.isfinite(table[NAMES].to_numpy()).all()


def test_habitat_model_fitted_on_training_rows_only(cohort):
    """(c) Oracle: fit_habitat_model on the training rows' voxels computed here directly, with the same
    per-patient subsample; a fit that also includes the validation rows gives a different model."""
    from tnbc_desktop.core.cohort import MAX_VOXELS_PER_PATIENT
    from tnbc_desktop.core.habitats import fit_habitat_model
    from tnbc_desktop.core.imaging_case import patient_voxel_features

    manifest, broken_id, _, ref, _ = cohort
    got = json.loads(ref.habitat_model_path.read_text())
    rows = read_manifest(manifest).rows

    def vox(r):
        return patient_voxel_features(r.study, r.mask, r.phase_times_s, max_voxels=MAX_VOXELS_PER_PATIENT,
                                      key=r.patient_id)

    train = [vox(r) for r in rows if r.split == "train"]
    expected = fit_habitat_model(train, seed=0).to_dict()
    for key in ("scaler_mean", "scaler_sd", "centroids_z", "winsor_low", "winsor_high", "ser_clip"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, atol=1e-12, err_msg=key)
    everyone = train + [vox(r) for r in rows if r.split != "train" and r.patient_id != broken_id]
    leaky = fit_habitat_model(everyone, seed=0).to_dict()
    assert not np.allclose(got["scaler_mean"], leaky["scaler_mean"])
    assert not any(proc for proc in _worker_children())  # the in-process LocalCluster was shut down


def _cli(manifest, out, names_file, **popen) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tnbc_desktop", "cohort", "extract", str(manifest), "--out", str(out),
           "--only", str(names_file), "--workers", "2"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for p in psutil.process_iter(["pid", "status"]):
        try:
            if p.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(p.info["pid"]) == pgid:
                alive.append(p.info["pid"])
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return alive


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_table(cohort, tmp_path):
    """(a) Kill the CLI's whole process group once some patients are written; the rerun skips them and the
    final table equals the uninterrupted (reference) run's table exactly."""
    manifest, broken_id, names_file, ref, _ = cohort
    out = tmp_path / "run"
    proc = _cli(manifest, out, names_file, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while len(list((out / "patients").glob("*.parquet"))) < 2:
            assert proc.poll() is None, f"run ended before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "no patient finished within 120 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    t0 = time.monotonic()
    while _group_alive(proc.pid) and time.monotonic() - t0 < 10:
        time.sleep(0.1)
    assert not _group_alive(proc.pid), "worker processes survived the kill"
    finished = sorted((out / "patients").glob("*.parquet"))
    assert 2 <= len(finished) < N_PATIENTS - 1, "the kill came too late to test resuming"
    assert not (out / "features.parquet").exists()
    before = {p.name: p.stat().st_mtime_ns for p in finished}

    rerun = _cli(manifest, out, names_file)
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 1, stderr  # 1 = some patient failed (the corrupt one)
    assert f"skipped {len(finished)} finished earlier" in stderr
    assert f"FAILED {broken_id}:" in stdout
    assert {p.name: p.stat().st_mtime_ns for p in finished} == {  # finished patients were not redone
        p.name: p.stat().st_mtime_ns for p in (out / "patients").glob("*.parquet") if p.name in before}
    pd.testing.assert_frame_equal(pd.read_parquet(out / "features.parquet"), pd.read_parquet(ref.table_path))
    assert json.loads((out / "habitat_model.json").read_text()) == json.loads(ref.habitat_model_path.read_text())


def test_rerun_with_other_features_is_refused(cohort):
    """A finished folder cannot silently mix feature lists: the settings check fails before any cluster."""
    manifest, _, _, ref, _ = cohort
    with pytest.raises(ConfigError, match="different settings"):
        extract_cohort(manifest, ref.table_path.parent, names=NAMES[:2])


def test_bad_inputs_fail_up_front(cohort, tmp_path):
    """Unknown feature names and manifests without training rows are refused before any work."""
    manifest, _, _, _, _ = cohort
    with pytest.raises(FeatureError, match="not_a_feature"):
        extract_cohort(manifest, tmp_path / "a", names=["not_a_feature"])
    text = manifest.read_text().replace(",train\n", ",validation\n")
    no_train = manifest.parent / "no_train.csv"
    no_train.write_text(text)
    with pytest.raises(InputError, match="no training rows"):
        extract_cohort(no_train, tmp_path / "b", names=NAMES)
    assert not _worker_children()


def test_cli_reports_bad_manifest_with_exit_2(tmp_path):
    """Every manifest problem is listed by row on stderr; exit code 2; no traceback."""
    bad = tmp_path / "m.csv"
    bad.write_text("patient_id,study,mask\nP1,missing.nii.gz,\n")
    res = subprocess.run([sys.executable, "-m", "tnbc_desktop", "cohort", "extract", str(bad), "--out",
                          str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "row 1: study not found" in res.stderr and "row 1: mask is empty" in res.stderr
    assert "Traceback" not in res.stderr


def test_patient_files_gather_into_wide_table_with_reasons(tmp_path):
    """Per-patient long files -> one wide table (rows by id, columns in name order); a NaN feature keeps its
    reason; a damaged result file is named. Expected values are the ones written (round trip)."""
    from tnbc_desktop.core.cohort import gather_table
    from tnbc_desktop.core.cohort_worker import write_patient_parquet
    from tnbc_desktop.core.manifest import Manifest, ManifestRow

    names = ["b_feature", "a_feature", "c_feature"]
    (tmp_path / "patients").mkdir()
    write_patient_parquet(tmp_path / "patients" / "P2.parquet", "P2", names, {"b_feature": 1.5, "a_feature": -2.0},
                          {"c_feature": "habitat 3 is empty"})
    write_patient_parquet(tmp_path / "patients" / "P1.parquet", "P1", names,
                          {"b_feature": 3.0, "a_feature": 4.0, "c_feature": 5.0}, {})
    rows = tuple(ManifestRow(i + 1, pid, tmp_path, None, None, None, None, None, None, None, None, None, None,
                             "train") for i, pid in enumerate(["P2", "P3", "P1"]))  # P3 not finished
    manifest = Manifest(tmp_path / "m.csv", rows)
    df, notes = gather_table(tmp_path, manifest, names)
    assert list(df.columns) == ["patient_id", *names]
    assert list(df["patient_id"]) == ["P1", "P2"]
    np.testing.assert_array_equal(df[names].to_numpy(), [[3.0, 4.0, 5.0], [1.5, -2.0, np.nan]])
    assert notes == [("P2", "c_feature", "habitat 3 is empty")]
    (tmp_path / "patients" / "P1.parquet").write_bytes(b"garbage")
    with pytest.raises(InputError, match="P1.parquet"):
        gather_table(tmp_path, manifest, names)
