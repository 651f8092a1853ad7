"""The intended-use gate: hard limits, the bundle's training envelope, and what the CLI / JSON / PDF / GUI say.

The demo patient analysed with the shipped demo bundle is inside intended use; a synthetic 'mouse' study (0.2 mm
voxels, 40 phases of 10 s, PatientSpeciesDescription "Mus musculus" in its DICOM files, written with the app's
synthetic writers) is outside it, with every reason in the JSON and the PDF and no predicted group presented.
"""
from __future__ import annotations

import dataclasses
import json
import re
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from tnbc_desktop.cli import main
from tnbc_desktop.core.bundle import load_bundle
from tnbc_desktop.core.intended_use import AcquisitionProfile, TrainingEnvelope, check_intended_use
from tnbc_desktop.core.predict import Prediction
from tnbc_desktop.core.prediction_status import PredictionStatus, prediction_display
from tnbc_desktop.paths import models_dir

HUMAN = AcquisitionProfile(n_phases=6, early_phase_time_s=90.0, temporal_resolution_s=90.0, inplane_spacing_mm=0.7,
                           slice_spacing_mm=2.0, n_slices=48, tumour_volume_ml=5.5, species="")


def _pdf_text(path) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(str(path)).pages).split())


def test_hard_limits_each_give_their_reason():
    env = TrainingEnvelope.from_profiles([HUMAN])
    assert check_intended_use(HUMAN, env).ok
    cases = {
        "species is 'Mus musculus'": dict(species="Mus musculus"),
        "1 post-contrast phase(s)": dict(n_phases=2),
        "in-plane spacing 0.25 mm is outside 0.3-2 mm": dict(inplane_spacing_mm=0.25),
        "in-plane spacing 2.5 mm is outside": dict(inplane_spacing_mm=2.5),
        "slice spacing 0.4 mm is outside 0.5-6 mm": dict(slice_spacing_mm=0.4),
        "slice spacing 7 mm is outside": dict(slice_spacing_mm=7.0),
        "a single slice": dict(n_slices=1),
    }
    for expected, change in cases.items():
        res = check_intended_use(dataclasses.replace(HUMAN, **change), None)
        assert not res.ok and any(expected in r for r in res.hard), (expected, res.hard)
        assert not res.envelope_known
    # a human species stated in the file, or none stated, is fine
    for species in ("Homo sapiens", "HUMAN", ""):
        assert check_intended_use(dataclasses.replace(HUMAN, species=species), env).ok


def test_soft_limits_use_the_envelope_with_its_margin():
    env = TrainingEnvelope.from_profiles([HUMAN, dataclasses.replace(HUMAN, tumour_volume_ml=10.0)])
    assert env.ranges["tumour_volume_ml"] == (5.5, 10.0)
    assert check_intended_use(dataclasses.replace(HUMAN, tumour_volume_ml=10.9), env).ok  # within 10 %
    res = check_intended_use(dataclasses.replace(HUMAN, tumour_volume_ml=11.5, temporal_resolution_s=30.0), env)
    assert not res.ok and not res.hard
    assert any("tumour volume 11.5 mL is outside the training data (5.5-10 mL)" in r for r in res.soft)
    assert any("temporal resolution 30 s" in r for r in res.soft)
    assert TrainingEnvelope.from_dict(env.to_dict()) == env


def test_wide_ci_is_uninformative_and_no_recommendation():
    wide = Prediction("model3", True, probability=0.5, ci_low=0.05, ci_high=0.95, cutoff=0.4, group="pCR")
    shown = prediction_display("model3", wide, None)
    assert shown.status is PredictionStatus.UNINFORMATIVE and shown.ci_uninformative
    assert "(uninformative)" in shown.ci_text and "predicted" not in shown.group_text
    narrow = dataclasses.replace(wide, ci_low=0.42, ci_high=0.7)  # clear of the cutoff 0.4
    assert prediction_display("model3", narrow, None).group_text == "predicted pCR"
    outside = check_intended_use(dataclasses.replace(HUMAN, species="Rattus norvegicus"), None)
    shown = prediction_display("model3", narrow, outside)
    assert shown.status is PredictionStatus.OUTSIDE_INTENDED_USE
    assert shown.group_text == "no recommendation: outside intended use"


