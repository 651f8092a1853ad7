"""Benchmark: summarising the 76,673-row TCGA-BRCA firehose MAF (target: under 2 s).

Baseline, measured in the same run: a naive ``csv.DictReader`` row loop over the gzip file computing the same
gene summary (non-synonymous variants and samples mutated per gene; no duplicate removal). Prints the best of
``--repeat`` runs in seconds and the ratio to the baseline. Usage: ``python bench/bench_maf.py [--repeat N]``.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tnbc_desktop.core.io.mutations import NONSYNONYMOUS_CLASSES, read_mutation_panel, summarize_maf  # noqa: E402

DATA = Path(os.environ.get("TNBC_SHARED_DATA", REPO.parent / "shared" / "data"))
MAF = DATA / "maf" / "tcga_brca_firehose" / "TCGA_BRCA_firehose.maf.gz"


def naive_summary(path: Path) -> dict[str, tuple[int, int]]:
    counts: dict[str, int] = defaultdict(int)
    samples: dict[str, set] = defaultdict(set)
    with gzip.open(path, "rt", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["Variant_Classification"] in NONSYNONYMOUS_CLASSES:
                counts[row["Hugo_Symbol"]] += 1
                samples[row["Hugo_Symbol"]].add(row["Tumor_Sample_Barcode"])
    return {g: (counts[g], len(samples[g])) for g in counts}


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not MAF.exists():
        print(f"shared data not found: {MAF}", file=sys.stderr)
        return 1
    t_naive, naive = best_of(lambda: naive_summary(MAF), args.repeat)
    t_all, summary = best_of(lambda: summarize_maf(MAF), args.repeat)
    t_genes, _ = best_of(lambda: summarize_maf(MAF, genes=("REL", "MED23")), args.repeat)
    t_panel, panel = best_of(lambda: read_mutation_panel(MAF, sample="TCGA-AN-A046"), args.repeat)
    ours = {g.gene: (g.n_nonsyn, g.samples_mutated) for g in summary.genes}
    for gene in ("REL", "MED23"):
        assert ours[gene] == naive[gene], (gene, ours[gene], naive[gene])
    print(f"file: {MAF.name} ({summary.n_variants} variants after duplicate removal, {summary.n_samples} samples)")
    print(f"baseline csv.DictReader loop     : {t_naive:6.3f} s")
    print(f"summarize_maf (all genes)        : {t_all:6.3f} s   ratio to baseline {t_all / t_naive:5.2f}")
    print(f"summarize_maf (REL, MED23)       : {t_genes:6.3f} s   ratio to baseline {t_genes / t_naive:5.2f}")
    print(f"read_mutation_panel (one sample) : {t_panel:6.3f} s   ratio to baseline {t_panel / t_naive:5.2f}")
    met = "met" if max(t_all, t_panel) < 2.0 else "NOT met"
    print(f"target < 2 s: {met} (best of {args.repeat}; shared machine, noisy)")
    print(f"REL {ours['REL']}, MED23 {ours['MED23']} (n_nonsyn, samples_mutated); "
          f"VAF_sum TCGA-AN-A046 = {panel.vaf_sum}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
