"""CLI: analyze (JSON keys, PDF, history, de-identification with no canary in outputs or log lines),
batch (a failing patient does not stop the rest), history, progress output."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from pypdf import PdfReader

from tests.builders import make_test_bundle, write_small_patient
from tnbc_desktop.cli import main
from tnbc_desktop.cli.analyze import ProgressPrinter

CANARY = "ZZCANARY"


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    patient, files = write_small_patient(root / "p1", seed=5, layout="per-phase")
    bundle = make_test_bundle(root / "bundle.json")
    return root, patient, files, bundle


def _args(files, bundle, *extra):
    return ["analyze", "--study", str(files.study), "--mask", str(files.mask), "--maf", str(files.maf),
            "--ki67", "30", "--lvi", "absent", "--bundle", str(bundle), *extra]


def test_analyze_writes_json_pdf_and_history(case, tmp_path, capsys):
    _, _, files, bundle = case
    out_json, out_pdf = tmp_path / "r.json", tmp_path / "r.pdf"
    assert main(_args(files, bundle, "--json", str(out_json), "--pdf", str(out_pdf))) == 0
    doc = json.loads(out_json.read_text())
    for m in ("model3", "prm", "gprm"):
        assert set(doc["predictions"][m]) >= {"probability", "ci_low", "ci_high", "cutoff", "group", "available",
                                              "reason"}
        assert doc["predictions"][m]["available"] is True
        p = doc["predictions"][m]
        assert p["ci_low"] <= p["probability"] <= p["ci_high"]
        point = "pCR" if p["probability"] >= p["cutoff"] else "non-pCR"
        assert p["point_estimate_group"] == point
        assert p["group"] == ("uncertain" if p["ci_low"] < p["cutoff"] < p["ci_high"] else point)
    assert len(doc["habitats"]["fractions"]) == 3 and sum(doc["habitats"]["fractions"]) == pytest.approx(1.0)
    assert len(doc["bundle"]["sha256"]) == 64
    assert "features" in doc["timings_s"] and isinstance(doc["warnings"], list)
    assert len(PdfReader(str(out_pdf)).pages) == 2
    assert "Model 3" in capsys.readouterr().out
    assert main(["history", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["report_path"] == str(out_pdf)
    assert rows[0]["identifiers"] is None


def test_deidentified_outputs_and_logs_have_no_canary(case, tmp_path):
    """Runs the CLI in a subprocess with verbose logging; stdout, stderr, JSON, PDF text+metadata are clean."""
    _, _, files, bundle = case
    out_json, out_pdf = tmp_path / "r.json", tmp_path / "r.pdf"
    proc = subprocess.run([sys.executable, "-m", "tnbc_desktop", "-v",
                           *_args(files, bundle, "--json", str(out_json), "--pdf", str(out_pdf), "--deidentify")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "step features done" in proc.stderr  # verbose log lines were emitted ...
    assert CANARY not in proc.stdout and CANARY not in proc.stderr  # ... and hold no identifier
    assert CANARY not in out_json.read_text()
    reader = PdfReader(str(out_pdf))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "de-identified" in text and CANARY not in text
    assert CANARY not in " ".join(str(v) for v in (reader.metadata or {}).values())


def test_bad_input_exits_2_with_one_line(case, tmp_path, capsys):
    _, _, files, bundle = case
    code = main(["analyze", "--study", str(files.study), "--mask", str(tmp_path / "missing.nii.gz"),
                 "--bundle", str(bundle), "--no-history"])
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("[")]
    assert code == 2  # progress lines aside, exactly one plain error line naming the step and the file
    assert len(err) == 1 and err[0].startswith("tnbc-desktop: error:")
    assert "load mask" in err[0] and "missing.nii.gz" in err[0] and "Traceback" not in err[0]


def test_batch_continues_after_a_failing_patient(case, tmp_path, capsys):
    root, patient, files, bundle = case
    # manifest paths are relative to the manifest's folder: the manifest sits beside the case folder
    rel = f"{root.name}/{files.root.relative_to(root)}"
    rows = [["patient_id", "study", "mask", "ki67_percent", "lvi", "maf", "sample"],
            ["good_1", f"{rel}/study", f"{rel}/mask.nii.gz", "40", "absent", f"{rel}/mutations.maf", ""],
            ["broken_2", "nowhere/study", "nowhere/mask.nii.gz", "10", "present", "", ""]]
    manifest = root.parent / f"manifest_{root.name}.csv"
    with open(manifest, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    out = tmp_path / "out"
    code = main(["batch", str(manifest), "--out", str(out), "--bundle", str(bundle)])
    assert code == 1
    table = list(csv.DictReader(open(out / "summary.csv")))
    assert [r["status"] for r in table] == ["ok", "failed"]
    assert "load study" in table[1]["error"]
    assert float(table[0]["model3_probability"]) > 0
    assert len(PdfReader(str(out / "good_1.pdf")).pages) == 2
    summary = PdfReader(str(out / "summary.pdf"))
    assert len(summary.pages) == 1
    assert "FAILED" in summary.pages[0].extract_text()


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_tty_and_lines_otherwise():
    tty, plain = _Tty(), io.StringIO()
    for stream in (tty, plain):
        p = ProgressPrinter(stream)
        for step, f in (("load study", 0.0), ("features", 0.3), ("features", 0.6), ("done", 1.0)):
            p(step, f)
    assert "\r" in tty.getvalue() and "#" in tty.getvalue()
    assert plain.getvalue().splitlines() == ["[  0%] load study", "[ 30%] features", "[100%] done"]
