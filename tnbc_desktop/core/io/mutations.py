"""Mutation panel import (SPEC section 9): one patient's variants and the model's VAF inputs.

``read_mutation_panel`` reads a MAF (.maf / .maf.gz / tab-separated text) or the app's simple CSV panel and
returns a frozen :class:`MutationPanel`: every variant for display, per-gene features (mutated, number of
non-synonymous variants, summed VAF) and the model inputs ``vaf_rel``, ``vaf_med23`` and ``vaf_sum`` (sum of the
VAFs of all non-synonymous REL and MED23 variants of the sample; 0 when there are none; ``None`` with a reason
when a contributing variant has no VAF, never a silent 0). ``summarize_maf`` gives maftools' gene summary of a
whole (multi-sample) MAF.

Variant classes follow maftools: its nine default non-synonymous classes count; the standard silent classes do
not; any other class (e.g. ``ITD``) is "unknown": not counted, listed in ``unknown_classes`` and warned about.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tnbc_desktop.core.io.maf_read import PROTEIN_CHANGE_COLUMNS, RawTable, parse_vaf, read_table
from tnbc_desktop.errors import MutationFileError
from tnbc_desktop.logsafe import get_logger, register_identifiers

log = get_logger(__name__)

#: maftools' default ``vc_nonSyn`` (R/read_maf_dt.R).
NONSYNONYMOUS_CLASSES = frozenset(
    {
        "Frame_Shift_Del",
        "Frame_Shift_Ins",
        "Splice_Site",
        "Translation_Start_Site",
        "Nonsense_Mutation",
        "Nonstop_Mutation",
        "In_Frame_Del",
        "In_Frame_Ins",
        "Missense_Mutation",
    }
)
#: Standard silent values recognised by maftools' validateMaf (SPEC section 9).
SILENT_CLASSES = frozenset(
    {
        "3'UTR",
        "5'UTR",
        "3'Flank",
        "5'Flank",
        "Targeted_Region",
        "Silent",
        "Intron",
        "RNA",
        "IGR",
        "Splice_Region",
        "lincRNA",
        "De_novo_Start_InFrame",
        "De_novo_Start_OutOfFrame",
        "Start_Codon_Ins",
        "Start_Codon_SNP",
        "Stop_Codon_Del",
    }
)
MODEL_GENES = ("REL", "MED23")
_CANONICAL_CLASS = {c.lower(): c for c in NONSYNONYMOUS_CLASSES | SILENT_CLASSES}


@dataclass(frozen=True)
class Variant:
    """One variant of the patient. ``vaf`` is a fraction in [0, 1] or None when the file gives none."""

    gene: str
    protein_change: str
    variant_class: str
    vaf: float | None
    nonsynonymous: bool
    used_by_model: bool
    position: str = ""  # "chr:start ref>alt" for a MAF row, "" for a CSV panel


@dataclass(frozen=True)
class GeneFeatures:
    """Per-gene features of one sample: ``vaf_sum`` is None when a non-synonymous variant lacks a VAF."""

    gene: str
    mutated: bool
    n_nonsyn: int
    vaf_sum: float | None


@dataclass(frozen=True)
class MutationPanel:
    """One patient's mutation panel and the model inputs derived from it (VAFs as fractions)."""

    variants: tuple[Variant, ...]
    vaf_rel: float | None
    vaf_med23: float | None
    vaf_sum: float | None
    sample: str
    source: str
    unknown_classes: tuple[str, ...] = ()
    gene_features: tuple[GeneFeatures, ...] = ()
    model_genes: tuple[str, ...] = MODEL_GENES
    vaf_source: str = ""
    vaf_unavailable_reason: str | None = None
    warnings: tuple[str, ...] = ()
    file_format: str = "maf"
    n_duplicates_dropped: int = 0

    @property
    def vaf_available(self) -> bool:
        return self.vaf_sum is not None

    def gene(self, symbol: str) -> GeneFeatures:
        """Features of one requested gene (KeyError if it was not requested)."""
        for g in self.gene_features:
            if g.gene == symbol.upper():
                return g
        raise KeyError(symbol)

    def used_variants(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.used_by_model)


