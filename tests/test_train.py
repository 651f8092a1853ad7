"""Training pipeline (manifest -> features -> fit -> bundle), training report, shipped demo bundle.

One small synthetic cohort (30 tiny patients, 4 phases, a restricted candidate list) is extracted once on Dask
and trained twice; the expected behaviour comes from the bundle contract (schema + content hash, SPEC 15), from
the generator (B) writing the outcomes into the manifest, and (AUC) from a brute-force Mann-Whitney count.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tnbc_desktop.core.bundle import load_bundle
from tnbc_desktop.errors import InputError
from tests.builders import demo_candidate_names

CREATED = "2024-01-01T00:00:00+00:00"
PHASES = (0.0, 90.0, 180.0, 270.0)




@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from tnbc_desktop.core.synthetic import make_cohort

    root = tmp_path_factory.mktemp("train_cohort")
    manifest = make_cohort(30, 11, root / "cohort", shape=(16, 64, 64), tumour_volume_ml=1.0, phase_times_s=PHASES)
    return root, manifest


@pytest.fixture(scope="module")
def trained(cohort):
    """Train A extracts features on Dask; train B reads the same table (``--features``) and the same cache."""
    from tnbc_desktop.core.training.train_cohort import TrainOptions, train_from_manifest

    root, manifest = cohort
    common = dict(work_dir=root / "work", names=demo_candidate_names(), icc_subset=6, created=CREATED, workers=2)
    a = train_from_manifest(manifest, TrainOptions(out=root / "a.json", **common))
    table = root / "work" / "features" / "features.parquet"
    b = train_from_manifest(manifest, TrainOptions(out=root / "b.json", features_table=table, **common))
    return root, manifest, a, b


@pytest.mark.slow
def test_training_is_deterministic_and_bundle_verifies(trained):
    root, _, a, b = trained
    ba, bb = load_bundle(a.bundle_path), load_bundle(b.bundle_path)  # schema + hash verified on load
    assert ba.sha256 == bb.sha256 == a.bundle["sha256"]
    assert a.bundle_path.read_bytes() == b.bundle_path.read_bytes()
    assert ba.document["created"] == CREATED
    assert not ba.is_demo
    hm = json.loads((root / "work" / "features" / "habitat_model.json").read_text())
    assert ba.habitat_model == hm
    ex = ba.extraction
    assert ex["ring_width_mm"] == 5.0 and ex["msi_connectivity"] == "2d-8"
    assert ex["n_candidate_features"] == len(demo_candidate_names()) and ex["feature_set"] == "restricted"
    assert set(ba.required_features()) <= set(demo_candidate_names())
    assert any("ICC" in n and "6 randomly chosen" in n for n in ba.document["training_notes"])
    tc = ba.card["training_cohort"]
    assert tc["n"] + tc["n_validation"] == 30


@pytest.mark.slow
def test_trained_bundle_predicts_for_held_out_patient(trained, tmp_path):
    """A new synthetic patient (seed outside the cohort) goes through extraction and predict_all."""
    from tnbc_desktop.core.imaging_case import extract_case_features
    from tnbc_desktop.core.io.clinical import PathologyInputs
    from tnbc_desktop.core.io.mutations import read_mutation_panel
    from tnbc_desktop.core.predict import predict_all
    from tnbc_desktop.core.synthetic import make_patient, write_patient

    _, _, a, _ = trained
    bundle = load_bundle(a.bundle_path)
    patient = make_patient(987654, shape=(16, 64, 64), tumour_volume_ml=1.0, phase_times_s=PHASES)
    files = write_patient(patient, tmp_path / "p", layout="nifti")
    fs = extract_case_features(files.study, files.mask, bundle.habitat_model, names=bundle.required_features())
    panel = read_mutation_panel(files.maf, sample=patient.sample_id)
    path = PathologyInputs.from_values(patient.ki67_percent, "present" if patient.lvi else "absent")
    preds = predict_all(bundle, fs, path, vaf_sum=panel.vaf_sum)
    assert list(preds) == ["model1", "model2", "model3", "prm", "gprm"]
    for p in preds.values():
        assert p.available, p.reason
        assert 0.0 < p.probability < 1.0 and p.ci_low <= p.probability <= p.ci_high
        assert p.group == ("pCR" if p.probability >= p.cutoff else "non-pCR")


@pytest.mark.slow
def test_scores_match_bundle_performance(trained):
    """The per-patient scores behind the report reproduce the bundle's validation AUC; oracle = a brute-force
    Mann-Whitney count over all (pCR, non-pCR) pairs."""
    _, _, a, _ = trained
    val = a.scores[a.scores["split"] == "validation"]
    ok = val["p_model3"].notna()
    perf = a.bundle["models"]["model3"]["performance"]["validation"]
    y, p = val.loc[ok, "pcr"].to_numpy(int), val.loc[ok, "p_model3"].to_numpy()
    pos, neg = p[y == 1], p[y == 0]
    brute = np.mean([(x > z) + 0.5 * (x == z) for x in pos for z in neg])
    assert perf["auc"] == pytest.approx(brute, abs=1e-12)
    assert perf["n"] == int(ok.sum())


@pytest.mark.slow
def test_training_report_has_sections(trained, tmp_path):
    from pypdf import PdfReader

    from tnbc_desktop.core.training.report import SECTION_TITLES, write_training_report

    _, _, a, _ = trained
    path = write_training_report(a, tmp_path / "training.pdf")
    text = " ".join((pg.extract_text() or "") for pg in PdfReader(str(path)).pages).replace("\n", " ")
    for title in SECTION_TITLES:
        assert title in text, title
    for expected in ("AUC (95 % CI)", "GPRM vs Model 3", "Brier score", "log-rank P", a.bundle["sha256"][:16]):
        assert expected in text, expected


def _write_manifest(path: Path, rows: list[dict]) -> Path:
    cols = ["patient_id", "study", "mask", "pcr", "split"]
    path.write_text(",".join(cols) + "\n" + "".join(",".join(str(r.get(c, "")) for c in cols) + "\n" for r in rows))
    return path


@pytest.mark.slow
def test_bad_manifest_lists_rows(cohort, tmp_path):
    from tnbc_desktop.core.training.train_cohort import TrainOptions, train_from_manifest

    root, manifest = cohort
    first = next(p for p in (root / "cohort").iterdir() if p.is_dir())
    study, mask = first / "study.nii.gz", first / "mask.nii.gz"
    rows = [{"patient_id": "A", "study": study, "mask": mask, "pcr": 1, "split": "train"},
            {"patient_id": "B", "study": study, "mask": "", "pcr": 0, "split": "train"},
            {"patient_id": "C", "study": study, "mask": mask, "pcr": "maybe", "split": "train"},
            {"patient_id": "D", "study": study, "mask": mask, "pcr": 1, "split": "holdout"}]
    bad = _write_manifest(tmp_path / "bad.csv", rows)
    with pytest.raises(InputError) as err:
        train_from_manifest(bad, TrainOptions(out=tmp_path / "x.json"))
    msg = "\n".join(err.value.details)
    assert "row 2: mask is empty" in msg and "row 3: pcr" in msg and "row 4: split" in msg
    assert not (tmp_path / "x.json").exists()
    few = _write_manifest(tmp_path / "few.csv", [rows[0]])
    with pytest.raises(InputError, match="at least 5 patients of each class"):
        train_from_manifest(few, TrainOptions(out=tmp_path / "y.json"))
    # a bad clinical value is listed by its row, before any extraction starts
    lines = manifest.read_text().splitlines()
    k = lines[0].split(",").index("ki67_percent")
    cells = lines[2].split(",")
    cells[k] = "lots"
    lines[2] = ",".join(cells)
    shutil.copytree(root / "cohort", tmp_path / "c2")
    (tmp_path / "c2" / "manifest.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="row 2"):
        train_from_manifest(tmp_path / "c2" / "manifest.csv", TrainOptions(out=tmp_path / "z.json"))
    assert not (tmp_path / "z.json.work").exists()


def test_cli_train_bad_manifest_exit_code(tmp_path, capsys):
    from tnbc_desktop.cli import main

    bad = _write_manifest(tmp_path / "bad.csv", [{"patient_id": "A", "study": "nowhere", "pcr": 1}])
    assert main(["train", str(bad), "--out", str(tmp_path / "o.json")]) == 2
    assert "manifest" in capsys.readouterr().err


def test_cli_train_only_reads_the_feature_list(tmp_path, capsys, monkeypatch):
    """``train --only FILE``: the names reach the training options; an empty list is refused naming the file
    (it used to crash with an ImportError before reading the file)."""
    import tnbc_desktop.core.training.train_cohort as tc
    from tnbc_desktop.cli import main

    seen = {}

    def fake_train(manifest, options, progress=None):
        seen["names"] = options.names
        raise InputError("stop here", manifest)

    monkeypatch.setattr(tc, "train_from_manifest", fake_train)
    manifest = _write_manifest(tmp_path / "m.csv", [{"patient_id": "A", "study": "s", "mask": "m", "pcr": 1}])
    names = tmp_path / "names.txt"
    names.write_text("# model\nH1__original_firstorder_Mean\n\nMSI_H1H2\n")
    assert main(["train", str(manifest), "--out", str(tmp_path / "o.json"), "--only", str(names)]) == 2
    assert seen["names"] == ("H1__original_firstorder_Mean", "MSI_H1H2")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    assert main(["train", str(manifest), "--out", str(tmp_path / "o.json"), "--only", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "feature list is empty" in err and "empty.txt" in err


def test_shipped_demo_bundle_loads_and_says_demo():
    from tnbc_desktop.core.training.demo import DEMO_NOTICE_TEXT
    from tnbc_desktop.paths import models_dir

    path = models_dir() / "demo_bundle.json"
    bundle = load_bundle(path)
    assert bundle.is_demo
    notice = bundle.card["notice"].lower()
    assert "trained on synthetic data" in notice and "not for clinical use" in notice
    assert bundle.card["notice"] == DEMO_NOTICE_TEXT
    assert DEMO_NOTICE_TEXT in (models_dir() / "demo_bundle.md").read_text()
    assert bundle.card["training_cohort"]["n"] >= 200  # >= 300 patients, 7:3 split


@pytest.mark.slow
def test_synthetic_demo_compares_with_both_oracles(cohort, trained, tmp_path):
    """train_synthetic_demo on a cached small cohort: the comparison's oracles are recomputed here from the
    generator's truth table (full oracle = true probabilities, imaging oracle = -imaging phenotype) with a
    brute-force pair count, and the model card / bundle carry the demo notice and the candidate set."""
    import csv

    from tnbc_desktop.core.training.demo import DEMO_NOTICE_TEXT, train_synthetic_demo

    root, _, _, _ = trained
    cache = tmp_path / "cache"
    shutil.copytree(root / "cohort", cache / "cohort")
    shutil.copytree(root / "work", cache / "work")  # the extraction cache: reused, not recomputed
    res = train_synthetic_demo(tmp_path / "demo.json", n=30, seed=11, cache_dir=cache,
                               names=list(demo_candidate_names()), icc_subset=6)

    def brute_auc(y, s):
        pos, neg = s[y == 1], s[y == 0]
        return np.mean([(x > z) + 0.5 * (x == z) for x in pos for z in neg])

    with open(cache / "cohort" / "cohort_truth.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "validation"]
    y = np.array([int(r["pcr"]) for r in rows])
    c = res.comparison
    assert c.n_validation == len(rows) == 9
    assert c.oracle_auc == pytest.approx(brute_auc(y, np.array([float(r["true_pcr_probability"]) for r in rows])))
    assert c.imaging_oracle_auc == pytest.approx(brute_auc(y, -np.array([float(r["imaging_phenotype"]) for r in rows])))
    assert c.model3_auc == res.training.bundle["models"]["model3"]["performance"]["validation"]["auc"]
    bundle = load_bundle(tmp_path / "demo.json")
    assert bundle.is_demo and bundle.card["notice"] == DEMO_NOTICE_TEXT
    source = bundle.card["training_cohort"]["source"]
    assert "make_cohort(n=30, seed=11)" in source
    # not the default's wording
    assert f"candidates: {len(demo_candidate_names())} features given by the caller" in source
    assert "image types original" not in source
    assert bundle.extraction["n_candidate_features"] == len(demo_candidate_names())
    card = res.card_path.read_text()
    assert DEMO_NOTICE_TEXT in card and "imaging oracle AUC" in card
