"""Low-level reading of mutation files: bytes -> text -> a string table with canonical column names.

Handles what real MAF files contain (SPEC section 9, maftools conventions): gzip or plain text whatever the
suffix, ``#`` comment/version lines, LF / CRLF / bare-CR line endings, UTF-8 (with or without BOM) or latin-1,
tab separation (comma accepted when the header has no tab), column names matched case-insensitively. Two
formats are recognised by their header: a MAF (maftools' nine required columns) and the app's simple CSV
panel (``gene, protein_change, variant_class, vaf``, one patient). Every failure is a
:class:`~tnbc_desktop.errors.MutationFileError` naming the file and the problem.

Everything is parsed as text (``dtype=str``); numbers are converted explicitly in :func:`parse_vaf`.
"""
from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tnbc_desktop.core.io.safe_files import open_regular
from tnbc_desktop.errors import MutationFileError, summarise

#: maftools ``validateMaf`` required columns, in its order.
MAF_REQUIRED_COLUMNS = (
    "Hugo_Symbol",
    "Chromosome",
    "Start_Position",
    "End_Position",
    "Reference_Allele",
    "Tumor_Seq_Allele2",
    "Variant_Classification",
    "Variant_Type",
    "Tumor_Sample_Barcode",
)
#: Optional MAF columns the app uses, canonical spelling.
MAF_OPTIONAL_COLUMNS = ("t_vaf", "t_alt_count", "t_ref_count", "HGVSp_Short", "Protein_Change", "Amino_Acid_Change")
#: Protein-change columns in order of preference.
PROTEIN_CHANGE_COLUMNS = ("HGVSp_Short", "Protein_Change", "Amino_Acid_Change")
#: The simple one-patient CSV panel format.
PANEL_COLUMNS = ("gene", "protein_change", "variant_class", "vaf")
#: maftools' duplicate key (Chromosome:Start_Position:Tumor_Sample_Barcode:Reference_Allele:Tumor_Seq_Allele2).
DUPLICATE_KEY = ("Chromosome", "Start_Position", "Tumor_Sample_Barcode", "Reference_Allele", "Tumor_Seq_Allele2")

_MAX_BYTES = 2 * 1024**3
_BINARY_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an old Office document (an Excel .xls workbook?)",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"DICM": "a DICOM file",
}


@dataclass(frozen=True)
class RawTable:
    """A parsed mutation file. ``table`` holds strings only, columns renamed to canonical spellings.

    ``kind`` is ``"maf"`` or ``"panel"``; ``n_rows_read`` counts data rows before duplicate removal.
    """

    source: Path
    kind: str
    table: pd.DataFrame
    n_rows_read: int
    n_duplicates_dropped: int


