"""``tnbc-desktop batch MANIFEST --out DIR``: one PDF per patient, a one-page summary PDF and a CSV.

A patient that fails is listed with its error and does not stop the rest; the exit code is 1 when any
patient failed, 0 otherwise.
"""
from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

from tnbc_desktop.core.case import REPORT_MODELS, CaseInputs
from tnbc_desktop.core.io.atomic import write_text_atomic
from tnbc_desktop.errors import InputError, TnbcError

CSV_COLUMNS = ("patient", "status", "error", *(f"{m}_{k}" for m in REPORT_MODELS
                                               for k in ("probability", "ci_low", "ci_high", "group")),
               "warnings", "report")


def register(sub) -> None:
    p = sub.add_parser("batch", help="analyse every patient of a manifest CSV (PDF each + summary)")
    p.add_argument("manifest", help="manifest CSV (patient_id, study, mask, ki67_percent, lvi, maf, sample, ...)")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    p.add_argument("--bundle", help="model bundle JSON (default: the shipped demo bundle)")
    p.add_argument("--deidentify", action="store_true", help="reports without identifiers; files named by row")
    p.add_argument("--no-history", action="store_true", help="do not add the analyses to the case history")
    p.set_defaults(func=run)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "patient"


def _fmt(v) -> str:
    return "" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)


def _cell(pred: dict | None) -> str:
    if not pred:
        return "-"
    if not pred["available"]:
        return "not available"
    status = pred.get("status", "recommendation")
    label = pred["group"] if status == "recommendation" else f"no recommendation ({status})"
    return f"{pred['probability']:.2f} ({pred['ci_low']:.2f}-{pred['ci_high']:.2f}) {label}"


def run(args) -> int:
    from tnbc_desktop.cli.analyze import ProgressPrinter, warn_history
    from tnbc_desktop.core.case_run import analyze_report_record
    from tnbc_desktop.core.manifest import read_manifest
    from tnbc_desktop.core.pipeline import resolve_bundle
    from tnbc_desktop.core.report.summary import write_batch_summary
    from tnbc_desktop.core.store import predictions_json

    manifest = read_manifest(args.manifest, check_files=False)
    out_dir = Path(args.out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"the output folder cannot be created ({exc.strerror})", out_dir) from exc
    bundle = resolve_bundle(args.bundle, CaseInputs(study_source="", mask_path="", bundle_path=args.bundle))
    csv_rows, pdf_rows, n_failed = [], [], 0
    for i, row in enumerate(manifest.rows, start=1):
        label = f"patient_{i:03d}" if args.deidentify else row.patient_id
        print(f"[{i}/{len(manifest.rows)}] {label}", file=sys.stderr)
        record = {k: "" for k in CSV_COLUMNS}
        record["patient"] = label
        try:
            if row.mask is None:
                raise InputError("the manifest row has no tumour mask", args.manifest)
            inputs = CaseInputs(study_source=row.study, mask_path=row.mask, phase_times_s=row.phase_times_s,
                                maf_path=row.maf, sample=row.sample, ki67=row.ki67_percent, lvi=row.lvi,
                                bundle_path=args.bundle, deidentify=args.deidentify,
                                case_label="" if args.deidentify else row.patient_id)
            done = analyze_report_record(inputs, bundle, progress=ProgressPrinter(prefix="  "),
                                         pdf=out_dir / f"{_safe_name(label)}.pdf", record=not args.no_history)
            result, pdf = done.result, done.report_path
            preds = predictions_json(result)
            record.update(status="ok", report=pdf.name, warnings="; ".join(result.warnings))
            for m in REPORT_MODELS:
                for k in ("probability", "ci_low", "ci_high", "group"):
                    record[f"{m}_{k}"] = _fmt((preds.get(m) or {}).get(k))
            n_warn = len(result.warnings)
            pdf_rows.append([label, *(_cell(preds.get(m)) for m in REPORT_MODELS),
                             "ok" + (f"; {n_warn} warning(s)" if n_warn else "")])
            warn_history(done)
        except TnbcError as exc:
            n_failed += 1
            record.update(status="failed", error=str(exc))
            pdf_rows.append([label, "-", "-", "-", f"FAILED: {exc}"])
            print(f"  failed: {exc}", file=sys.stderr)
        csv_rows.append(record)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(csv_rows)
    write_text_atomic(out_dir / "summary.csv", buf.getvalue())
    write_batch_summary(pdf_rows, out_dir / "summary.pdf", f"{bundle.name} {bundle.version} "
                        f"(sha256 {bundle.sha256[:12]}...)", bool(bundle.is_demo), deidentify=args.deidentify)
    print(f"{len(csv_rows) - n_failed} of {len(csv_rows)} patients analysed; summary: {out_dir / 'summary.pdf'}, "
          f"{out_dir / 'summary.csv'}")
    return 1 if n_failed else 0
