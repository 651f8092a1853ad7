"""Cohort manifest: one CSV row per patient, validated up front with every problem listed by row.

Columns (``patient_id`` and ``study`` required; the rest optional unless a job needs them):
``patient_id, study, mask, mask2, phase_times_s, ki67_percent, lvi, maf, sample, pcr, dfs_months, dfs_event,
split``. Paths are relative to the manifest's folder (absolute paths are kept). ``phase_times_s`` is a
semicolon- or comma-separated list of seconds inside one cell (quoted). ``split`` is train / validation /
external. ``study`` is a DICOM folder, a 4D file, or several 3D files (one per phase, in time order)
separated by ``;`` in one cell. ``collection`` (optional) names the source collection of a public cohort; the
model card reports external performance per collection. Used by ``cohort extract``, ``train`` and ``batch``.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from tnbc_desktop.core.io.safe_files import MAX_TEXT_BYTES, read_bytes_limited
from tnbc_desktop.errors import InputError, summarise

COLUMNS = ("patient_id", "study", "mask", "mask2", "phase_times_s", "ki67_percent", "lvi", "maf", "sample",
           "pcr", "dfs_months", "dfs_event", "split", "collection")
SPLITS = ("train", "validation", "external")
_TRUE = {"1", "true", "yes", "y", "present"}
_FALSE = {"0", "false", "no", "n", "absent"}


@dataclass(frozen=True)
class ManifestRow:
    """One patient. Paths are absolute; optional values are None when the cell is empty."""

    row_number: int  # 1-based data row (header = row 0)
    patient_id: str
    study: Path | tuple[Path, ...]  # a folder or file, or one file per phase
    mask: Path | None
    mask2: Path | None
    phase_times_s: tuple[float, ...] | None
    ki67_percent: str | None  # raw text; parsed by core.io.clinical
    lvi: str | None
    maf: Path | None
    sample: str | None
    pcr: int | None
    dfs_months: float | None
    dfs_event: int | None
    split: str | None
    collection: str | None = None

    @property
    def study_text(self) -> str:
        """The study as one string (phase files joined by ';'), for worker tasks; see :func:`study_source`."""
        return ";".join(str(p) for p in self.study) if isinstance(self.study, tuple) else str(self.study)


def study_source(value) -> Path | list[Path]:
    """What ``load_study`` takes, from a path, a list of paths, or a ';'-joined string of phase files."""
    if isinstance(value, (list, tuple)):
        return [Path(p) for p in value]
    text = str(value)
    return [Path(p) for p in text.split(";") if p] if ";" in text else Path(text)


@dataclass(frozen=True)
class Manifest:
    path: Path
    rows: tuple[ManifestRow, ...]

    def by_split(self, split: str) -> tuple[ManifestRow, ...]:
        return tuple(r for r in self.rows if r.split == split)


def _flag(text: str, column: str, problems: list[str], row: int) -> int | None:
    t = text.strip().lower()
    if not t:
        return None
    if t in _TRUE:
        return 1
    if t in _FALSE:
        return 0
    problems.append(f"row {row}: {column} must be 0/1 (or yes/no), got {text!r}")
    return None


def _number(text: str, column: str, problems: list[str], row: int) -> float | None:
    t = text.strip()
    if not t:
        return None
    try:
        value = float(t)
    except ValueError:
        problems.append(f"row {row}: {column} must be a number, got {text!r}")
        return None
    if value != value or value < 0:
        problems.append(f"row {row}: {column} must be a non-negative number, got {text!r}")
        return None
    return value


def _times(text: str, problems: list[str], row: int) -> tuple[float, ...] | None:
    from tnbc_desktop.core.phase_times import parse_phase_times, validate_phase_times
    from tnbc_desktop.errors import TimingError

    try:
        values = parse_phase_times(text, "phase_times_s")
        if values is not None:
            validate_phase_times(values, source="phase_times_s")
    except TimingError as exc:
        problems.append(f"row {row}: phase_times_s: {exc.problem}")
        return None
    return values


def read_manifest(path: str | Path, require: tuple[str, ...] = (), check_files: bool = True) -> Manifest:
    """Read and validate a manifest; raises one :class:`InputError` listing every problem by row.

    ``require`` names optional columns that must be filled on every row for the job at hand (e.g. ``("mask",
    "pcr", "split")`` for training).
    """
    path = Path(path)
    raw = read_bytes_limited(path, MAX_TEXT_BYTES, InputError, "the manifest")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    try:  # one parse up front: a malformed CSV (NUL byte, stray carriage return...) is a plain InputError
        reader = csv.DictReader(io.StringIO(text, newline=""))
        fieldnames = reader.fieldnames
        records = list(reader)
    except csv.Error as exc:
        raise InputError(f"manifest is not a readable CSV file ({exc})", path) from None
    header = [h.strip().lower() for h in (fieldnames or [])]
    missing = [c for c in ("patient_id", "study", *require) if c not in header]
    if missing:
        raise InputError(f"manifest lacks required column(s): {', '.join(missing)} "
                         f"(has: {summarise(header, noun='column') or 'none'})", path)
    base = path.resolve().parent
    problems: list[str] = []
    rows: list[ManifestRow] = []
    seen: set[str] = set()

    def as_path(value: str, column: str, row: int) -> Path | None:
        v = value.strip()
        if not v:
            return None
        p = Path(v)
        p = p if p.is_absolute() else base / p
        if check_files and not p.exists():
            problems.append(f"row {row}: {column} not found: {v}")
        return p

    for i, rec in enumerate(records, start=1):
        rec = {(k or "").strip().lower(): (v or "") for k, v in rec.items()}
        pid = rec.get("patient_id", "").strip()
        if not pid:
            problems.append(f"row {i}: patient_id is empty")
        elif pid in seen:
            problems.append(f"row {i}: patient_id {pid!r} appears twice")
        seen.add(pid)
        for col in require:
            if not rec.get(col, "").strip():
                problems.append(f"row {i}: {col} is empty but required for this job")
        parts = [as_path(s, "study", i) for s in rec.get("study", "").split(";") if s.strip()]
        study = parts[0] if len(parts) == 1 else tuple(parts) if parts else None
        if study is None:
            problems.append(f"row {i}: study is empty")
        split = rec.get("split", "").strip().lower() or None
        if split is not None and split not in SPLITS:
            problems.append(f"row {i}: split must be one of {', '.join(SPLITS)}, got {split!r}")
        dfs = _number(rec.get("dfs_months", ""), "dfs_months", problems, i)
        rows.append(ManifestRow(
            row_number=i, patient_id=pid, study=study or base, mask=as_path(rec.get("mask", ""), "mask", i),
            mask2=as_path(rec.get("mask2", ""), "mask2", i),
            phase_times_s=_times(rec.get("phase_times_s", ""), problems, i),
            ki67_percent=rec.get("ki67_percent", "").strip() or None, lvi=rec.get("lvi", "").strip() or None,
            maf=as_path(rec.get("maf", ""), "maf", i), sample=rec.get("sample", "").strip() or None,
            pcr=_flag(rec.get("pcr", ""), "pcr", problems, i), dfs_months=dfs,
            dfs_event=_flag(rec.get("dfs_event", ""), "dfs_event", problems, i), split=split,
            collection=rec.get("collection", "").strip() or None,
        ))
    if not rows:
        problems.append("no patient rows")
    if problems:
        more = f" (+{len(problems) - 1} more, listed below)" if len(problems) > 1 else ""
        raise InputError(f"manifest has {len(problems)} problem(s): {problems[0]}{more}", path, details=problems)
    return Manifest(path=path, rows=tuple(rows))