@dataclass(frozen=True)
class GeneCohortSummary:
    """maftools-style gene summary row: non-synonymous variant count and number of samples mutated."""

    gene: str
    n_nonsyn: int
    samples_mutated: int


@dataclass(frozen=True)
class MafSummary:
    """Whole-file summary. ``genes`` is ordered as maftools orders its gene summary (most mutated first)."""

    source: str
    n_samples: int
    n_variants: int
    n_nonsyn: int
    genes: tuple[GeneCohortSummary, ...]
    unknown_classes: tuple[str, ...] = ()
    n_duplicates_dropped: int = 0
    warnings: tuple[str, ...] = field(default=())


def classify(variant_class: str) -> tuple[str, str]:
    """(canonical class, kind) with kind in ``nonsynonymous`` / ``silent`` / ``unknown`` (case-insensitive)."""
    canon = _CANONICAL_CLASS.get(variant_class.strip().lower())
    if canon is None:
        return variant_class.strip(), "unknown"
    return canon, ("nonsynonymous" if canon in NONSYNONYMOUS_CLASSES else "silent")


def _normalise_genes(genes) -> tuple[str, ...]:
    if isinstance(genes, str):
        genes = genes.split(",")
    out = tuple(dict.fromkeys(g.strip().upper() for g in genes if g and g.strip()))
    if not out:
        raise MutationFileError("no gene names given for the mutation features")
    return out


def _class_columns(table: pd.DataFrame, class_col: str) -> tuple[pd.Series, pd.Series]:
    """Canonical class and kind per row, computed once per distinct class value (fast on big files)."""
    uniq = pd.unique(table[class_col])
    mapping = {u: classify(u) for u in uniq}
    canon = table[class_col].map({u: c for u, (c, _) in mapping.items()})
    kind = table[class_col].map({u: k for u, (_, k) in mapping.items()})
    return canon, kind


def _duplicate_warning(n: int) -> str:
    return f"{n} duplicate variant row(s) in the file dropped (same chromosome, position, sample and alleles)"


def _unknown_warning(classes: dict[str, int]) -> str:
    listed = ", ".join(f"'{c or '(empty)'}' ({n} row{'s' if n != 1 else ''})" for c, n in classes.items())
    return (
        f"non-standard Variant_Classification value(s) {listed}: treated as unknown, "
        "not counted as non-synonymous"
    )


def read_mutation_panel(
    path: str | Path, sample: str | None = None, genes=MODEL_GENES
) -> MutationPanel:
    """Read one patient's variants from a MAF or CSV panel.

    ``sample`` picks the Tumor_Sample_Barcode in a multi-sample MAF (required there; a one-sample MAF or a
    CSV panel does not need it). ``genes`` are the model genes whose non-synonymous VAFs form ``vaf_sum``;
    per-gene features are reported for each of them. Raises :class:`MutationFileError`.
    """
    genes = _normalise_genes(genes)
    raw = read_table(path)
    if raw.kind == "panel":
        rows, sample_id, vaf, vaf_how, n_bad = _panel_rows(raw, sample)
    else:
        rows, sample_id, vaf, vaf_how, n_bad = _maf_sample_rows(raw, sample)
    register_identifiers([sample_id])
    return _build_panel(raw, rows, sample_id, vaf, vaf_how, n_bad, genes)


def _panel_rows(raw: RawTable, sample: str | None):
    t = raw.table
    empty_gene = (t["gene"] == "").to_numpy() if len(t) else np.zeros(0, dtype=bool)
    if empty_gene.any():
        line = int(np.argmax(empty_gene)) + 2
        raise MutationFileError(f"row {line}: the gene column is empty", raw.source)
    vaf, how, bad = parse_vaf(t, vaf_column="vaf")
    n_bad = int(bad.sum())
    rows = pd.DataFrame(
        {
            "gene": t["gene"].str.upper() if len(t) else t["gene"],
            "protein_change": t["protein_change"],
            "variant_class": t["variant_class"],
            "position": "",
        }
    )
    return rows, (sample or raw.source.name), vaf, how, n_bad


