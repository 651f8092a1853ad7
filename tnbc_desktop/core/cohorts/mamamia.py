"""MAMA-MIA (Garrucho et al., Sci Data 2025; Synapse syn60868042) -> the app's cohort manifest.

The download's layout (MAMA-MIA repository and the projects that read it)::

    ROOT/images/<id>/<id>_0000.nii.gz, <id>_0001.nii.gz, ...   one 3D file per DCE phase, pre-contrast first
    ROOT/segmentations/expert/<id>.nii.gz                       expert tumour segmentation
    ROOT/patient_info_files/<id>.json                           per-patient imaging facts (not needed here)
    ROOT/clinical_and_imaging_info.xlsx                         harmonised clinical table, sheet 'dataset_info'

Ids in paths are often lower case (``duke_002``) while the table has ``DUKE_002``: ids are matched
case-insensitively. Per patient of the chosen subtype (``tumor_subtype``):

- study = the phase files in index order; mask = the expert segmentation;
- phase times = ``acquisition_times`` (seconds from the pre-contrast, one per phase file);
- pcr = ``pcr`` (1 = pCR);
- DFS, rule [D] (the table gives days, 0 meaning "no such event", empty meaning "not recorded"):
  event = 1 when any of days_to_recurrence, days_to_metastasis, days_to_death is > 0; its time is the smallest
  of those that are > 0; without an event the patient is censored at days_to_follow_up. A recurrence and a
  death are both DFS events (disease-free survival: recurrence or death from any cause); fields that are not
  recorded (NACT has no days_to_death) count as no event. No event and no follow-up -> DFS unknown (blank).
  Months = days / 30.4375;
- split = ``external`` for the named collections (``dataset``), else train / validation 7:3 stratified by pCR
  with a fixed seed (:data:`SPLIT_SEED`);
- collection = ``dataset``.

A patient is left out, with the reason, when its phase files or mask are missing, its pCR is unknown, or its
phase times are missing or do not match its phase files; the summary counts them per collection, they are
listed in ``<manifest>_left_out.csv``, and ``strict`` makes any left-out patient an error.
"""
from __future__ import annotations

import ast
import csv
import io
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tnbc_desktop.core.io.atomic import write_text_atomic
from tnbc_desktop.errors import InputError

CLINICAL_FILE = "clinical_and_imaging_info.xlsx"
CLINICAL_SHEET = "dataset_info"
REQUIRED_COLUMNS = ("patient_id", "dataset", "tumor_subtype", "pcr", "acquisition_times", "days_to_follow_up",
                    "days_to_recurrence", "days_to_death")
COLLECTIONS = ("DUKE", "ISPY1", "ISPY2", "NACT")
SPLIT_SEED = 2025  # [D] fixed, so the same download gives the same manifest
DAYS_PER_MONTH = 30.4375
MANIFEST_COLUMNS = ("patient_id", "study", "mask", "phase_times_s", "pcr", "dfs_months", "dfs_event", "split",
                    "collection")
_PHASE_FILE = re.compile(r"^(?P<id>.+)_(?P<k>\d{4})\.nii(?:\.gz)?$", re.IGNORECASE)


@dataclass(frozen=True)
class ClinicalRecord:
    """One row of the clinical table, parsed."""

    patient_id: str
    collection: str
    pcr: int | None
    phase_times_s: tuple[float, ...] | None
    dfs_months: float | None
    dfs_event: int | None


@dataclass(frozen=True)
class LeftOut:
    patient_id: str
    collection: str
    reason: str


@dataclass(frozen=True)
class MamaMiaManifest:
    """What :func:`build_manifest` wrote: the manifest, its rows' ids, and the patients left out."""

    path: Path
    patient_ids: tuple[str, ...]
    splits: dict[str, str]
    left_out: tuple[LeftOut, ...]
    n_selected: int
    per_collection: dict[str, int]

    @property
    def left_out_path(self) -> Path:
        """``<manifest>_left_out.csv``: every left-out patient with its reason (written when any is)."""
        return self.path.with_name(self.path.stem + "_left_out.csv")

    def summary_lines(self, max_listed: int = 20) -> list[str]:
        """Human summary: rows per collection, then the left-out patients with their reasons."""
        lines = [f"{len(self.patient_ids)} of {self.n_selected} patients in the manifest ("
                 + ", ".join(f"{c} {n}" for c, n in sorted(self.per_collection.items())) + ")"]
        splits = Counter(self.splits.values())
        lines.append("split: " + ", ".join(f"{s} {splits[s]}" for s in ("train", "validation", "external")))
        if self.left_out:
            by = Counter(x.collection for x in self.left_out)
            lines.append(f"{len(self.left_out)} left out (" + ", ".join(f"{c} {n}" for c, n in sorted(by.items()))
                         + "):")
            lines += [f"  {x.patient_id} ({x.collection}): {x.reason}" for x in self.left_out[:max_listed]]
            if len(self.left_out) > max_listed:
                lines.append(f"  ... {len(self.left_out) - max_listed} more in {self.left_out_path}")
        return lines


