"""PDF report: exactly two pages, key text present, input text escaped, non-Latin names, de-identification,
atomic writes (a writer killed at random moments never leaves a partial file at the target path)."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from tnbc_desktop import DEMO_BUNDLE_NOTICE
from tnbc_desktop.core.report import write_report
from tests.builders import fake_case_result, pdf_text

CANARY = "ZZCANARY"










def test_report_has_exactly_two_pages_with_key_content(tmp_path):
    out = write_report(fake_case_result(), tmp_path / "r.pdf")
    n, text, meta = pdf_text(out)
    assert n == 2
    reader = PdfReader(str(out))
    for page in reader.pages:  # the notices are on every page
        t = page.extract_text()
        assert "Research use only" in t
        assert DEMO_BUNDLE_NOTICE in t
    for needle in ("Model 3", "PRM", "GPRM", "0.350", "non-pCR", "REL p.R123W", "Model card", "Quality checks",
                   "Limitations", "SHA-256", "ab" * 32, "TriggerTime", "pyradiomics", "DFS 3 y"):
        assert needle in text, needle
    assert CANARY in text  # identified report shows the identifiers
    # DFS at 3 y for the non-pCR group of PRM: step value at 36 months = 0.70 (curve above)
    assert "0.70 (0.60-0.80)" in text


def test_unavailable_model_shows_reason_and_non_demo_has_no_demo_notice(tmp_path):
    out = write_report(fake_case_result(demo=False, gprm_available=False), tmp_path / "r.pdf")
    n, text, _ = pdf_text(out)
    assert n == 2
    assert "not available: no mutation file given" in text
    assert DEMO_BUNDLE_NOTICE not in text


def test_markup_in_names_is_escaped_and_non_latin_rendered(tmp_path):
    name = "<fs>&<b>Żółć^Иванова"
    out = write_report(fake_case_result(name=name, warnings=("odd <i>tag</i> & more",)), tmp_path / "r.pdf")
    n, text, _ = pdf_text(out)
    assert n == 2
    assert "<fs>&<b>Żółć Иванова" in text
    assert "odd <i>tag</i> & more" in text


def test_deidentified_report_has_no_canary_in_text_or_metadata(tmp_path):
    res = fake_case_result(source=f"/data/{CANARY}_case", warnings=(f"file /data/{CANARY}_case/x unreadable",))
    out = write_report(res, tmp_path / "r.pdf", deidentify=True)
    n, text, meta = pdf_text(out)
    raw = out.read_bytes()
    assert n == 2
    assert "de-identified" in text
    assert CANARY not in text
    assert CANARY not in meta
    assert CANARY.encode() not in raw
    assert "1970" not in text and "2024-01-02" not in text


def test_many_warnings_still_two_pages(tmp_path):
    res = fake_case_result(warnings=tuple(f"warning number {i} " * 6 for i in range(30)))
    n, text, _ = pdf_text(write_report(res, tmp_path / "r.pdf"))
    assert n == 2


def test_pdftoppm_renders_two_pages(tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    out = write_report(fake_case_result(), tmp_path / "r.pdf")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(out), str(tmp_path / "pg")], check=True)
    assert len(sorted(tmp_path.glob("pg*.png"))) == 2


_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.builders import fake_case_result
from tnbc_desktop.core.report import write_report
res = fake_case_result()
target = Path(sys.argv[1])
print("ready", flush=True)
while True:
    write_report(res, target)
    print("wrote", flush=True)
"""


@pytest.mark.slow
def test_killed_writer_never_leaves_partial_pdf(tmp_path):
    """A writer loops rewriting the report; SIGKILL at random moments (20 times) spread over about two write
    durations (measured on the first, uninterrupted write, so the test adapts to a loaded machine). After
    every kill the target is either absent (no write finished yet) or a complete 2-page PDF."""
    target = tmp_path / "report.pdf"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.format(root=str(Path(__file__).resolve().parent.parent)))
    rng = random.Random(7)
    write_s = None
    for i in range(20):
        proc = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE,
                                env={**os.environ, "MPLBACKEND": "Agg"})
        assert proc.stdout.readline().strip() == b"ready"
        if write_s is None:  # first round: let one write complete, then kill during the second
            t0 = time.perf_counter()
            assert proc.stdout.readline().strip() == b"wrote"
            write_s = time.perf_counter() - t0
        time.sleep(rng.uniform(0.0, 2.0 * write_s))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert target.exists()  # the first round always finished one write
        assert len(PdfReader(str(target)).pages) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".pdf") and p != target]


def test_feature_count_and_registration_lines_come_from_the_bundle_and_the_run(tmp_path):
    """The limitations line is computed: the bundle's full feature count against the paper's 11,258, and the
    run's registration status (here set to values no constant in the code could print)."""
    from dataclasses import replace

    res = fake_case_result()
    res = replace(res, bundle=replace(res.bundle, full_feature_count=11_238),
                  qc=replace(res.qc, registration="rigid, test value 7"))
    _, text, _ = pdf_text(write_report(res, tmp_path / "a.pdf"))
    assert "(11,238 vs 11,258; SPEC 6)" in text and "registration between phases: rigid, test value 7" in text
    res = replace(res, bundle=replace(res.bundle, full_feature_count=11_258))
    _, text, _ = pdf_text(write_report(res, tmp_path / "b.pdf"))
    assert "as in the paper (11,258)" in text and "11,238" not in text


def test_one_km_figure_for_the_case_report_and_the_training_report():
    """The training report draws the bundle's reference curves with the case report's km figure: without a
    case every group is drawn bold and none is labelled 'this case'; with one only its group is."""
    from tests.builders import REFERENCE_CURVES
    from tnbc_desktop.core.report.figures import km_figure
    from tnbc_desktop.core.survival_group import reference_curves, survival_group

    block = {"cohort": "test cohort", "logrank_p": 0.02, "curves": REFERENCE_CURVES}
    no_case = km_figure(reference_curves("prm", block), "PRM")
    lines = no_case.axes[0].get_lines()
    steps = [ln for ln in lines if str(ln.get_label()).startswith("predicted")]
    assert len(steps) == 2 and all(ln.get_linewidth() == 2.2 for ln in steps)
    assert not any("this case" in str(ln.get_label()) for ln in lines)
    with_case = km_figure(survival_group("prm", "pCR", REFERENCE_CURVES, 0.02), "PRM")
    widths = {ln.get_label(): ln.get_linewidth() for ln in with_case.axes[0].get_lines()
              if str(ln.get_label()).startswith("predicted")}
    assert widths == {"predicted pCR (this case)": 2.2, "predicted non-pCR": 0.9}
