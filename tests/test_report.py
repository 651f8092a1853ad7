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
from types import SimpleNamespace

import numpy as np
import pytest
from pypdf import PdfReader

from tnbc_desktop import DEMO_BUNDLE_NOTICE
from tnbc_desktop.core.case import (BundleInfo, CaseInputs, CaseResult, CurveSummary, ModelPerformance,
                                    QualityChecks)
from tnbc_desktop.core.report import write_report
from tnbc_desktop.core.study import DCEStudy, Geometry, Mask, PatientIdentity, PhaseInfo
from tnbc_desktop.core.survival_group import survival_group

CANARY = "ZZCANARY"


def _reference_curves():
    t = [0.0, 6.0, 14.0, 30.0, 40.0, 70.0]
    return {
        "pCR": {"time_months": t, "survival": [1.0, 0.98, 0.96, 0.93, 0.93, 0.90],
                "ci_low": [1.0, 0.93, 0.9, 0.85, 0.85, 0.8], "ci_high": [1.0, 1.0, 0.99, 0.98, 0.98, 0.97],
                "at_risk": [40, 39, 36, 30, 22, 5]},
        "non-pCR": {"time_months": t, "survival": [1.0, 0.9, 0.8, 0.7, 0.65, 0.6],
                    "ci_low": [1.0, 0.82, 0.7, 0.6, 0.54, 0.48], "ci_high": [1.0, 0.96, 0.88, 0.8, 0.75, 0.72],
                    "at_risk": [60, 55, 47, 36, 27, 6]},
    }


def _prediction(model, available=True, p=0.42, group="pCR", reason=""):
    return SimpleNamespace(model=model, available=available, reason=reason, probability=p if available else None,
                           ci_low=p - 0.1 if available else None, ci_high=p + 0.1 if available else None,
                           linear_predictor=0.0, cutoff=0.31, group=group if available else None, warnings=())


def fake_case_result(name: str = f"{CANARY}^Alice", patient_id: str = f"{CANARY}-0001", sample=f"{CANARY}-T",
                     demo: bool = True, gprm_available: bool = True, warnings=("Ki-67 given as text",),
                     source: str = "/data/case") -> CaseResult:
    """A small hand-made CaseResult (6 phases of 8x48x48 at 2x0.7x0.7 mm, spherical tumour)."""
    shape = (8, 48, 48)
    zz, yy, xx = np.indices(shape)
    d = np.sqrt(((zz - 4) * 2.0) ** 2 + ((yy - 24) * 0.7) ** 2 + ((xx - 24) * 0.7) ** 2)
    tumour = d <= 7.0
    ring = (d > 7.0) & (d <= 12.0)
    times = (0.0, 90.0, 180.0, 270.0, 360.0, 450.0)
    data = np.full((6, *shape), 100.0, dtype=np.float32)
    labels = np.zeros(shape, np.uint8)
    labels[tumour & (d <= 3)] = 3
    labels[tumour & (d > 3) & (d <= 5)] = 2
    labels[tumour & (d > 5)] = 1
    for k, t in enumerate(times):
        data[k][labels == 3] += 150 * min(t, 90) / 90 - 0.1 * max(t - 90, 0)
        data[k][labels == 2] += 90 * min(t, 90) / 90
        data[k][labels == 1] += 0.15 * t
        data[k][ring] += 0.05 * t
    geom = Geometry(shape=shape, spacing_mm=(2.0, 0.7, 0.7))
    study = DCEStudy(data=data, phase_times_s=times, geometry=geom,
                     phases=tuple(PhaseInfo(i, t, "TriggerTime") for i, t in enumerate(times)),
                     layout="dicom-per-phase", timing_source="TriggerTime", source=source,
                     identity=PatientIdentity(patient_name=name, patient_id=patient_id, birth_date="19700101",
                                              study_date="20240102", accession_number=f"{CANARY}ACC"))
    mask = Mask(array=tumour, geometry=geom, source=f"{source}/mask.nii.gz")
    fr = np.array([np.count_nonzero(labels == k) for k in (1, 2, 3)], float) / tumour.sum()
    habitats = SimpleNamespace(labels=labels, fractions=fr, mode="population")
    curves = {}
    for region, sel in (("tumour", tumour), ("H1", labels == 1), ("H2", labels == 2), ("H3", labels == 3),
                        ("ring", ring)):
        m = data[:, sel].mean(axis=1)
        curves[region] = CurveSummary(region, times, tuple(map(float, m)), tuple([1.0] * 6), int(sel.sum()),
                                      "persistent")
    preds = {"model1": _prediction("model1"), "model2": _prediction("model2"),
             "model3": _prediction("model3", p=0.35), "prm": _prediction("prm", p=0.22, group="non-pCR"),
             "gprm": _prediction("gprm", available=gprm_available, p=0.5,
                                 reason="no mutation file given")}
    sgs = {m: survival_group(m, p.group, _reference_curves(), logrank_p=0.01)
           for m, p in preds.items() if p.available}
    panel = SimpleNamespace(sample=sample, vaf_sum=0.31, variants=(
        SimpleNamespace(gene="REL", protein_change="p.R123W", variant_class="Missense_Mutation", vaf=0.21,
                        nonsynonymous=True, used_by_model=True),
        SimpleNamespace(gene="MED23", protein_change="p.P394H", variant_class="Missense_Mutation", vaf=0.10,
                        nonsynonymous=True, used_by_model=True)))
    perf = tuple(ModelPerformance(m, (0.8, 0.7, 0.9), (0.75, 0.6, 0.88), 0.02, 0.95, 0.18, 0.31, 0.8, 0.7)
                 for m in ("model1", "model2", "model3", "prm", "gprm"))
    bundle = BundleInfo(name="demo-bundle", version="0.1", sha256="ab" * 32, is_demo=demo,
                        intended_use="demonstration", training_cohort="synthetic, n=140, pCR 40%",
                        performance=perf)
    qc = QualityChecks(phase_times_s=times, timing_source="TriggerTime", early_phase=1, late_phase=5,
                       habitat_mode="population", habitat_fractions=tuple(fr), habitat_volumes_ml=(0.5, 0.3, 0.1),
                       mask_volume_ml=mask.volume_ml, ring_volume_ml=0.9)
    inputs = CaseInputs(study_source=source, mask_path=f"{source}/mask.nii.gz", ki67="35", lvi="absent",
                        maf_path=f"{source}/mutations.maf", sample=sample)
    return CaseResult(inputs=inputs, study=study, mask=mask, kinetic_maps=None, habitats=habitats, ring=ring,
                      msi={}, features={}, mutation_panel=panel,
                      pathology=SimpleNamespace(ki67_high=True, lvi_present=False), predictions=preds,
                      survival_groups=sgs, curves=curves, qc=qc, bundle=bundle,
                      timings_s={"load": 0.1, "features": 1.0}, warnings=tuple(warnings), app_version="0.1.0")


def pdf_text(path: Path) -> tuple[int, str, str]:
    """(number of pages, text of all pages, metadata as text) read with pypdf."""
    reader = PdfReader(str(path))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    meta = " ".join(f"{k}={v}" for k, v in (reader.metadata or {}).items())
    return len(reader.pages), text, meta


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
from tests.test_report import fake_case_result
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