# ---------------------------------------------------------------- the clinical table

def _float(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def parse_times(text) -> tuple[float, ...] | None:
    """``"[0, 165, 288, 411]"`` -> (0.0, 165.0, 288.0, 411.0); None when empty or not a list of numbers."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    try:
        values = ast.literal_eval(str(text).strip())
    except (ValueError, SyntaxError):
        return None
    if not isinstance(values, (list, tuple)) or not values:
        return None
    out = [_float(v) for v in values]
    return None if any(v is None for v in out) else tuple(out)


def dfs_from_days(follow_up, recurrence, death, metastasis=None) -> tuple[float | None, int | None]:
    """(DFS months, event) by the rule in the module docstring; (None, None) when unknown."""
    events = [d for d in (_float(recurrence), _float(metastasis), _float(death)) if d is not None and d > 0]
    if events:
        return min(events) / DAYS_PER_MONTH, 1
    fu = _float(follow_up)
    if fu is None or fu <= 0:
        return None, None
    return fu / DAYS_PER_MONTH, 0


def read_clinical_table(path: str | Path):
    """The 'dataset_info' sheet as a DataFrame (InputError naming the file when unusable)."""
    import pandas as pd

    path = Path(path)
    try:
        df = pd.read_excel(path, sheet_name=CLINICAL_SHEET)
    except FileNotFoundError:
        raise InputError("the MAMA-MIA clinical table is missing; give it with --clinical", path) from None
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise InputError(f"cannot read sheet '{CLINICAL_SHEET}' of the clinical table ({type(exc).__name__}: "
                         f"{str(exc)[:120]})", path) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"the clinical table lacks column(s) {', '.join(missing)}", path)
    return df[df["patient_id"].notna()]


def clinical_records(df, subtype: str | None = "triple_negative") -> list[ClinicalRecord]:
    """Parsed records of the rows of ``subtype`` (None = every row), in table order."""
    rows = df if subtype is None else df[df["tumor_subtype"].astype(str).str.lower() == subtype.lower()]
    out = []
    for r in rows.itertuples(index=False):
        pcr = _float(r.pcr)
        months, event = dfs_from_days(r.days_to_follow_up, r.days_to_recurrence, r.days_to_death,
                                      getattr(r, "days_to_metastasis", None))
        out.append(ClinicalRecord(str(r.patient_id).strip(), str(r.dataset).strip().upper(),
                                  None if pcr is None else int(pcr), parse_times(r.acquisition_times), months, event))
    return out


# ---------------------------------------------------------------- the image tree

def _index_tree(root: Path) -> tuple[dict[str, list[Path]], dict[str, Path]]:
    """Phase files per lower-case id (sorted by phase index) and expert masks per lower-case id."""
    phases: dict[str, list[tuple[int, Path]]] = {}
    images = root / "images"
    if images.is_dir():
        for folder in images.iterdir():
            if not folder.is_dir():
                continue
            for f in folder.iterdir():
                m = _PHASE_FILE.match(f.name)
                if m and m.group("id").lower() == folder.name.lower():
                    phases.setdefault(folder.name.lower(), []).append((int(m.group("k")), f))
    masks = {}
    expert = root / "segmentations" / "expert"
    if expert.is_dir():
        for f in expert.iterdir():
            name = f.name.lower()
            for ext in (".nii.gz", ".nii"):
                if name.endswith(ext):
                    masks[name[: -len(ext)]] = f
    return {k: [p for _, p in sorted(v)] for k, v in phases.items()}, masks


def _problem(rec: ClinicalRecord, files: list[Path] | None, mask: Path | None) -> str:
    if not files:
        return "no phase images (images/<id>/<id>_0000.nii.gz, ...)"
    indices = [int(_PHASE_FILE.match(f.name).group("k")) for f in files]
    if indices != list(range(len(files))):
        found = ", ".join(f"{i:04d}" for i in indices)
        return f"phase files are not numbered 0000..{len(files) - 1:04d} (found {found})"
    if mask is None:
        return "no expert segmentation (segmentations/expert/<id>.nii.gz)"
    if rec.pcr is None:
        return "pCR unknown in the clinical table"
    if rec.phase_times_s is None:
        return "acquisition_times missing in the clinical table"
    if len(rec.phase_times_s) != len(files):
        return f"{len(files)} phase files but {len(rec.phase_times_s)} acquisition times"
    if any(b <= a for a, b in zip(rec.phase_times_s, rec.phase_times_s[1:])):
        return "acquisition_times do not increase"
    return ""


# ---------------------------------------------------------------- the manifest

def build_manifest(root: str | Path, out: str | Path, *, subtype: str | None = "triple_negative",
                   external: Sequence[str] = ("DUKE", "ISPY1"), clinical: str | Path | None = None,
                   strict: bool = False, seed: int = SPLIT_SEED) -> MamaMiaManifest:
    """Write the manifest for the MAMA-MIA download at ``root`` (see the module docstring); paths in it are
    relative to the manifest's folder when they lie below it, else absolute."""
    import numpy as np

    from tnbc_desktop.core.synthetic.cohort import stratified_split

    root, out = Path(root), Path(out)
    if not (root / "images").is_dir():
        raise InputError("is not a MAMA-MIA download: it has no images/ folder", root)
    external = tuple(c.strip().upper() for c in external if c.strip())
    unknown = [c for c in external if c not in COLLECTIONS]
    if unknown:
        raise InputError(f"unknown collection(s) {', '.join(unknown)} for --external; MAMA-MIA has "
                         f"{', '.join(COLLECTIONS)}")
    records = clinical_records(read_clinical_table(Path(clinical) if clinical else root / CLINICAL_FILE), subtype)
    if not records:
        raise InputError(f"no patient of subtype {subtype!r} in the clinical table")
    phases, masks = _index_tree(root)
    kept, left = [], []
    for rec in records:
        key = rec.patient_id.lower()
        why = _problem(rec, phases.get(key), masks.get(key))
        (left.append(LeftOut(rec.patient_id, rec.collection, why)) if why else kept.append(rec))
    if strict and left:
        shown = "; ".join(f"{x.patient_id}: {x.reason}" for x in left[:5])
        raise InputError(f"{len(left)} patient(s) cannot be used (--strict): {shown}"
                         + (f" (+{len(left) - 5} more)" if len(left) > 5 else ""), root)
    if not kept:
        why = Counter(x.reason for x in left).most_common(1)[0][0]
        raise InputError(f"none of the {len(records)} patients of the clinical table can be used (most often: "
                         f"{why}); is this the root of the MAMA-MIA download?", root)
    internal = [r for r in kept if r.collection not in external]
    split = dict(zip([r.patient_id for r in internal],
                     stratified_split(np.array([r.pcr == 1 for r in internal]), seed) if internal else []))
    split.update({r.patient_id: "external" for r in kept if r.collection in external})
    _write(out, kept, split, phases, masks)
    result = MamaMiaManifest(out, tuple(r.patient_id for r in kept), split, tuple(left), len(records),
                             dict(Counter(r.collection for r in kept)))
    if left:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(("patient_id", "collection", "reason"))
        w.writerows((x.patient_id, x.collection, x.reason) for x in left)
        write_text_atomic(result.left_out_path, buf.getvalue())
    return result


def _write(out: Path, kept: list[ClinicalRecord], split: dict[str, str], phases, masks) -> None:
    base = out.resolve().parent

    def rel(p: Path) -> str:
        p = p.resolve()
        return p.relative_to(base).as_posix() if p.is_relative_to(base) else str(p)

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(MANIFEST_COLUMNS)
    for r in kept:
        key = r.patient_id.lower()
        w.writerow([r.patient_id, ";".join(rel(p) for p in phases[key]), rel(masks[key]),
                    ";".join(f"{t:g}" for t in r.phase_times_s), r.pcr,
                    "" if r.dfs_months is None else f"{r.dfs_months:.3f}",
                    "" if r.dfs_event is None else r.dfs_event, split[r.patient_id], r.collection])
    write_text_atomic(out, buf.getvalue())


__all__ = ["build_manifest", "MamaMiaManifest", "LeftOut", "ClinicalRecord", "read_clinical_table",
           "clinical_records", "dfs_from_days", "parse_times", "COLLECTIONS", "SPLIT_SEED", "CLINICAL_FILE"]
