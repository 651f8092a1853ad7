"""Identifiers never leak.

1. The logging filter never writes DICOM values: a pydicom Dataset / element / PersonName logged as message or
   argument is withheld; a registered identifier is redacted from messages, f-strings and tracebacks.
2. Canary sweep: a synthetic patient whose every identifier holds ``ZZCANARY`` (DICOM layout) goes through the
   CLI flows (inspect, analyze --deidentify --pdf --json --dicom-out, batch --deidentify, history, demo --no-gui
   --deidentify) in subprocesses logging at DEBUG to files, and through the GUI (open, analyze, export with
   de-identification) with a DEBUG file handler. Every log, temp file (own TMPDIR), user-data file (history
   database, autosave, session), CSV, JSON and de-identified PDF (pypdf text + raw bytes + metadata) is
   grepped (DICOM objects as raw bytes): 0 hits required, and the count is printed.
"""
from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pydicom
import pytest

from tnbc_desktop.logsafe import DICOM_WITHHELD, REDACTED, get_logger, register_identifiers

CANARY = "ZZCANARY"


# ------------------------------------------------------------------------------------------------ log filter
@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "app.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("tnbc_desktop")
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()


def _dataset(name: str) -> pydicom.Dataset:
    ds = pydicom.Dataset()
    ds.PatientName = name
    ds.PatientID = name + "-ID"
    ds.InstitutionName = "Some Hospital " + name
    return ds


def test_logged_dicom_dataset_is_withheld_even_when_not_registered(log_file):
    name = f"{CANARY}^Unregistered^Person"
    ds = _dataset(name)
    log = get_logger("tnbc_desktop.test_ident")
    log.info(ds)
    log.info("header: %s", ds)
    log.debug("element %r and name %s", ds["PatientName"], ds.PatientName)
    log.warning("mapping %(d)s", {"d": ds})
    text = log_file.read_text(encoding="utf-8")
    assert CANARY not in text
    assert text.count(DICOM_WITHHELD) >= 5


def test_registered_identifier_is_redacted_in_messages_and_tracebacks(log_file):
    name = f"{CANARY}^Registered^Patient"
    register_identifiers([name, f"{CANARY}-REG-7"])
    log = get_logger("test_ident_two")
    log.info("loaded %s", name)
    log.info(f"f-string with {CANARY}-REG-7 inside")
    log.info("name parts: Registered Patient")
    try:
        raise ValueError(f"cannot parse /data/{CANARY}-REG-7/IM_0001")
    except ValueError:
        log.exception("failure while reading")
    text = log_file.read_text(encoding="utf-8")
    assert CANARY not in text and "Registered" not in text
    assert text.count(REDACTED) >= 4 and "ValueError" in text  # the traceback is kept, redacted


