"""De-identification of report text (DICOM PS3.15 Annex E basic profile in spirit).

With ``deidentify=True`` the report shows no patient name, ID, birth date, accession number, institution,
sample barcode, input path or study/report date; every free text that reaches the PDF (warnings, notes) is
passed through :class:`Redactor`, which replaces any of those strings with ``[removed]``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone

from tnbc_desktop.core.case import CaseResult

REMOVED = "[removed]"
DEIDENTIFIED = "de-identified"


class Redactor:
    """Replaces identifier strings (longest first) in text. With no identifiers it returns text unchanged."""

    def __init__(self, identifiers: Iterable[str] = ()):
        values: set[str] = set()
        for value in identifiers:
            s = str(value).strip()
            if len(s) >= 3:
                values.add(s)
                for part in re.split(r"[\^\s/\\_,]+", s):
                    if len(part) >= 4:
                        values.add(part)
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: object) -> str:
        out = "" if text is None else str(text)
        for value in self._values:
            if value in out:
                out = out.replace(value, REMOVED)
        return out


def identifier_strings(result: CaseResult) -> list[str]:
    """Every string in ``result`` that could identify the patient (for redaction and leak tests)."""
    values = list(result.study.identity.values())
    if result.study.identity.study_date:
        values.append(result.study.identity.study_date)
    inputs = result.inputs
    for v in (inputs.sample, inputs.case_label, getattr(result.mutation_panel, "sample", None)):
        if v:
            values.append(str(v))
    for paths in inputs.input_files().values():
        values.extend(str(p) for p in paths)
    return values


def make_redactor(result: CaseResult, deidentify: bool) -> Redactor:
    return Redactor(identifier_strings(result)) if deidentify else Redactor(())


def format_dicom_date(value: str) -> str:
    if re.fullmatch(r"\d{8}", value or ""):
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value or "-"


def identity_rows(result: CaseResult, deidentify: bool, now: datetime | None = None) -> list[tuple[str, str]]:
    """(label, value) rows for the report header; all identifiers replaced when ``deidentify``."""
    if deidentify:
        return [("Patient", DEIDENTIFIED), ("Study date", REMOVED), ("Report date", REMOVED)]
    ident = result.study.identity
    now = now or datetime.now(timezone.utc)
    return [
        ("Patient name", ident.patient_name.replace("^", " ").strip() or "-"),
        ("Patient ID", ident.patient_id or "-"),
        ("Birth date", format_dicom_date(ident.birth_date)),
        ("Study date", format_dicom_date(ident.study_date)),
        ("Accession", ident.accession_number or "-"),
        ("Case", result.inputs.case_label or "-"),
        ("Report date", now.strftime("%Y-%m-%d %H:%M UTC")),
    ]