def test_shipped_demo_bundle_records_its_training_envelope():
    bundle = load_bundle(models_dir() / "demo_bundle.json")
    env = bundle.training_envelope
    assert env is not None and env.n_cases == bundle.card["training_cohort"]["n"]
    assert env.species == ("human",)
    assert env.ranges["n_phases"] == (6, 6) and env.ranges["inplane_spacing_mm"] == (0.7, 0.7)
    assert "## Training envelope" in (models_dir() / "demo_bundle.md").read_text()
    assert bundle.sha256 in (models_dir() / "demo_bundle.md").read_text()


@pytest.fixture(scope="module")
def mouse(tmp_path_factory):
    """A 'mouse' DCE study written as DICOM by the app's synthetic writers (one series per phase)."""
    from tnbc_desktop.core.synthetic import make_patient, write_patient

    root = tmp_path_factory.mktemp("mouse")
    patient = make_patient(7, shape=(30, 64, 64), spacing_mm=(0.2, 0.2, 0.2),
                           phase_times_s=tuple(10.0 * i for i in range(40)), tumour_volume_ml=0.08)
    study = dataclasses.replace(patient.study, identity=dataclasses.replace(patient.study.identity,
                                                                            species="Mus musculus"))
    return write_patient(dataclasses.replace(patient, study=study), root / "mouse", layout="per-phase")


def test_species_reaches_the_study_from_dicom(mouse):
    import pydicom

    from tnbc_desktop.core.io.dicom_read import list_candidate_files
    from tnbc_desktop.core.io.study_loader import load_study

    first = list_candidate_files(mouse.study)[0]
    assert pydicom.dcmread(first, stop_before_pixels=True).PatientSpeciesDescription == "Mus musculus"
    study = load_study(mouse.study)
    assert study.identity.species == "Mus musculus" and study.n_phases == 40
    assert "Mus musculus" not in study.identity.values()  # not an identifier: never redacted as one


def test_mouse_study_is_outside_intended_use_in_json_cli_and_pdf(mouse, tmp_path, capsys):
    out_json, out_pdf = tmp_path / "m.json", tmp_path / "m.pdf"
    assert main(["analyze", "--study", str(mouse.study), "--mask", str(mouse.mask), "--maf", str(mouse.maf),
                 "--ki67", "30", "--lvi", "absent", "--json", str(out_json), "--pdf", str(out_pdf),
                 "--no-history"]) == 0
    stdout = capsys.readouterr().out
    gate = json.loads(out_json.read_text())["intended_use"]
    assert gate["ok"] is False
    expected = ["species is 'Mus musculus'", "in-plane spacing 0.2 mm is outside 0.3-2 mm",
                "slice spacing 0.2 mm is outside 0.5-6 mm", "number of phases 40 is outside the training data (6)",
                "temporal resolution 10 s is outside the training data (90 s)",
                "early-phase time 60 s is outside the training data (90 s)",
                "in-plane spacing 0.2 mm is outside the training data (0.7 mm)",
                "slice spacing 0.2 mm is outside the training data (2 mm)"]
    for reason in expected:
        assert any(reason in r for r in gate["reasons"]), (reason, gate["reasons"])
    preds = json.loads(out_json.read_text())["predictions"]
    assert {preds[m]["status"] for m in ("model3", "prm", "gprm")} == {"outside intended use"}
    # CLI: the gate and its reasons, and no model line ends in a predicted group
    assert "Outside intended use:" in stdout and "Mus musculus" in stdout
    assert "-> predicted" not in stdout and stdout.count("no recommendation: outside intended use") == 3
    text = _pdf_text(out_pdf)
    assert "Outside intended use:" in text
    for reason in expected:
        assert " ".join(reason.split()) in text, reason
    assert text.count("no recommendation: outside intended use") == 3
    assert not re.search(r"\d\.\d{2} predicted (non-)?pCR", text)  # no group after a cutoff in the table
    assert "Kaplan-Meier panel not shown: the case is outside intended use" in text