# ------------------------------------------------------------------------------------------------ canary sweep
def pdf_text_and_meta(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    meta = " ".join(f"{k}={v}" for k, v in (reader.metadata or {}).items())
    return text + " " + meta


def _inflated_streams(raw: bytes) -> bytes:
    """Raw PDF bytes plus every FlateDecode stream inflated (text hides inside compressed streams)."""
    out = [raw]
    start = 0
    while True:
        i = raw.find(b"stream", start)
        if i < 0:
            break
        j = raw.find(b"endstream", i)
        body = raw[i + 6:j].strip(b"\r\n")
        try:
            out.append(zlib.decompress(body))
        except zlib.error:
            pass
        start = j + 9 if j > 0 else i + 6
    return b"\n".join(out)


def count_hits(paths: list[Path], needles: list[str], pdf_paths: set[Path]) -> dict[str, int]:
    """Occurrences of any needle per file: raw bytes (UTF-8 and UTF-16 forms), plus PDF text/metadata."""
    hits = {}
    forms = [n.encode() for n in needles] + [n.encode("utf-16-be") for n in needles]
    for p in paths:
        raw = p.read_bytes()
        blob = _inflated_streams(raw) if p.suffix == ".pdf" else raw
        n = sum(blob.count(f) for f in forms)
        if p in pdf_paths:
            text = pdf_text_and_meta(p)
            n += sum(text.count(x) for x in needles)
        if n:
            hits[str(p)] = n
    return hits


def _files_under(*roots: Path) -> list[Path]:
    return sorted(p for r in roots if r.exists() for p in r.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def canary_case(tmp_path_factory):
    from tests.builders import make_test_bundle, write_small_patient

    root = tmp_path_factory.mktemp("canary")
    patient, files = write_small_patient(root / "inputs" / "p1", seed=8, layout="per-phase")
    assert CANARY in patient.study.identity.patient_name
    bundle = make_test_bundle(root / "inputs" / "bundle.json")
    return root, patient, files, bundle


def _cli(args: list[str], name: str, env: dict, logs: Path, cwd: Path) -> subprocess.CompletedProcess:
    with open(logs / f"{name}.log", "w") as err, open(logs / f"{name}.out", "w") as out:
        proc = subprocess.run([sys.executable, "-m", "tnbc_desktop", "-v", *args], stdout=out, stderr=err, env=env,
                              cwd=cwd, timeout=600)
    return proc


@pytest.mark.slow
def test_cli_flows_leave_no_canary(canary_case, capsys):
    root, patient, files, bundle = canary_case
    work = root / "cli"
    home, tmp, logs, out = work / "home", work / "tmp", work / "logs", work / "out"
    for d in (home, tmp, logs, out):
        d.mkdir(parents=True)
    env = {**os.environ, "TNBC_DESKTOP_HOME": str(home), "TMPDIR": str(tmp), "TEMP": str(tmp), "TMP": str(tmp),
           "MPLCONFIGDIR": str(work / "mpl"), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    ok = lambda p, name: (p.returncode == 0, (logs / f"{name}.log").read_text()[-800:])  # noqa: E731

    proc = _cli(["inspect", str(files.study), "--mask", str(files.mask)], "inspect", env, logs, work)
    assert proc.returncode == 0, (logs / "inspect.log").read_text()[-800:]
    proc = _cli(["analyze", "--study", str(files.study), "--mask", str(files.mask), "--maf", str(files.maf),
                 "--ki67", "30", "--lvi", "absent", "--bundle", str(bundle), "--deidentify",
                 "--pdf", str(out / "case.pdf"), "--json", str(out / "case.json"), "--dicom-out", str(out / "dicom")],
                "analyze", env, logs, work)
    assert ok(proc, "analyze")[0], ok(proc, "analyze")[1]
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["patient_id", "study", "mask", "ki67_percent", "lvi", "maf", "sample"])
        w.writerow([f"{CANARY}-P1", files.study, files.mask, "30", "absent", files.maf, patient.sample_id])
        w.writerow([f"{CANARY}-P2", files.study, work / "missing_mask.nii.gz", "10", "present", "", ""])
    proc = _cli(["batch", str(manifest), "--out", str(out / "batch"), "--bundle", str(bundle), "--deidentify"],
                "batch", env, logs, work)
    assert proc.returncode in (0, 1), (logs / "batch.log").read_text()[-800:]  # 1 = one patient failed
    proc = _cli(["history", "--json"], "history", env, logs, work)
    assert proc.returncode == 0
    proc = _cli(["demo", "--no-gui", "--deidentify", "--bundle", str(bundle), "--out", str(out / "demo")], "demo",
                env, logs, work)
    assert ok(proc, "demo")[0], ok(proc, "demo")[1]

    demo_inputs = out / "demo" / "patient"  # the demo's synthetic input files legitimately hold identifiers
    swept = [p for p in _files_under(logs, tmp, home, out)
             if demo_inputs not in p.parents and p != manifest and p.name != "inspect.out"]
    pdfs = {p for p in swept if p.suffix == ".pdf"}
    assert len([p for p in swept if p.suffix == ".dcm"]) == 3  # SEG, encapsulated PDF, SR
    assert len(pdfs) >= 4 and any(p.suffix == ".csv" for p in swept) and any(p.name == "history.log" or
                                                                               p.suffix == ".log" for p in swept)
    assert "step features done" in (logs / "analyze.log").read_text()  # DEBUG/INFO lines were written
    identity = patient.study.identity
    needles = [CANARY, identity.birth_date, f"{identity.birth_date[:4]}-{identity.birth_date[4:6]}-"
               f"{identity.birth_date[6:]}"]
    hits = count_hits(swept, needles, pdfs)
    with capsys.disabled():
        print(f"\ncanary sweep (CLI): {len(swept)} files ({len(pdfs)} PDFs) grepped, {sum(hits.values())} hits")
    assert hits == {}


@pytest.mark.gui
def test_gui_flow_leaves_no_canary(canary_case, qtbot, monkeypatch, tmp_path, log_file, capsys):
    from tnbc_desktop.gui import dialogs
    from tnbc_desktop.gui.app import create_window
    from tnbc_desktop.gui.session import SessionState

    root, patient, files, bundle = canary_case
    shown = []
    monkeypatch.setattr(dialogs, "show_message", lambda parent, kind, title, text: shown.append((kind, text)))
    monkeypatch.setattr(dialogs, "ask_yes_no", lambda *a: True)
    monkeypatch.setattr(dialogs, "ask_item", lambda parent, title, text, items: items[-1])
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    window, _ = create_window(None)
    qtbot.addWidget(window)
    window.show()
    state = SessionState(study_source=[str(files.study)], mask_path=str(files.mask), bundle_path=str(bundle),
                         maf_path=str(files.maf), ki67="30", lvi="absent", deidentify=True)
    with qtbot.waitSignal(window.caseLoaded, timeout=60_000):
        window.restore_state(state)
    with qtbot.waitSignal(window.analysisFinished, timeout=120_000):
        window.run_analysis()
    pdf = tmp_path / "gui_report.pdf"
    with qtbot.waitSignal(window.reportWritten, timeout=60_000):
        window.export_pdf(str(pdf))
    window.close()
    assert not [m for m in shown if m[0] == "error"], shown
    home = Path(os.environ["TNBC_DESKTOP_HOME"])
    swept = [log_file, pdf, *_files_under(tmp, home)]
    hits = count_hits(swept, [CANARY], {pdf})
    with capsys.disabled():
        print(f"\ncanary sweep (GUI): {len(swept)} files grepped, {sum(hits.values())} hits")
    assert "DEBUG" in log_file.read_text() or "INFO" in log_file.read_text()
    assert hits == {}
