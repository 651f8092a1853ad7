"""MAMA-MIA: the real clinical table, a MAMA-MIA-shaped tree of synthetic images for real triple-negative ids,
the manifest, training without pathology/genomics (PRM/GPRM not trainable), external AUC per collection, and
analysis with such a bundle (PRM/GPRM "not available: ..." in the JSON and the PDF).

Expected counts are computed here from the real table with pandas, independently of the module under test.
The images are the app's synthetic patients (tiny crops) whose biology is drawn until its pCR equals the real
patient's, so the labels the models learn are carried by the images as in the synthetic cohorts.
"""
from __future__ import annotations

import ast
import csv
import json

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from tests.helpers import shared_data
from tnbc_desktop.cli import main
from tnbc_desktop.core.cohorts.mamamia import build_manifest, clinical_records, dfs_from_days, read_clinical_table

SHAPE = (16, 64, 64)
TABLE = ("clinical", "mamamia_clinical", "clinical_and_imaging_info.xlsx")


def _real_table() -> pd.DataFrame:
    return pd.read_excel(shared_data(*TABLE), sheet_name="dataset_info")


def _usable(df: pd.DataFrame) -> pd.DataFrame:
    """TN rows with pCR known and a strictly increasing list of >= 3 acquisition times."""
    def ok(t):
        try:
            v = ast.literal_eval(str(t))
        except (ValueError, SyntaxError):
            return False
        return isinstance(v, list) and len(v) >= 3 and all(b > a for a, b in zip(v, v[1:]))

    tn = df[df["tumor_subtype"] == "triple_negative"]
    return tn[tn["pcr"].notna() & tn["acquisition_times"].map(ok)]


def _pick(df: pd.DataFrame, collection: str, n_pcr: int, n_non: int) -> list[str]:
    rows = _usable(df)
    rows = rows[rows["dataset"] == collection].sort_values("patient_id")
    return list(rows[rows["pcr"] == 1]["patient_id"][:n_pcr]) + list(rows[rows["pcr"] == 0]["patient_id"][:n_non])


def test_real_table_counts():
    df = _real_table()
    tn = df[df["tumor_subtype"] == "triple_negative"]
    records = clinical_records(read_clinical_table(shared_data(*TABLE)))
    assert len(records) == len(tn) == 499
    assert sum(r.pcr is not None for r in records) == int(tn["pcr"].notna().sum()) == 494
    assert sum(r.pcr == 1 for r in records) == int((tn["pcr"] == 1).sum()) == 182
    per = pd.Series([r.collection for r in records]).value_counts().to_dict()
    assert per == tn["dataset"].value_counts().to_dict()
    assert per == {"ISPY2": 358, "DUKE": 85, "ISPY1": 45, "NACT": 11}
    # phase times: the table's list, as seconds, for every row that has one
    by_id = {r.patient_id: r for r in records}
    for row in tn.itertuples():
        if isinstance(row.acquisition_times, str):
            expected = tuple(float(v) for v in ast.literal_eval(row.acquisition_times))
            assert by_id[row.patient_id].phase_times_s == expected
    # survival: ISPY2 has none; DUKE/ISPY1/NACT have it where follow-up or an event is recorded
    has_dfs = pd.Series({r.patient_id: r.dfs_months is not None for r in records})
    assert not has_dfs[tn[tn["dataset"] == "ISPY2"]["patient_id"]].any()
    assert has_dfs[tn[tn["dataset"] == "ISPY1"]["patient_id"]].all()


def test_dfs_rule():
    """Event = first recurrence/metastasis/death (> 0 days); otherwise censored at follow-up; 0 = no event."""
    assert dfs_from_days(1649, 0, 0) == (pytest.approx(1649 / 30.4375), 0)
    assert dfs_from_days(384, 407, 471) == (pytest.approx(407 / 30.4375), 1)   # DUKE_010: follow-up < event
    assert dfs_from_days(2436, 0, 916, metastasis=500) == (pytest.approx(500 / 30.4375), 1)
    assert dfs_from_days(212, 212, float("nan"), 0) == (pytest.approx(212 / 30.4375), 1)  # NACT: no death field
    assert dfs_from_days(float("nan"), 0, 0) == (None, None)