def _maf_sample_rows(raw: RawTable, sample: str | None):
    t = raw.table
    vaf_all, how, bad_all = parse_vaf(t)  # percent detection over the whole file, as maftools
    barcodes = t["Tumor_Sample_Barcode"]
    samples = sorted(set(barcodes))
    if not samples:  # a header-only MAF: the sample has no variants
        chosen = (sample or "").strip()
    elif sample is None:
        if len(samples) > 1:
            shown = ", ".join(samples[:8]) + (f", ... ({len(samples) - 8} more)" if len(samples) > 8 else "")
            raise MutationFileError(
                f"holds {len(samples)} samples; choose the patient's Tumor_Sample_Barcode (--sample): {shown}",
                raw.source,
            )
        chosen = samples[0] if samples else ""
    else:
        chosen = _match_sample(sample, samples, raw.source)
    keep = (barcodes == chosen).to_numpy()
    t = t.loc[keep]
    vaf = vaf_all[keep]
    n_bad = int(bad_all[keep].sum())
    protein = _protein_change(t)
    position = t["Chromosome"] + ":" + t["Start_Position"] + " " + t["Reference_Allele"] + ">" + t["Tumor_Seq_Allele2"]
    rows = pd.DataFrame(
        {
            "gene": t["Hugo_Symbol"].str.upper(),
            "protein_change": protein,
            "variant_class": t["Variant_Classification"],
            "position": position,
        }
    )
    return rows.reset_index(drop=True), chosen, vaf, how, n_bad


