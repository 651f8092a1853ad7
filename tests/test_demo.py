"""``tnbc-desktop demo --no-gui``: synthetic DICOM patient -> analysis -> two-page PDF; rendered with
pdftoppm; the patient is reused on a second run with the same seed."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from pypdf import PdfReader

from tests.builders import make_test_bundle
from tnbc_desktop import DEMO_BUNDLE_NOTICE
from tnbc_desktop.cli import main


@pytest.mark.slow
def test_demo_no_gui_writes_two_page_pdf(tmp_path, capsys):
    bundle = make_test_bundle(tmp_path / "bundle.json")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--no-gui", "--bundle", str(bundle)]) == 0
    stdout = capsys.readouterr().out
    assert "wrote the synthetic demo patient" in stdout
    pdf = out / "demo_report.pdf"
    assert str(pdf.resolve()) in stdout
    # the demo exercises the real DICOM path (one series per phase)
    assert (out / "patient" / "study" / "phase_00").is_dir()
    reader = PdfReader(str(pdf))
    assert len(reader.pages) == 2
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    for needle in ("Research use only", DEMO_BUNDLE_NOTICE, "Model 3", "PRM", "GPRM", "Model card",
                   "Quality checks", "Limitations", "phases at 0, 90, 180, 270, 360, 450 s"):
        assert needle in text, needle
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
        assert len(list(tmp_path.glob("page*.png"))) == 2
    # a second run with the same seed reuses the patient files; another seed makes a new patient
    from tnbc_desktop.cli.demo import DEMO_SEED, ensure_demo_patient

    files, reused = ensure_demo_patient(out, DEMO_SEED)
    assert reused and files.study == out / "patient" / "study"
    marker = (out / "demo_patient.json").read_text()
    assert str(DEMO_SEED) in marker


def test_demo_without_bundle_file_fails_plainly(tmp_path, capsys):
    code = main(["demo", "--out", str(tmp_path / "d"), "--no-gui", "--bundle", str(tmp_path / "absent.json")])
    assert code == 2
    err = capsys.readouterr().err
    assert "absent.json" in err and "Traceback" not in err
    assert not (tmp_path / "d" / "patient").exists()  # the bundle is checked before any work is done