def _write_tree(root, df: pd.DataFrame, ids: list[str]):
    """images/<id>/<id>_000k.nii.gz, segmentations/expert/<id>.nii.gz (ids lower case, as in the download),
    patient_info_files/<id>.json and the clinical table restricted to ``ids``."""
    from tnbc_desktop.core.synthetic import make_patient
    from tnbc_desktop.core.synthetic.biology import sample_biology
    from tnbc_desktop.core.synthetic.fast_nifti import write_volume_gz

    rows = df.set_index("patient_id").loc[ids]
    for i, pid in enumerate(ids):
        times = tuple(float(v) for v in ast.literal_eval(rows.loc[pid, "acquisition_times"]))
        seed = 700000 + 1000 * i
        while sample_biology(np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0])).pcr != bool(
                rows.loc[pid, "pcr"]):
            seed += 1
        patient = make_patient(seed, shape=SHAPE, tumour_volume_ml=1.0, phase_times_s=times)
        low = pid.lower()
        geom = patient.study.geometry
        (root / "images" / low).mkdir(parents=True)
        (root / "segmentations" / "expert").mkdir(parents=True, exist_ok=True)
        for k, phase in enumerate(patient.study.data):
            write_volume_gz(np.rint(phase).astype(np.int16), geom, root / "images" / low / f"{low}_{k:04d}.nii.gz")
        write_volume_gz(patient.mask.array.astype(np.uint8), geom, root / "segmentations" / "expert" / f"{low}.nii.gz")
        (root / "patient_info_files").mkdir(exist_ok=True)
        (root / "patient_info_files" / f"{low}.json").write_text(json.dumps({"patient_id": pid}))
    with pd.ExcelWriter(root / "clinical_and_imaging_info.xlsx") as xw:
        df[df["patient_id"].isin(ids)].to_excel(xw, sheet_name="dataset_info", index=False)
    return root


@pytest.fixture(scope="module")
def table():
    return _real_table()


@pytest.fixture(scope="module")
def ids12(table):
    return {c: _pick(table, c, 1, 2) for c in ("DUKE", "ISPY1", "ISPY2", "NACT")}


@pytest.fixture(scope="module")
def tree12(tmp_path_factory, table, ids12):
    return _write_tree(tmp_path_factory.mktemp("mamamia12"), table, [i for v in ids12.values() for i in v])


def _manifest_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_manifest_from_a_mamamia_tree(tree12, table, ids12, tmp_path, capsys):
    out = tmp_path / "manifest.csv"
    assert main(["cohort", "manifest", "mama-mia", str(tree12), "--out", str(out)]) == 0
    rows = {r["patient_id"]: r for r in _manifest_rows(out)}
    assert sorted(rows) == sorted(i for v in ids12.values() for i in v)
    real = table.set_index("patient_id")
    for pid, r in rows.items():
        low = pid.lower()
        files = r["study"].split(";")
        n = len(ast.literal_eval(real.loc[pid, "acquisition_times"]))
        # the manifest lies outside the tree: absolute paths
        assert files == [str(tree12.resolve() / "images" / low / f"{low}_{k:04d}.nii.gz") for k in range(n)]
        assert r["mask"] == str(tree12.resolve() / "segmentations" / "expert" / f"{low}.nii.gz")
        assert [float(t) for t in r["phase_times_s"].split(";")] == ast.literal_eval(real.loc[pid, "acquisition_times"])
        assert int(r["pcr"]) == int(real.loc[pid, "pcr"]) and r["collection"] == real.loc[pid, "dataset"]
        assert r["split"] == ("external" if r["collection"] in ("DUKE", "ISPY1") else r["split"])
        assert r["split"] in (("external",) if r["collection"] in ("DUKE", "ISPY1") else ("train", "validation"))
    assert not rows[ids12["ISPY2"][0]]["dfs_months"]          # ISPY2 has no survival fields
    assert rows[ids12["ISPY1"][0]]["dfs_event"] in ("0", "1")
    # the manifest is one the app reads: per-phase file lists, absolute paths that exist
    from tnbc_desktop.core.manifest import read_manifest

    m = read_manifest(out, require=("mask", "pcr", "split"))
    assert all(isinstance(r.study, tuple) and all(p.exists() for p in r.study) for r in m.rows)
    assert "12 of 12 patients in the manifest" in capsys.readouterr().out
    # the same manifest again: the split is fixed by the seed
    again = build_manifest(tree12, tmp_path / "again.csv", external=("DUKE", "ISPY1"))
    assert (tmp_path / "again.csv").read_text() == out.read_text() and len(again.patient_ids) == 12
    # a manifest inside the tree holds paths relative to it
    build_manifest(tree12, tree12 / "manifest.csv")
    inside = {r["patient_id"]: r for r in _manifest_rows(tree12 / "manifest.csv")}
    low = ids12["NACT"][0].lower()
    assert inside[ids12["NACT"][0]]["study"].startswith(f"images/{low}/{low}_0000.nii.gz;")


