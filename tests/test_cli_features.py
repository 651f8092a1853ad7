"""``tnbc-desktop features``: run as a subprocess on a tiny synthetic patient (NIfTI + sidecar)."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tnbc_desktop.core.features import load_params

NAMES = ["H1__original_firstorder_Mean", "ring__original_shape_Sphericity", "kin_mean__original_glcm_Contrast",
         "kin_var__log-sigma-2-0-mm-3D_firstorder_Median", "H3__wavelet-LLH_glszm_ZoneEntropy", "MSI_H1H2"]


@pytest.fixture(scope="module")
def patient_files(tmp_path_factory):
    from tnbc_desktop.core.synthetic import make_patient, write_patient

    root = tmp_path_factory.mktemp("pt")
    patient = make_patient(11, shape=(16, 64, 64), tumour_volume_ml=1.5)
    files = write_patient(patient, root, layout="nifti")
    names = root / "names.txt"
    names.write_text("# model features\n" + "\n".join(NAMES[:3]) + "\n\n" + "\n".join(NAMES[3:]) + "\n")
    return files, names


def _cli(*args, home):
    env = dict(os.environ, TNBC_DESKTOP_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "tnbc_desktop", "features", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def json_run(patient_files, tmp_path_factory):
    files, names = patient_files
    out = tmp_path_factory.mktemp("out") / "f.json"
    res = _cli(files.study, "--mask", files.mask, "--only", names, "--out", out, home=out.parent)
    assert res.returncode == 0, res.stderr
    return json.loads(out.read_text()), res


def test_json_output_has_every_requested_name(json_run):
    doc, res = json_run
    assert set(doc) == {"values", "not_computable", "params_sha256", "timings_s", "notes", "habitat_fractions"}
    assert set(doc["values"]) | set(doc["not_computable"]) == set(NAMES)
    assert all(np.isfinite(v) for v in doc["values"].values())
    assert doc["params_sha256"] == load_params().sha256
    assert "written to" in res.stderr


def test_csv_output_equals_json_and_in_process_extraction(json_run, patient_files, tmp_path):
    """CSV values round-trip exactly (repr) and equal the JSON run; the JSON values equal an in-process run of
    the same steps (load, kinetic maps, per-patient habitats, 5 mm ring, extract_features)."""
    from tnbc_desktop.core.features import RegionMasks, extract_features
    from tnbc_desktop.core.habitats import per_patient_habitats
    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study
    from tnbc_desktop.core.kinetics import compute_kinetic_maps
    from tnbc_desktop.core.regions import peritumoral_ring

    doc, _ = json_run
    files, names = patient_files
    out = tmp_path / "f.csv"
    res = _cli(files.study, "--mask", files.mask, "--only", names, "--out", out, "--jobs", "2", home=tmp_path)
    assert res.returncode == 0, res.stderr
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["name", "value"]
    got = {n: (float(v) if v else None) for n, v in rows[1:]}
    assert set(got) == set(NAMES)
    for n, v in doc["values"].items():
        assert got[n] == v, n

    study = load_study(files.study)
    mask = load_mask(files.mask, study.geometry)
    maps = compute_kinetic_maps(study, mask.array)
    habitats = per_patient_habitats(maps, diagnostics=False)
    ring = peritumoral_ring(mask.array, study.spacing_mm, 5.0)
    fs = extract_features(study, RegionMasks(mask.array, habitats.labels, ring), NAMES,
                          early_phase=int(maps.early_phase))
    assert fs.values == doc["values"]


def _parity_bundle(path, **extraction):
    from tests.builders import example_bundle_dict
    from tnbc_desktop.core.bundle import load_bundle, save_bundle

    doc = example_bundle_dict()
    doc["extraction"].update(extraction)
    doc["models"]["model1"]["features"][0] = "MSI_H1H2"  # an MSI feature too: it must use the bundle's neighbourhood
    return load_bundle(save_bundle(doc, path))


def test_features_analyze_and_cohort_extraction_give_the_same_values(patient_files, tmp_path):
    """Parity: ``features --bundle B --only <B's names>``, ``analyze --bundle B`` and the cohort extraction
    task give identical values for every name B uses and identical habitat fractions (B: 3D-26 MSI, 4 mm ring,
    a non-default SER clip in the habitat model - each would show a second chain with other settings)."""
    import pyarrow.parquet as pq

    from tnbc_desktop.core.cohort_worker import patient_task

    files, _ = patient_files
    bundle = _parity_bundle(tmp_path / "b.json", msi_connectivity="3d-26", ring_width_mm=4.0)
    names = bundle.required_features()
    names_file = tmp_path / "n.txt"
    names_file.write_text("\n".join(names) + "\n")
    out = tmp_path / "f.json"
    res = _cli(files.study, "--mask", files.mask, "--only", names_file, "--bundle", bundle.source, "--out", out,
               home=tmp_path)
    assert res.returncode == 0, res.stderr
    features = json.loads(out.read_text())
    env = dict(os.environ, TNBC_DESKTOP_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    res = subprocess.run([sys.executable, "-m", "tnbc_desktop", "analyze", "--study", str(files.study), "--mask",
                          str(files.mask), "--bundle", bundle.source, "--json", "-", "--no-history"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    analyzed = json.loads(res.stdout)
    assert set(names) <= set(features["values"])
    for n in names:
        assert features["values"][n] == analyzed["features"][n], n
    assert features["habitat_fractions"] == analyzed["habitats"]["fractions"]
    # MSI is the bundle's 3D-26 neighbourhood (not the 2D-8 default) on the bundle model's habitats
    from tnbc_desktop.core.habitats import assign_habitats
    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study
    from tnbc_desktop.core.kinetics import compute_kinetic_maps
    from tnbc_desktop.core.msi import msi_features

    study = load_study(files.study)
    mask = load_mask(files.mask, study.geometry)
    labels = assign_habitats(compute_kinetic_maps(study, mask.array, bundle.settings.kinetic),
                             bundle.habitat_model, diagnostics=False).labels
    vvol = study.geometry.voxel_volume_mm3
    assert analyzed["features"]["MSI_H1H2"] == msi_features(labels, vvol, "3d-26")["MSI_H1H2"]
    assert analyzed["features"]["MSI_H1H2"] != msi_features(labels, vvol, "2d-8")["MSI_H1H2"]

    # the cohort extraction task, run with the defaults a trained bundle records (2D-8 MSI, 5 mm ring)
    default = _parity_bundle(tmp_path / "d.json")
    from tnbc_desktop.core.case import CaseInputs
    from tnbc_desktop.core.pipeline import analyze_case

    expected = analyze_case(CaseInputs(study_source=files.study, mask_path=files.mask), default).features
    cohort_out = tmp_path / "cohort"
    for sub in ("patients", "failed"):
        (cohort_out / sub).mkdir(parents=True)
    done = patient_task("p1", 1, str(files.study), str(files.mask), None, default.habitat_model,
                        default.required_features(), str(cohort_out), default.settings.ring_width_mm)
    assert done["ok"], done
    table = pq.read_table(cohort_out / "patients" / "p1.parquet").to_pydict()
    got = dict(zip(table["feature"], table["value"]))
    for n in default.required_features():
        assert got[n] == expected[n], n


@pytest.mark.parametrize("extra, message", [
    (["--out", "x.txt"], ".csv or .json"),
    (["--out", "x.json", "--only", "missing_names.txt"], "feature-name list"),
    (["--out", "x.json", "--jobs", "0"], "--jobs"),
])
def test_bad_arguments_exit_2_with_one_line(patient_files, tmp_path, extra, message):
    files, _ = patient_files
    extra = [str(tmp_path / e) if e.endswith((".txt", ".json")) else e for e in extra]
    res = _cli(files.study, "--mask", files.mask, *extra, home=tmp_path)
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_unknown_feature_name_and_missing_mask_exit_2(patient_files, tmp_path):
    files, _ = patient_files
    names = tmp_path / "n.txt"
    names.write_text("H1__original_glcm_NoSuchFeature\n")
    res = _cli(files.study, "--mask", files.mask, "--only", names, "--out", tmp_path / "o.json", home=tmp_path)
    assert res.returncode == 2 and "NoSuchFeature" in res.stderr
    res = _cli(files.study, "--mask", tmp_path / "nope.nii.gz", "--out", tmp_path / "o.json", home=tmp_path)
    assert res.returncode == 2 and "nope.nii.gz" in res.stderr
    assert not (tmp_path / "o.json").exists()