def read_text(path: str | Path) -> str:
    """The file's text with line endings normalised to ``\\n``. gzip detected by its magic bytes."""
    p = Path(path)
    try:
        if not p.exists():
            raise MutationFileError("file not found", p)
        if p.is_dir():
            raise MutationFileError("is a folder, not a mutation file (.maf, .maf.gz, .tsv or .csv)", p)
        with open_regular(p, MutationFileError) as fh:
            data = fh.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise MutationFileError(f"cannot be read ({exc.strerror or exc})", p) from None
    if len(data) > _MAX_BYTES:
        raise MutationFileError("is larger than 2 GB; not a mutation panel the app can read", p)
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise MutationFileError(f"is a damaged or truncated gzip file ({exc})", p) from None
    if not data.strip():
        raise MutationFileError("is empty", p)
    for magic, what in _BINARY_SIGNATURES.items():
        if data.startswith(magic):
            raise MutationFileError(f"is {what}, not a tab-separated MAF or CSV mutation panel", p)
    if b"\x00" in data[:65536]:
        raise MutationFileError("is a binary file (contains NUL bytes), not a tab-separated MAF or CSV panel", p)
    text = _decode(data)
    if _control_fraction(text[:65536]) > 0.01:
        raise MutationFileError("is a binary file (many control characters), not a MAF or CSV panel", p)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes) -> str:
    """UTF-8 (BOM stripped), else latin-1 (which decodes any byte string)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _control_fraction(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return bad / len(text)


def _strip_comments(text: str, source: Path) -> list[str]:
    """Non-blank lines that are not ``#`` comment / version lines."""
    lines = [ln for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        if "##fileformat=VCF" in text[:200]:
            raise MutationFileError("is a VCF with no variants; the app reads MAF files (convert with vcf2maf)", source)
        raise MutationFileError("has no header line (only comments or blank lines)", source)
    if text.lstrip().startswith("##fileformat=VCF"):
        raise MutationFileError("is a VCF file, not a MAF; convert it to MAF first (e.g. with vcf2maf)", source)
    return lines


def _split_header(header: str) -> tuple[str, list[str]]:
    """Separator and column names; trailing empty names dropped, inner empty ones named ``column_<n>``."""
    sep = "\t" if "\t" in header else ","
    names = [h.strip().strip('"').strip() for h in header.split(sep)]
    while names and not names[-1]:
        names.pop()
    return sep, [n or f"column_{i + 1}" for i, n in enumerate(names)]


def _canonical_names(names: list[str], wanted: tuple[str, ...]) -> list[str]:
    """Rename columns whose lower-case form matches a wanted name; the first match wins."""
    lookup = {w.lower(): w for w in wanted}
    seen: set[str] = set()
    out = []
    for n in names:
        canon = lookup.get(n.lower())
        if canon is not None and canon not in seen:
            seen.add(canon)
            out.append(canon)
        else:
            out.append(n)
    return out


def read_table(path: str | Path) -> RawTable:
    """Read a MAF or simple CSV panel into a string table; MAF duplicates dropped as maftools does."""
    source = Path(path)
    lines = _strip_comments(read_text(source), source)
    sep, names = _split_header(lines[0])
    lower = {n.lower() for n in names}
    if all(c in lower for c in PANEL_COLUMNS) and "hugo_symbol" not in lower:
        kind, wanted = "panel", PANEL_COLUMNS
    else:
        kind, wanted = "maf", MAF_REQUIRED_COLUMNS + MAF_OPTIONAL_COLUMNS
    names = _canonical_names(names, wanted)
    if kind == "maf":
        missing = [c for c in MAF_REQUIRED_COLUMNS if c not in names]
        if missing:
            raise MutationFileError(
                f"is not a MAF: missing required column(s) {summarise(missing, 4, 'column')} (found: "
                f"{summarise(names, 4, 'column')}). "
                f"A simple panel needs the header '{', '.join(PANEL_COLUMNS)}'",
                source,
            )
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise MutationFileError(f"has repeated column name(s): {', '.join(dup)}", source)
    table = _parse_rows(lines[1:], sep, names, source, keep=set(wanted))
    n_read = len(table)
    n_dups = 0
    if kind == "maf" and n_read:
        keep = ~table.duplicated(subset=list(DUPLICATE_KEY), keep="first")
        n_dups = int((~keep).sum())
        if n_dups:
            table = table.loc[keep].reset_index(drop=True)
    return RawTable(source, kind, table, n_read, n_dups)


def _parse_rows(rows: list[str], sep: str, names: list[str], source: Path, keep=None) -> pd.DataFrame:
    """All cells as stripped strings ('' when empty or when a short row ends early).

    A row longer than the header is accepted only when the extra trailing cells are empty. ``keep``: the only
    columns to return from a tab-separated file (None = all).
    """
    if not rows:
        return pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
    if sep == "\t":
        rows = _trim_long_tab_rows(rows, len(names), source)
        try:
            frame = pd.read_csv(
                io.StringIO("\n".join(rows)), sep="\t", header=None, names=names, index_col=False, dtype=str,
                keep_default_na=False, na_filter=False, quoting=csv.QUOTE_NONE, engine="c",
                usecols=[n for n in names if n in keep] if keep else None,
            )
        except (pd.errors.ParserError, ValueError, UnicodeError) as exc:
            raise MutationFileError(f"cannot be parsed as a tab-separated table ({_short(exc)})", source) from None
    else:
        frame = _read_comma_rows(rows, names, source)
    frame = frame.fillna("")
    if sep != "\t" or _may_have_padding(rows):
        for col in frame.columns:
            frame[col] = frame[col].astype(str).str.strip()
    return frame


def _may_have_padding(rows: list[str]) -> bool:
    """True when some cell may start or end with a space (checked on the text: much faster than per cell)."""
    sample = "\n".join(rows)
    return any(s in sample for s in (" \t", "\t ", " \n", "\n ")) or sample[:1] == " " or sample[-1:] == " "


def _too_many(row_number: int, n_cells: int, n_names: int, source: Path) -> MutationFileError:
    return MutationFileError(
        f"data row {row_number} has {n_cells} cells but the header names {n_names} columns", source
    )


def _trim_long_tab_rows(rows: list[str], n_names: int, source: Path) -> list[str]:
    limit = n_names - 1  # tabs allowed per row
    out = rows
    for i, row in enumerate(rows):
        if row.count("\t") > limit:
            trimmed = row.rstrip("\t ")
            if trimmed.count("\t") > limit:
                raise _too_many(i + 1, trimmed.count("\t") + 1, n_names, source)
            if out is rows:
                out = list(rows)
            out[i] = trimmed
    return out


def _read_comma_rows(rows: list[str], names: list[str], source: Path) -> pd.DataFrame:
    try:
        cells = list(csv.reader(rows))
    except csv.Error as exc:
        raise MutationFileError(f"cannot be parsed as a CSV table ({_short(exc)})", source) from None
    n = len(names)
    fixed = []
    for i, row in enumerate(cells):
        if len(row) > n:
            if any(c.strip() for c in row[n:]):
                raise _too_many(i + 1, len(row), n, source)
            row = row[:n]
        fixed.append(row + [""] * (n - len(row)))
    return pd.DataFrame(fixed, columns=names, dtype=object)


def _short(exc: BaseException) -> str:
    msg = " ".join(str(exc).split())
    return msg[:200]


def parse_vaf(table: pd.DataFrame, vaf_column: str | None = None) -> tuple[np.ndarray, str, np.ndarray]:
    """VAF per row (float (N,), NaN = unavailable), how it was obtained, and which cells were invalid (bool (N,)).

    maftools rules (SPEC section 9): ``t_vaf`` if present, else ``t_alt_count / (t_ref_count + t_alt_count)``
    (not ``t_depth``); if the largest value is above 1 the column holds percentages and is divided by 100.
    ``vaf_column`` overrides the column name (the CSV panel uses ``vaf``). Non-numeric, negative or
    above-100 % cells become NaN and are flagged in the third return value.
    """
    n = len(table)
    if vaf_column is None and "t_vaf" in table.columns:
        vaf_column = "t_vaf"
    if vaf_column is not None:
        raw = table[vaf_column] if n else pd.Series([], dtype=object)
        values = _to_float(raw)
        how = f"column {vaf_column}"
        invalid = (raw != "").to_numpy(dtype=bool) & ~_is_na_text(raw) & np.isnan(values)
    elif "t_alt_count" in table.columns and "t_ref_count" in table.columns:
        alt = _to_float(table["t_alt_count"])
        ref = _to_float(table["t_ref_count"])
        depth = alt + ref
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where((depth > 0) & (alt >= 0) & (ref >= 0), alt / depth, np.nan)
        how = "t_alt_count / (t_ref_count + t_alt_count)"
        invalid = np.zeros(n, dtype=bool)
    else:
        return np.full(n, np.nan), "none (no t_vaf or t_alt_count/t_ref_count columns)", np.zeros(n, dtype=bool)
    finite = values[np.isfinite(values)]
    if finite.size and finite.max() > 1.0:
        values = values / 100.0
        how += " (percent, divided by 100)"
    bad = np.isfinite(values) & ((values < 0) | (values > 1))
    invalid = invalid | bad
    values = np.where(bad, np.nan, values)
    return values.astype(float), how, invalid


_NA_TEXT = {"", "na", "nan", "n/a", ".", "-", "null", "none"}


def _is_na_text(series: pd.Series) -> np.ndarray:
    return series.str.lower().isin(_NA_TEXT).to_numpy() if len(series) else np.zeros(0, dtype=bool)


def _to_float(series: pd.Series) -> np.ndarray:
    """Explicit numeric parsing: text that is not a finite number becomes NaN."""
    if not len(series):
        return np.zeros(0, dtype=float)
    cleaned = series.str.replace("%", "", regex=False).str.strip()
    values = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float)
    values[~np.isfinite(values)] = np.nan
    return values
