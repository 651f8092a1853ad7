"""One labelling rule for predictions (core.prediction_status) and its use by the JSON, CLI text, PDF and GUI."""
from __future__ import annotations

import json

import pytest
from pypdf import PdfReader

from tnbc_desktop.core.predict import Prediction
from tnbc_desktop.core.intended_use import IntendedUseCheck
from tnbc_desktop.core.prediction_status import (PredictionStatus, ci_straddles_cutoff, format_p_value,
                                                 prediction_display)


def _pred(p, lo, hi, cut, group=None):
    return Prediction("model3", True, probability=p, ci_low=lo, ci_high=hi, cutoff=cut,
                      group=group or ("pCR" if p >= cut else "non-pCR"))


def test_ci_straddling_the_cutoff_reads_uncertain_in_neutral_colour():
    r = prediction_display("model3", _pred(0.60, 0.24, 0.88, 0.43))
    assert r.status is PredictionStatus.UNCERTAIN and r.group == "uncertain" and r.point_group == "pCR"
    assert not r.is_recommendation and "predicted" not in r.group_text and r.group_text.startswith("uncertain")
    assert r.colour[0] == r.colour[1] == r.colour[2]
    clear = prediction_display("prm", _pred(0.72, 0.61, 0.80, 0.31))
    assert clear.is_recommendation and clear.group_text == "predicted pCR" and clear.group == "pCR"
    low = prediction_display("prm", _pred(0.10, 0.05, 0.20, 0.43))
    assert low.is_recommendation and low.group == "non-pCR"
    assert clear.colour != low.colour and r.colour not in (clear.colour, low.colour)


def test_gate_and_wide_ci_come_before_uncertain():
    outside = IntendedUseCheck(ok=False, hard=("species Mus musculus",))
    straddling = _pred(0.60, 0.24, 0.88, 0.43)
    assert prediction_display("model3", straddling, outside).status is PredictionStatus.OUTSIDE_INTENDED_USE
    wide = prediction_display("model3", _pred(0.5, 0.05, 0.95, 0.4))
    assert wide.status is PredictionStatus.UNINFORMATIVE and wide.group is None


def test_edges_and_not_available():
    assert not ci_straddles_cutoff(0.43, 0.9, 0.43)  # a CI ending on the cutoff does not straddle it
    assert ci_straddles_cutoff(0.4299, 0.9, 0.43)
    assert not ci_straddles_cutoff(float("nan"), 0.9, 0.43)
    missing = prediction_display("gprm", Prediction("gprm", False, reason="no mutation file given"))
    assert missing.status is PredictionStatus.NOT_AVAILABLE and missing.group is None
    assert "no mutation file" in missing.group_text
    assert prediction_display("prm", None).status is PredictionStatus.NOT_AVAILABLE


def test_p_values_below_0001_print_as_less_than():
    assert format_p_value(0.000269) == "< 0.001"
    assert format_p_value(0.0461) == "0.046"
    assert format_p_value(None) == "n/a"


@pytest.fixture(scope="module")
def demo_analysis(tmp_path_factory):
    """The demo patient analysed by the CLI with the shipped demo bundle: (json doc, pdf text, stdout)."""
    import contextlib
    import io

    from tnbc_desktop.cli import main
    from tnbc_desktop.cli.demo import DEMO_SEED, ensure_demo_patient

    out = tmp_path_factory.mktemp("demo_status")
    files, _ = ensure_demo_patient(out, DEMO_SEED)
    js, pdf = out / "r.json", out / "r.pdf"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["analyze", "--study", str(files.study), "--mask", str(files.mask), "--maf", str(files.maf),
                     "--ki67", "51", "--lvi", "absent", "--json", str(js), "--pdf", str(pdf), "--no-history"])
    assert code == 0
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(pdf)).pages)
    return json.loads(js.read_text()), text, buf.getvalue(), files


def test_demo_patient_model3_reads_uncertain_in_json_cli_and_pdf(demo_analysis):
    doc, pdf_text, stdout, _files = demo_analysis
    m3 = doc["predictions"]["model3"]
    assert m3["ci_low"] < m3["cutoff"] < m3["ci_high"]  # the demo patient's Model 3 straddles its cutoff
    assert m3["group"] == "uncertain" and m3["status"] == "uncertain"
    assert m3["point_estimate_group"] == ("pCR" if m3["probability"] >= m3["cutoff"] else "non-pCR")
    line = next(s for s in stdout.splitlines() if s.strip().startswith("Model 3"))
    assert "-> uncertain" in line and "predicted" not in line, line
    assert f"Model 3 {m3['probability']:.3f}" in pdf_text
    assert "uncertain (CI includes the cutoff)" in pdf_text
    for key in ("prm", "gprm"):
        p = doc["predictions"][key]
        if not p["ci_low"] < p["cutoff"] < p["ci_high"]:
            assert p["group"] in ("pCR", "non-pCR")
    assert "log-rank P = 0.000" not in pdf_text and "this patient's DFS" not in pdf_text


@pytest.mark.gui
def test_demo_patient_model3_reads_uncertain_in_the_gui(qtbot, demo_analysis, monkeypatch):
    from tests.builders import WAIT_MS, make_window
    from tnbc_desktop.gui import dialogs
    from tnbc_desktop.gui.session import SessionState

    monkeypatch.setattr(dialogs, "show_message", lambda *a: None)
    doc, _text, _out, files = demo_analysis
    window = make_window(qtbot)
    assert window.bundle is not None and window.bundle.is_demo  # the shipped demo bundle, as the CLI used
    state = SessionState(study_source=[str(files.study)], mask_path=str(files.mask), maf_path=str(files.maf),
                         ki67="51", lvi="absent")
    with qtbot.waitSignal(window.caseLoaded, timeout=WAIT_MS):
        window.restore_state(state)
    with qtbot.waitSignal(window.analysisFinished, timeout=WAIT_MS):
        window.run_analysis()
    card = window.results.cards["model3"]
    assert card.group.text() == "uncertain (CI includes the cutoff)"
    assert card.probability.text() == f"{doc['predictions']['model3']['probability']:.0%}"
    assert "#6e6e6e" in card.group.styleSheet()  # neutral grey, not a group colour
    assert window.results.cards["prm"].group.text() == f"predicted {doc['predictions']['prm']['group']}"
    km = window.results.km
    assert km.at_risk_rows and all(len(v) > 1 for v in km.at_risk_rows.values())
    assert "Reference cohort" in km.caption.text() and "this patient is in" not in km.caption.text()