def test_missing_files_are_listed_and_left_out(tree12, ids12, tmp_path, capsys):
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(tree12, tree)
    gone_image, gone_mask = ids12["DUKE"][0], ids12["ISPY2"][1]
    shutil.rmtree(tree / "images" / gone_image.lower())
    (tree / "segmentations" / "expert" / f"{gone_mask.lower()}.nii.gz").unlink()
    out = tmp_path / "m.csv"
    assert main(["cohort", "manifest", "mama-mia", str(tree), "--out", str(out)]) == 0
    assert len(_manifest_rows(out)) == 10
    stdout = capsys.readouterr().out
    assert "10 of 12 patients in the manifest" in stdout
    assert "2 left out (DUKE 1, ISPY2 1):" in stdout
    assert f"{gone_image} (DUKE): no phase images" in stdout
    assert f"{gone_mask} (ISPY2): no expert segmentation" in stdout
    listed = _manifest_rows(tmp_path / "m_left_out.csv")
    assert sorted(r["patient_id"] for r in listed) == sorted([gone_image, gone_mask])
    # --strict: the same tree is an error naming both, and no manifest is written
    strict = tmp_path / "strict.csv"
    assert main(["cohort", "manifest", "mama-mia", str(tree), "--out", str(strict), "--strict"]) == 2
    err = capsys.readouterr().err
    assert "2 patient(s) cannot be used" in err and gone_image in err and gone_mask in err
    assert not strict.exists()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, table, ids12):
    """12 ids above plus 21 more ISPY2 ids (the training split needs >= 5 patients of each class) -> manifest
    -> ``train`` on a restricted candidate list."""
    from tests.builders import demo_candidate_names as _names

    root = tmp_path_factory.mktemp("mamamia_train")
    more = [i for i in _pick(table, "ISPY2", 12, 12) if i not in ids12["ISPY2"]]
    ids = [i for v in ids12.values() for i in v] + more
    tree = _write_tree(root / "MAMA-MIA", table, ids)
    manifest = root / "manifest.csv"
    assert main(["cohort", "manifest", "mama-mia", str(tree), "--out", str(manifest)]) == 0
    names = root / "names.txt"
    names.write_text("\n".join(_names()) + "\n")
    bundle = root / "bundle.json"
    assert main(["train", str(manifest), "--out", str(bundle), "--only", str(names), "--icc-subset", "0",
                 "--workers", "2", "--name", "MAMA-MIA TN test", "--report", str(root / "training.pdf")]) == 0
    return root, manifest, bundle, ids


