"""Case history: one SQLite row per analysis in the user data folder (``history.sqlite3``).

A row holds the time (UTC), OS user, app version, bundle name + SHA-256, SHA-256 of each input (file bytes;
for a folder, of its listing: relative path and size of every file), predictions (JSON), warnings, the report
path, and patient identifiers only when the user allows it (``store_identifiers=False`` by default).
"""
from __future__ import annotations

import getpass
import hashlib
import json
import math
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from tnbc_desktop.core.case import CaseInputs, CaseResult
from tnbc_desktop.errors import OutputError
from tnbc_desktop.paths import sha256_file, user_data_dir

DB_NAME = "history.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS analyses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_utc TEXT NOT NULL,
    os_user TEXT NOT NULL,
    app_version TEXT NOT NULL,
    bundle_name TEXT NOT NULL,
    bundle_sha256 TEXT NOT NULL,
    input_hashes TEXT NOT NULL,
    predictions TEXT NOT NULL,
    warnings TEXT NOT NULL,
    report_path TEXT,
    deidentified INTEGER NOT NULL,
    identifiers TEXT
)
"""
_COLUMNS = ("id", "created_utc", "os_user", "app_version", "bundle_name", "bundle_sha256", "input_hashes",
            "predictions", "warnings", "report_path", "deidentified", "identifiers")
_JSON_COLUMNS = ("input_hashes", "predictions", "warnings", "identifiers")


def path_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's listing (sorted relative paths and sizes)."""
    p = Path(path)
    if p.is_dir():
        h = hashlib.sha256()
        for f in sorted(q for q in p.rglob("*") if q.is_file()):
            h.update(f"{f.relative_to(p).as_posix()}\t{f.stat().st_size}\n".encode("utf-8"))
        return h.hexdigest()
    return sha256_file(p)


def input_hashes(inputs: CaseInputs) -> dict[str, str]:
    """{"study": sha, "mask": sha, "maf": sha} (a list of study files gets one combined hash).

    A mask given in memory and never saved to a file is recorded as such, not hashed.
    """
    out = {} if inputs.mask_path else {"mask": "not saved to a file (drawn or edited in memory)"}
    for name, paths in inputs.input_files().items():
        try:
            digests = [path_sha256(p) for p in paths]
        except OSError:
            digests = ["unreadable"]
        out[name] = digests[0] if len(digests) == 1 else hashlib.sha256("".join(digests).encode()).hexdigest()
    return out


def recorded_inputs(result: CaseResult) -> dict[str, str]:
    """The input hashes plus the phase times that were analysed and their source (a user may edit them)."""
    out = input_hashes(result.inputs)
    times = ", ".join(f"{t:g}" for t in result.study.phase_times_s)
    out["phase_times_s"] = f"{times} ({result.study.timing_source})"
    out["mask_provenance"] = result.qc.mask_provenance
    return out


def finite_or_none(value: Any) -> float | None:
    """``float(value)`` when finite, else None (JSON has no NaN/Inf)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def predictions_json(result: CaseResult) -> dict[str, dict]:
    """Plain-JSON predictions: model -> available, reason, status, probability, CI, cutoff, group.

    ``status`` and ``group`` come from :func:`tnbc_desktop.core.prediction_status.prediction_display`: group is
    "pCR" / "non-pCR" only for a recommendation, "uncertain" when the CI straddles the cutoff, else None; the
    point estimate's own side of the cutoff is ``point_estimate_group``.
    """
    from tnbc_desktop.core.prediction_status import prediction_display

    out = {}
    for name, p in result.predictions.items():
        shown = prediction_display(name, p, getattr(result, "intended_use", None))
        out[name] = {"available": bool(getattr(p, "available", False)), "reason": str(getattr(p, "reason", "") or ""),
                     "status": shown.status.value, "ci_uninformative": shown.ci_uninformative,
                     "probability": finite_or_none(getattr(p, "probability", None)),
                     "ci_low": finite_or_none(getattr(p, "ci_low", None)),
                     "ci_high": finite_or_none(getattr(p, "ci_high", None)),
                     "cutoff": finite_or_none(getattr(p, "cutoff", None)),
                     "group": shown.group, "point_estimate_group": shown.point_group or None}
    return out


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers); record that plainly
        return "unknown"


class CaseStore:
    """The case-history database (created on first use)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else user_data_dir() / DB_NAME
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as con, con:
                con.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"the case history cannot be opened ({exc})", self.path) from exc

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10.0)

    def record(self, result: CaseResult, report_path: str | Path | None = None, store_identifiers: bool = False,
               deidentified: bool | None = None) -> int:
        """Add one analysis; returns its row id. Identifiers are stored only with ``store_identifiers``."""
        ident = None
        if store_identifiers:
            i = result.study.identity
            ident = json.dumps({"patient_name": i.patient_name, "patient_id": i.patient_id,
                                "study_date": i.study_date, "accession_number": i.accession_number,
                                "sample": result.inputs.sample or ""})
        row = (result.created_utc, _os_user(), result.app_version, result.bundle.name, result.bundle.sha256,
               json.dumps(recorded_inputs(result), sort_keys=True), json.dumps(predictions_json(result)),
               json.dumps(list(result.warnings)), None if report_path is None else str(report_path),
               int(result.inputs.deidentify if deidentified is None else deidentified), ident)
        try:
            with closing(self._connect()) as con, con:
                cur = con.execute(f"INSERT INTO analyses ({', '.join(_COLUMNS[1:])}) VALUES "
                                  f"({', '.join('?' * (len(_COLUMNS) - 1))})", row)
                return int(cur.lastrowid)
        except sqlite3.Error as exc:
            raise OutputError(f"the analysis could not be added to the case history ({exc})", self.path) from exc

    def set_report_path(self, row_id: int, report_path: str | Path) -> None:
        """Name the report written for analysis ``row_id`` after it was recorded (e.g. exported from the GUI)."""
        try:
            with closing(self._connect()) as con, con:
                cur = con.execute("UPDATE analyses SET report_path = ? WHERE id = ?", (str(report_path), int(row_id)))
        except sqlite3.Error as exc:
            raise OutputError(f"the report could not be added to the case history ({exc})", self.path) from exc
        if cur.rowcount != 1:
            raise OutputError(f"the case history has no analysis #{int(row_id)}", self.path)

    def list(self, limit: int | None = 50) -> list[dict]:
        """The most recent analyses first (JSON columns decoded)."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM analyses ORDER BY id DESC"
        params: tuple = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (int(limit),)
        try:
            with closing(self._connect()) as con:
                rows = con.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise OutputError(f"the case history cannot be read ({exc})", self.path) from exc
        out = []
        for r in rows:
            d = dict(zip(_COLUMNS, r))
            for key in _JSON_COLUMNS:
                d[key] = json.loads(d[key]) if d[key] else None
            d["deidentified"] = bool(d["deidentified"])
            out.append(d)
        return out
