"""``tnbc-desktop maf summarize FILE [--sample ID] [--genes REL,MED23 | --all-genes] [--json]``.

With ``--sample``: that patient's per-gene features (mutated, non-synonymous count, summed VAF), the model's
VAF inputs and every variant. Without it: maftools' gene summary of the whole file (non-synonymous variants
and samples mutated per gene) and the number of samples.
"""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("maf", help="mutation files (MAF or CSV panel): summaries and the model's VAF inputs")
    msub = p.add_subparsers(dest="maf_command", metavar="ACTION")
    s = msub.add_parser("summarize", help="gene summary of a MAF, or one sample's variants and VAF inputs")
    s.add_argument("file", help=".maf, .maf.gz, tab-separated text, or a CSV panel "
                                "(gene,protein_change,variant_class,vaf)")
    s.add_argument("--sample", help="Tumor_Sample_Barcode of the patient (per-patient table and variants)")
    s.add_argument("--genes", default="REL,MED23", help="comma-separated genes (default REL,MED23)")
    s.add_argument("--all-genes", action="store_true", help="whole-file summary of every mutated gene")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=run_summarize)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def sample_document(panel) -> dict:
    """JSON-able per-patient summary of a :class:`MutationPanel`."""
    return {
        "source": panel.source,
        "file_format": panel.file_format,
        "sample": panel.sample,
        "genes": {g.gene: {"mutated": g.mutated, "n_nonsyn": g.n_nonsyn, "vaf_sum": g.vaf_sum}
                  for g in panel.gene_features},
        "vaf_rel": panel.vaf_rel,
        "vaf_med23": panel.vaf_med23,
        "vaf_sum": panel.vaf_sum,
        "vaf_source": panel.vaf_source,
        "vaf_unavailable_reason": panel.vaf_unavailable_reason,
        "variants": [
            {"gene": v.gene, "protein_change": v.protein_change, "variant_class": v.variant_class, "vaf": v.vaf,
             "nonsynonymous": v.nonsynonymous, "used_by_model": v.used_by_model, "position": v.position}
            for v in panel.variants
        ],
        "unknown_classes": list(panel.unknown_classes),
        "warnings": list(panel.warnings),
    }


def cohort_document(summary) -> dict:
    """JSON-able whole-file summary of a :class:`MafSummary`."""
    return {
        "source": summary.source,
        "n_samples": summary.n_samples,
        "n_variants": summary.n_variants,
        "n_nonsyn": summary.n_nonsyn,
        "genes": {g.gene: {"n_nonsyn": g.n_nonsyn, "samples_mutated": g.samples_mutated} for g in summary.genes},
        "unknown_classes": list(summary.unknown_classes),
        "warnings": list(summary.warnings),
    }


def _fmt_vaf(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _print_sample(doc: dict, out) -> None:
    print(f"{doc['source']}  sample {doc['sample']}", file=out)
    print(f"{'gene':<12}{'mutated':>8}{'n_nonsyn':>10}{'vaf_sum':>10}", file=out)
    for gene, g in doc["genes"].items():
        print(f"{gene:<12}{'yes' if g['mutated'] else 'no':>8}{g['n_nonsyn']:>10}{_fmt_vaf(g['vaf_sum']):>10}",
              file=out)
    print(f"model input VAF_sum = {_fmt_vaf(doc['vaf_sum'])}  (VAF from {doc['vaf_source']})", file=out)
    used = [v for v in doc["variants"] if v["used_by_model"]]
    print(f"{len(doc['variants'])} variant(s) for this sample; {len(used)} used by the model:", file=out)
    for v in used:
        print(f"  {v['gene']:<8} {v['protein_change'] or '-':<14} {v['variant_class']:<22} VAF {_fmt_vaf(v['vaf'])}",
              file=out)


def _print_cohort(doc: dict, out, limit: int | None) -> None:
    print(f"{doc['source']}: {doc['n_samples']} samples, {doc['n_variants']} variants "
          f"({doc['n_nonsyn']} non-synonymous)", file=out)
    print(f"{'gene':<14}{'n_nonsyn':>10}{'samples_mutated':>17}", file=out)
    items = list(doc["genes"].items())
    for gene, g in items[:limit]:
        print(f"{gene:<14}{g['n_nonsyn']:>10}{g['samples_mutated']:>17}", file=out)
    if limit is not None and len(items) > limit:
        print(f"... {len(items) - limit} more genes (use --json for all)", file=out)


def run_summarize(args) -> int:
    from tnbc_desktop.core.io.mutations import read_mutation_panel, summarize_maf

    if args.sample is not None:
        doc = sample_document(read_mutation_panel(args.file, sample=args.sample, genes=args.genes))
    else:
        doc = cohort_document(summarize_maf(args.file, genes=None if args.all_genes else args.genes))
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    if args.sample is not None:
        _print_sample(doc, sys.stdout)
    else:
        _print_cohort(doc, sys.stdout, 30 if args.all_genes else None)
    for w in doc["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    return 0
