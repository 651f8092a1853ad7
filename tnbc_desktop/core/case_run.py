"""Analyse -> report -> record: the one path every front end (CLI analyze, batch, demo, GUI) takes for a case.

:func:`analyze_report_record` runs :func:`tnbc_desktop.core.pipeline.analyze_case`, writes the PDF report when
asked, and adds the analysis to the case history (the audit log). A history that cannot be written does not
fail the analysis: the problem is returned as ``history_warning`` for the caller to show. A report written
later (the GUI's "Export PDF") is attached to the same history row with :func:`attach_report`. With
``dicom_out`` the results also go back as DICOM (SEG, encapsulated PDF report, SR; :func:`write_dicom_export`).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tnbc_desktop.core.case import CaseInputs, CaseResult
from tnbc_desktop.core.study import DCEStudy, Mask
from tnbc_desktop.errors import OutputError

if TYPE_CHECKING:
    from tnbc_desktop.core.dicom_export.export import DicomExport


@dataclass(frozen=True, eq=False)
class RecordedAnalysis:
    """One analysis with where its report went and its row in the case history (None when not recorded)."""

    result: CaseResult
    report_path: Path | None
    history_id: int | None
    history_warning: str = ""
    dicom: "DicomExport | None" = None


def analyze_report_record(inputs: CaseInputs, bundle: Any = None, *, progress=None, cancel=None, n_jobs: int = 1,
                          study: DCEStudy | None = None, mask: Mask | None = None,
                          pdf: str | Path | None = None, record: bool = True, store_identifiers: bool = False,
                          history_path: str | Path | None = None,
                          dicom_out: str | Path | None = None) -> RecordedAnalysis:
    """Analyse one case, write its PDF to ``pdf`` (if given), its DICOM objects into the folder ``dicom_out``
    (if given) and record it in the case history (if ``record``).

    ``study`` / ``mask`` / ``bundle`` / ``progress`` / ``cancel`` / ``n_jobs`` go to ``analyze_case``;
    ``inputs.deidentify`` decides the report's de-identification; ``history_path`` overrides the history file.
    """
    from tnbc_desktop.core.pipeline import analyze_case

    result = analyze_case(inputs, bundle, progress=progress, cancel=cancel, n_jobs=n_jobs, study=study, mask=mask)
    report = write_case_report(result, pdf) if pdf is not None else None
    dicom = write_dicom_export(result, report, dicom_out) if dicom_out is not None else None
    history_id, warning = None, ""
    if record:
        history_id, warning = record_in_history(result, report, store_identifiers, history_path)
    return RecordedAnalysis(result, report, history_id, warning, dicom)


def write_dicom_export(result: CaseResult, report: str | Path | None, out_dir: str | Path,
                       deidentify: bool | None = None) -> "DicomExport":
    """SEG, encapsulated PDF and SR of ``result`` in ``out_dir``, de-identified when ``deidentify`` (by default
    when its inputs ask for it).

    ``report``: the PDF already written for ``result`` (with the same de-identification); None writes it to a
    temporary file first."""
    from tnbc_desktop.core.dicom_export.export import export_case_dicom

    if report is not None:
        return export_case_dicom(result, report, out_dir, deidentify)
    with tempfile.TemporaryDirectory(prefix="tnbc-report-") as tmp:
        pdf = write_case_report(result, Path(tmp) / "report.pdf", deidentify)
        return export_case_dicom(result, pdf, out_dir, deidentify)


def write_case_report(result: CaseResult, pdf: str | Path, deidentify: bool | None = None) -> Path:
    """The two-page PDF for ``result`` (de-identified when ``deidentify``, by default when its inputs ask)."""
    from tnbc_desktop.core.report import write_report

    deid = result.inputs.deidentify if deidentify is None else deidentify
    return Path(write_report(result, pdf, deidentify=deid))


def record_in_history(result: CaseResult, report: Path | None, store_identifiers: bool = False,
                      history_path: str | Path | None = None) -> tuple[int | None, str]:
    """(row id, "") after adding ``result`` to the case history, or (None, the problem) when it cannot."""
    from tnbc_desktop.core.store import CaseStore

    try:
        row = CaseStore(history_path).record(result, report_path=report, store_identifiers=store_identifiers)
    except OutputError as exc:
        return None, str(exc)
    return row, ""


def attach_report(history_id: int | None, report: str | Path, history_path: str | Path | None = None) -> str:
    """Name ``report`` as the report of history row ``history_id``; returns "" or the problem (never raises)."""
    from tnbc_desktop.core.store import CaseStore

    if history_id is None:
        return "the analysis is not in the case history, so the report could not be attached to it"
    try:
        CaseStore(history_path).set_report_path(history_id, report)
    except OutputError as exc:
        return str(exc)
    return ""