def test_demo_patient_is_inside_intended_use(tmp_path, capsys):
    from tnbc_desktop.cli.demo import ensure_demo_patient

    files, _ = ensure_demo_patient(tmp_path / "demo")
    out_json, out_pdf = tmp_path / "d.json", tmp_path / "d.pdf"
    assert main(["analyze", "--study", str(files.study), "--mask", str(files.mask), "--maf", str(files.maf),
                 "--ki67", "30", "--lvi", "absent", "--json", str(out_json), "--pdf", str(out_pdf),
                 "--no-history"]) == 0
    stdout = capsys.readouterr().out
    doc = json.loads(out_json.read_text())
    assert doc["intended_use"]["ok"] is True and doc["intended_use"]["reasons"] == []
    assert doc["intended_use"]["envelope_known"] is True
    assert "Outside intended use" not in stdout and "outside intended use" not in _pdf_text(out_pdf).lower()
    for m in ("model3", "prm", "gprm"):
        p = doc["predictions"][m]
        straddles = p["ci_low"] < p["cutoff"] < p["ci_high"]
        assert p["status"] == ("uninformative" if p["ci_uninformative"] else
                               "uncertain" if straddles else "recommendation")
        if p["status"] == "recommendation":
            assert f"predicted {p['group']}" in stdout


def test_gui_results_panel_shows_the_gate_and_no_group(qapp=None):
    from PySide6.QtWidgets import QApplication

    from tnbc_desktop.gui.results_panel import ResultsPanel

    app = QApplication.instance() or QApplication([])
    gate = check_intended_use(dataclasses.replace(HUMAN, species="Mus musculus", inplane_spacing_mm=0.2), None)
    pred = Prediction("model3", True, probability=0.6, ci_low=0.4, ci_high=0.8, cutoff=0.4, group="pCR")
    result = SimpleNamespace(predictions={"model3": pred, "prm": Prediction("prm", False, reason="no Ki-67"),
                                          "gprm": None},
                             intended_use=gate, bundle=SimpleNamespace(is_demo=True), warnings=(),
                             qc=SimpleNamespace(out_of_range=()), survival_groups={})
    panel = ResultsPanel()
    panel.show_result(result)
    assert not panel.gate_label.isHidden()
    assert "Outside intended use" in panel.gate_label.text() and "Mus musculus" in panel.gate_label.text()
    assert panel.cards["model3"].group.text() == "no recommendation: outside intended use"
    assert panel.cards["prm"].detail.text() == "not available: no Ki-67"
    assert panel.cards["gprm"].detail.text() == "not available: model not in bundle"
    assert app is not None


def test_synthetic_cohort_envelope_equals_the_written_cohort(tmp_path):
    """The demo bundle's envelope was computed in memory (synthetic_cohort_envelope); a rebuild computes it from
    the written cohort's manifest (headers + masks). Both must agree, or a rebuild would change the bundle."""
    from tnbc_desktop.core.manifest import read_manifest
    from tnbc_desktop.core.synthetic import make_cohort
    from tnbc_desktop.core.training.envelope import manifest_envelope, synthetic_cohort_envelope

    manifest = make_cohort(8, 2024, tmp_path / "c")
    train = read_manifest(manifest).by_split("train")
    written, notes = manifest_envelope(train)
    assert not notes and written.n_cases == len(train) > 1
    assert written == synthetic_cohort_envelope(8, 2024)
    assert written.ranges["tumour_volume_ml"][0] < written.ranges["tumour_volume_ml"][1]