def _match_sample(sample: str, samples: list[str], source: Path) -> str:
    wanted = sample.strip()
    if wanted in samples:
        return wanted
    if wanted.startswith("sha256:"):  # a saved session keeps only the barcode's hash (no identifier on disk)
        import hashlib

        hashed = [s for s in samples if "sha256:" + hashlib.sha256(s.encode("utf-8")).hexdigest() == wanted]
        if len(hashed) == 1:
            return hashed[0]
    folded = [s for s in samples if s.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    shown = ", ".join(samples[:8]) + (f", ... ({len(samples) - 8} more)" if len(samples) > 8 else "")
    raise MutationFileError(
        f"has no variants for sample '{wanted}' (Tumor_Sample_Barcode values: {shown or 'none'})", source
    )


def _protein_change(t: pd.DataFrame) -> pd.Series:
    out = pd.Series("", index=t.index, dtype=object)
    for col in reversed(PROTEIN_CHANGE_COLUMNS):  # preferred column written last
        if col in t.columns:
            present = t[col] != ""
            out = out.where(~present, t[col])
    return out


def _build_panel(raw, rows, sample_id, vaf, vaf_how, n_bad, genes) -> MutationPanel:
    warnings: list[str] = []
    if raw.n_duplicates_dropped:
        warnings.append(_duplicate_warning(raw.n_duplicates_dropped))
    if n_bad:
        warnings.append(f"{n_bad} VAF value(s) of this sample are not a number between 0 and 1 (or 0-100 %)")
    unknown: dict[str, int] = {}
    variants = []
    classes = {c: classify(c) for c in set(rows["variant_class"])}
    for gene, protein, vclass, pos, v in zip(rows["gene"], rows["protein_change"], rows["variant_class"],
                                              rows["position"], vaf.tolist()):
        canon, kind = classes[vclass]
        if kind == "unknown":
            unknown[canon] = unknown.get(canon, 0) + 1
        nonsyn = kind == "nonsynonymous"
        variants.append(
            Variant(
                gene=gene,
                protein_change=protein,
                variant_class=canon,
                vaf=None if v != v else v,  # NaN -> None
                nonsynonymous=nonsyn,
                used_by_model=nonsyn and gene in genes,
                position=pos,
            )
        )
    if unknown:
        warnings.append(_unknown_warning(unknown))
    if not variants:
        warnings.append("the file lists no variants for this sample; VAF inputs are 0")
    features = tuple(_gene_features(variants, g) for g in genes)
    by_gene = {f.gene: f for f in features}
    vaf_rel = (by_gene.get("REL") or _gene_features(variants, "REL")).vaf_sum
    vaf_med23 = (by_gene.get("MED23") or _gene_features(variants, "MED23")).vaf_sum
    used = [v for v in variants if v.used_by_model]
    missing = [v for v in used if v.vaf is None]
    if missing:
        vaf_sum = None
        names = ", ".join(f"{v.gene} {v.protein_change or v.variant_class}" for v in missing[:5])
        reason = f"VAF not available for {names}: the file's VAF source is {vaf_how}"
        warnings.append(reason)
    else:
        vaf_sum = float(sum(v.vaf for v in used))  # type: ignore[misc]
        reason = None
    log.debug("mutation panel read: %d variants, %d used by the model", len(variants), len(used))
    return MutationPanel(
        variants=tuple(variants),
        vaf_rel=vaf_rel,
        vaf_med23=vaf_med23,
        vaf_sum=vaf_sum,
        sample=sample_id,
        source=str(raw.source),
        unknown_classes=tuple(unknown),
        gene_features=features,
        model_genes=genes,
        vaf_source=vaf_how,
        vaf_unavailable_reason=reason,
        warnings=tuple(warnings),
        file_format=raw.kind,
        n_duplicates_dropped=raw.n_duplicates_dropped,
    )


def _gene_features(variants: list[Variant], gene: str) -> GeneFeatures:
    hits = [v for v in variants if v.gene == gene and v.nonsynonymous]
    if any(v.vaf is None for v in hits):
        total = None
    else:
        total = float(sum(v.vaf for v in hits))  # type: ignore[misc]
    return GeneFeatures(gene=gene, mutated=bool(hits), n_nonsyn=len(hits), vaf_sum=total)


def summarize_maf(path: str | Path, genes=None) -> MafSummary:
    """maftools-style gene summary of a whole MAF (or CSV panel, as one sample).

    ``genes`` None lists every gene with a non-synonymous variant, ordered by samples mutated then variant
    count (descending); otherwise exactly the given genes, including those with no variant (zeros).
    """
    raw = read_table(path)
    t = raw.table
    if raw.kind == "panel":
        gene_col, class_col = t["gene"].str.upper(), "variant_class"
        barcodes = pd.Series(raw.source.name, index=t.index)
    else:
        gene_col, class_col = t["Hugo_Symbol"].str.upper(), "Variant_Classification"
        barcodes = t["Tumor_Sample_Barcode"]
    if len(t):
        _, kind = _class_columns(t, class_col)
    else:
        kind = pd.Series([], dtype=object)
    nonsyn = (kind == "nonsynonymous").to_numpy()
    frame = pd.DataFrame({"gene": gene_col[nonsyn], "sample": barcodes[nonsyn]})
    grouped = frame.groupby("gene", sort=False).agg(n_nonsyn=("sample", "size"), samples_mutated=("sample", "nunique"))
    if genes is None:
        grouped = grouped.sort_values(["samples_mutated", "n_nonsyn"], ascending=False, kind="stable")
        wanted = list(grouped.index)
    else:
        wanted = list(_normalise_genes(genes))
    counts = dict(zip(grouped.index, zip(grouped["n_nonsyn"].tolist(), grouped["samples_mutated"].tolist())))
    summaries = tuple(GeneCohortSummary(g, *counts.get(g, (0, 0))) for g in wanted)
    unknown_counts = t.loc[(kind == "unknown").to_numpy(), class_col].value_counts(sort=False) if len(t) else {}
    unknown = {str(k): int(v) for k, v in dict(unknown_counts).items()}
    warnings = []
    if raw.n_duplicates_dropped:
        warnings.append(_duplicate_warning(raw.n_duplicates_dropped))
    if unknown:
        warnings.append(_unknown_warning(unknown))
    return MafSummary(
        source=str(raw.source),
        n_samples=int(barcodes.nunique()) if len(t) else 0,
        n_variants=len(t),
        n_nonsyn=int(nonsyn.sum()),
        genes=summaries,
        unknown_classes=tuple(unknown),
        n_duplicates_dropped=raw.n_duplicates_dropped,
        warnings=tuple(warnings),
    )