@pytest.mark.slow
def test_train_on_mamamia_without_pathology(trained, capsys):
    from tnbc_desktop.core.bundle import load_bundle
    from tnbc_desktop.core.training.card import model_card_markdown

    _, manifest, path, ids = trained
    bundle = load_bundle(path)
    assert set(bundle.models) == {"model1", "model2", "model3"}
    nt = bundle.not_trainable
    assert set(nt) == {"prm", "gprm"}
    assert nt["prm"].startswith("no Ki-67, LVI (none of the") and "REL/MED23 VAF" in nt["gprm"]
    rows = _manifest_rows(manifest)
    n_ext = {c: sum(r["collection"] == c for r in rows) for c in ("DUKE", "ISPY1")}
    for name in ("model1", "model2", "model3"):
        by = bundle.models[name].performance["external_by_collection"]
        assert set(by) == {"DUKE", "ISPY1"}
        for coll, perf in by.items():
            assert perf["n"] == n_ext[coll] == 3 and perf["n_pcr"] == 1
            assert 0.0 <= perf["auc"] <= 1.0
    card = model_card_markdown(bundle.document)
    assert "## External validation by collection" in card and "| DUKE | ISPY1 |" in card
    assert "PRM (Model 3 + Ki-67 + LVI): not trainable: no Ki-67, LVI" in card
    report = " ".join(" ".join(p.extract_text() or "" for p in PdfReader(str(path.parent / "training.pdf")).pages)
                      .split())
    assert "not trainable: no Ki-67, LVI" in report
    assert "Model 3 external DUKE 3 (1)" in report and "Model 3 external ISPY1 3 (1)" in report
    env = bundle.training_envelope
    train_ids = [r["patient_id"] for r in rows if r["split"] == "train"]
    assert env.n_cases == len(train_ids)
    phases = [len(r["phase_times_s"].split(";")) for r in rows if r["split"] == "train"]
    assert env.ranges["n_phases"] == (min(phases), max(phases))


@pytest.mark.slow
def test_analyze_demo_patient_with_a_bundle_without_prm(trained, tmp_path, capsys):
    from tnbc_desktop.cli.demo import ensure_demo_patient

    _, _, bundle, _ = trained
    files, _ = ensure_demo_patient(tmp_path / "demo")
    out_json, out_pdf = tmp_path / "r.json", tmp_path / "r.pdf"
    assert main(["analyze", "--study", str(files.study), "--mask", str(files.mask), "--ki67", "30",
                 "--lvi", "absent", "--maf", str(files.maf), "--bundle", str(bundle), "--json", str(out_json),
                 "--pdf", str(out_pdf), "--no-history"]) == 0
    stdout = capsys.readouterr().out
    doc = json.loads(out_json.read_text())
    assert set(doc["bundle"]["not_trainable"]) == {"prm", "gprm"}
    preds = doc["predictions"]
    assert preds["model3"]["available"] is True
    for m in ("prm", "gprm"):
        assert preds[m]["available"] is False and preds[m]["status"] == "not available"
        assert preds[m]["reason"].startswith("not trainable on the bundle's training cohort: no Ki-67, LVI")
    assert "PRM: not available: not trainable on the bundle's training cohort" in stdout
    text = " ".join(" ".join(p.extract_text() or "" for p in PdfReader(str(out_pdf)).pages).split())
    assert text.count("not available: not trainable on the bundle's training cohort: no Ki-67, LVI") == 2
    assert "not trainable: no Ki-67, LVI (none of the" in text  # the model card on page 2


def test_training_envelope_from_headers_equals_the_loaded_study(tree12, tmp_path):
    """The envelope reads NIfTI headers and the mask only; it must give what loading each study gives."""
    from tnbc_desktop.core.intended_use import AcquisitionProfile
    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study
    from tnbc_desktop.core.manifest import read_manifest
    from tnbc_desktop.core.training.envelope import _header_profile

    build_manifest(tree12, tmp_path / "m.csv")
    for row in read_manifest(tmp_path / "m.csv").rows:
        study = load_study(row.study, phase_times_s=row.phase_times_s)
        loaded = AcquisitionProfile.from_study(study, load_mask(row.mask, study.geometry).volume_ml)
        assert _header_profile(row) == loaded


def test_a_folder_without_any_usable_patient_is_refused(tmp_path, capsys):
    (tmp_path / "images").mkdir()
    code = main(["cohort", "manifest", "mama-mia", str(tmp_path), "--out", str(tmp_path / "m.csv"),
                 "--clinical", str(shared_data(*TABLE))])
    assert code == 2
    err = capsys.readouterr().err
    assert "none of the 499 patients" in err and "no phase images" in err
    assert not (tmp_path / "m.csv").exists()
    assert main(["cohort", "manifest", "mama-mia", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.csv")]) == 2
    assert "no images/ folder" in capsys.readouterr().err
