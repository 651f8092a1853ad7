"""MAF rows for a synthetic patient's variants, and the MAF writer.

Columns: maftools' nine required columns (``R/validateMaf.R``) plus ``t_vaf``, read counts, ``HGVSp_Short`` and
``Protein_Change``. Loci are inside the real genes (GRCh37 gene spans) but the alleles are made up.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from tnbc_desktop.core.io.atomic import write_text_atomic
from tnbc_desktop.core.synthetic.biology import PatientBiology, VariantSpec

MAF_COLUMNS = (
    "Hugo_Symbol", "Chromosome", "Start_Position", "End_Position", "Reference_Allele", "Tumor_Seq_Allele2",
    "Variant_Classification", "Variant_Type", "Tumor_Sample_Barcode", "t_vaf", "t_ref_count", "t_alt_count",
    "t_depth", "HGVSp_Short", "Protein_Change", "NCBI_Build",
)
# GRCh37 gene spans (chromosome, start, end).
GENE_LOCI = {
    "REL": ("2", 61108630, 61150178),
    "MED23": ("6", 131894344, 131949306),
    "TP53": ("17", 7571720, 7590868),
    "PIK3CA": ("3", 178866311, 178952497),
    "TTN": ("2", 179390717, 179695529),
    "MUC16": ("19", 8959520, 9092018),
}
_BASES = "ACGT"


def maf_rows(biology: PatientBiology, sample_id: str, seed: int) -> list[dict]:
    """One MAF row (dict keyed by :data:`MAF_COLUMNS`) per variant of ``biology``; deterministic from ``seed``."""
    rows = []
    for i, v in enumerate(biology.variants):
        rng = np.random.default_rng([seed, i, zlib.crc32(v.gene.encode())])
        rows.append(_row(v, sample_id, rng))
    return rows


def _row(v: VariantSpec, sample_id: str, rng: np.random.Generator) -> dict:
    chrom, lo, hi = GENE_LOCI[v.gene]
    start = int(rng.integers(lo, hi))
    ref = _BASES[rng.integers(4)]
    if v.variant_class.endswith("_Del"):
        vtype, alt, end = "DEL", "-", start
    elif v.variant_class.endswith("_Ins"):
        vtype, alt, ref, end = "INS", _BASES[rng.integers(4)], "-", start + 1
    else:
        vtype, alt, end = "SNP", _BASES[(_BASES.index(ref) + 1 + rng.integers(3)) % 4], start
    depth = int(rng.integers(150, 600))
    alt_count = int(round(v.vaf * depth))
    return {
        "Hugo_Symbol": v.gene, "Chromosome": chrom, "Start_Position": start, "End_Position": end,
        "Reference_Allele": ref, "Tumor_Seq_Allele2": alt, "Variant_Classification": v.variant_class,
        "Variant_Type": vtype, "Tumor_Sample_Barcode": sample_id, "t_vaf": f"{v.vaf:.3f}",
        "t_ref_count": depth - alt_count, "t_alt_count": alt_count, "t_depth": depth,
        "HGVSp_Short": v.protein_change, "Protein_Change": v.protein_change, "NCBI_Build": "GRCh37",
    }


def maf_text(rows: list[dict]) -> str:
    """Tab-separated MAF text with a version comment line and the header (also for zero rows)."""
    lines = ["#version 2.4", "\t".join(MAF_COLUMNS)]
    lines += ["\t".join(str(r.get(c, "")) for c in MAF_COLUMNS) for r in rows]
    return "\n".join(lines) + "\n"


def write_maf(rows: list[dict], path: str | Path) -> Path:
    """Write ``rows`` as a MAF file atomically; returns the path."""
    write_text_atomic(path, maf_text(rows))
    return Path(path)
