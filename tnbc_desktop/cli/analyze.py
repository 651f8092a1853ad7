"""``tnbc-desktop analyze``: one case -> predictions (JSON) and the two-page PDF report.

Also holds the helpers the ``batch`` and ``demo`` commands share: the progress printer (a bar on a TTY,
plain lines otherwise), the JSON form of a result and the case-history record.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from tnbc_desktop.cli.series_args import add_series_arguments, parse_series
from tnbc_desktop.core.phase_times import parse_phase_times
from tnbc_desktop.core.case import MODEL_LABELS, REPORT_MODELS, CaseInputs, CaseResult
from tnbc_desktop.core.io.atomic import write_text_atomic
from tnbc_desktop.core.prediction_status import intended_use_text, prediction_display
from tnbc_desktop.core.store import finite_or_none as _num
from tnbc_desktop.errors import InputError
from tnbc_desktop.logsafe import get_logger

log = get_logger("tnbc_desktop.cli.analyze")


class ProgressPrinter:
    """``progress(step, fraction)`` for the CLI: a redrawn bar on a TTY, one line per new step otherwise."""

    def __init__(self, stream: TextIO | None = None, prefix: str = ""):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.prefix = prefix
        self.last_step = None

    def __call__(self, step: str, fraction: float) -> None:
        pct = int(round(100 * fraction))
        if self.tty:
            filled = int(round(30 * fraction))
            self.stream.write(f"\r{self.prefix}[{'#' * filled}{'.' * (30 - filled)}] {pct:3d}% {step:<18}")
            if step == "done":
                self.stream.write("\n")
            self.stream.flush()
        elif step != self.last_step:
            self.stream.write(f"{self.prefix}[{pct:3d}%] {step}\n")
            self.stream.flush()
        self.last_step = step


def result_json(result: CaseResult, report_path: Path | None = None, deidentify: bool = False) -> dict:
    """The JSON document of one analysis (no identifiers and no input paths when ``deidentify``)."""
    from tnbc_desktop.core.report.deid import make_redactor
    from tnbc_desktop.core.store import predictions_json

    redact = make_redactor(result, deidentify)
    groups = {}
    for name, sg in result.survival_groups.items():
        groups[name] = {"group": sg.group, "logrank_p": _num(sg.logrank_p),
                        "dfs": {f"{y}y": {"survival": _num(v[0]), "ci_low": _num(v[1]), "ci_high": _num(v[2]),
                                          "at_risk": v[3]} for y, v in sg.dfs.items()}}
    qc = result.qc
    doc = {
        "app_version": result.app_version,
        "created_utc": None if deidentify else result.created_utc,
        "deidentified": bool(deidentify),
        "bundle": {"name": result.bundle.name, "version": result.bundle.version, "sha256": result.bundle.sha256,
                   "is_demo": result.bundle.is_demo, "not_trainable": dict(result.bundle.not_trainable)},
        "predictions": predictions_json(result),
        "intended_use": (result.intended_use.to_json() if result.intended_use is not None
                         else {"ok": None, "reasons": ["not checked"]}),
        "survival_groups": groups,
        "habitats": {"mode": qc.habitat_mode, "fractions": list(qc.habitat_fractions),
                     "volumes_ml": list(qc.habitat_volumes_ml)},
        "qc": {"phase_times_s": list(qc.phase_times_s), "timing_source": qc.timing_source,
               "registration": qc.registration, "early_phase_index0": qc.early_phase,
               "late_phase_index0": qc.late_phase,
               "n_invalid_voxels": qc.n_invalid_voxels, "n_ser_clipped": qc.n_ser_clipped,
               "mask_resampled": qc.mask_resampled, "mask_volume_ml": qc.mask_volume_ml,
               "mask_provenance": redact(qc.mask_provenance),
               "ring_volume_ml": qc.ring_volume_ml, "out_of_range": [redact(s) for s in qc.out_of_range],
               "not_computable": [redact(s) for s in qc.not_computable]},
        "tumour_reading": reading_json(result.reading),
        "features": {k: _num(v) for k, v in result.features.items()},
        "vaf_sum": _num(getattr(result.mutation_panel, "vaf_sum", None)) if result.mutation_panel else None,
        "timings_s": {k: round(v, 4) for k, v in result.timings_s.items()},
        "warnings": [redact(w) for w in result.warnings],
        "report": None if report_path is None else (Path(report_path).name if deidentify else str(report_path)),
    }
    if not deidentify:
        doc["inputs"] = {k: [str(p) for p in v] for k, v in result.inputs.input_files().items()}
    return doc


def reading_json(reading) -> dict | None:
    """Longest diameters (mm, slice numbered from 1) and curve types of the tumour, or None."""
    if reading is None:
        return None
    d = reading.diameters
    return {"longest_axial_mm": None if d is None else round(d.axial_mm, 2),
            "axial_slice": None if d is None else d.axial_slice + 1,
            "longest_3d_mm": None if d is None else round(d.longest_3d_mm, 2),
            "diameter_method": "between boundary voxel centres",
            "curve_type": reading.curve_type, "curve_type_source": reading.curve_type_source,
            "mean_curve_type": reading.mean_curve_type, "curve_type_rule": reading.rule}


def summary_lines(result: CaseResult) -> list[str]:
    """Short human summary: one line per report model."""
    lines = [f"bundle {result.bundle.name} {result.bundle.version} (sha256 {result.bundle.sha256[:12]}...)"
             + ("  DEMO - synthetic training data, not for clinical use" if result.bundle.is_demo else "")]
    gate = intended_use_text(result.intended_use)
    if gate:
        lines.append(f"  {gate}")
    for name in REPORT_MODELS:
        shown = prediction_display(name, result.predictions.get(name), result.intended_use)
        lines.append(f"  {MODEL_LABELS[name]}: {shown.one_line()}")
    fr = ", ".join(f"H{i + 1} {100 * f:.1f}%" for i, f in enumerate(result.qc.habitat_fractions))
    lines.append(f"  habitats: {fr}")
    return lines


def dicom_lines(export) -> list[str]:
    """What a DICOM export wrote (one line per object) and its notes (e.g. why there is no SEG)."""
    lines = [f"DICOM {kind}: {path}" for kind, path in (("SEG", export.seg), ("encapsulated PDF", export.pdf),
                                                         ("SR", export.sr)) if path is not None]
    return lines + [f"DICOM note: {note}" for note in export.notes]


def warn_history(done) -> None:
    """Print the case-history problem of a :class:`RecordedAnalysis` (it does not fail the analysis)."""
    if done.history_warning:
        print(f"tnbc-desktop: warning: {done.history_warning}", file=sys.stderr)


def add_case_arguments(p) -> None:
    p.add_argument("--mask-label", type=int, default=None, help="label value of the tumour in a multi-label mask")
    p.add_argument("--maf", help="mutation file (MAF or CSV panel) for GPRM")
    p.add_argument("--sample", help="Tumor_Sample_Barcode of this patient in a multi-sample MAF")
    p.add_argument("--ki67", help="Ki-67 in percent (e.g. 35, '>=20')")
    p.add_argument("--lvi", choices=("present", "absent", "unknown"), help="lymphovascular invasion")
    p.add_argument("--phase-times", nargs="+", metavar="S",
                   help="phase times in seconds from pre-contrast, when the files carry none")
    p.add_argument("--bundle", help="model bundle JSON (default: the shipped demo bundle)")
    p.add_argument("--deidentify", action="store_true", help="report and JSON without identifiers and dates")
    p.add_argument("--store-identifiers", action="store_true",
                   help="keep patient identifiers in the local case history (off by default)")
    p.add_argument("--no-history", action="store_true", help="do not add this analysis to the case history")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for feature extraction (default 1)")


def register(sub) -> None:
    p = sub.add_parser("analyze", help="analyse one case: predictions, JSON and PDF report",
                       description="Analyse one DCE-MRI case with a model bundle. Research use only.")
    p.add_argument("--study", required=True, nargs="+",
                   help="DICOM folder, 4D NIfTI/NRRD, or one 3D file per phase (in order)")
    p.add_argument("--mask", required=True, help="tumour mask (NIfTI/NRRD/DICOM-SEG) on the study's grid")
    add_case_arguments(p)
    add_series_arguments(p)
    p.add_argument("--json", dest="json_out", help="write the result JSON here ('-' = standard output)")
    p.add_argument("--pdf", help="write the two-page PDF report here")
    p.add_argument("--dicom-out", metavar="DIR",
                   help="write DICOM objects into DIR: SEG (tumour, habitats, ring; DICOM studies only), the report "
                        "as encapsulated PDF, and a TID 1500 SR; --deidentify applies")
    p.add_argument("--send-to", metavar="NODE", help="then send them to this node of the DICOM address book "
                                                      "(C-STORE; see 'tnbc-desktop dicom add-node')")
    p.set_defaults(func=run)


def inputs_from_args(args, study, mask) -> CaseInputs:
    return CaseInputs(study_source=study, mask_path=mask, mask_label=args.mask_label,
                      phase_times_s=parse_phase_times(args.phase_times), maf_path=args.maf, sample=args.sample,
                      ki67=args.ki67, lvi=args.lvi, bundle_path=args.bundle, deidentify=args.deidentify,
                      series=parse_series(getattr(args, "series", None)),
                      allow_mixed_study=bool(getattr(args, "allow_mixed_study", False)))


def run(args) -> int:
    from tnbc_desktop.core.case_run import analyze_report_record

    if args.send_to and not args.dicom_out:
        raise InputError("--send-to needs --dicom-out DIR (the objects are written there, then sent)")
    study = Path(args.study[0]) if len(args.study) == 1 else tuple(Path(s) for s in args.study)
    inputs = inputs_from_args(args, study, args.mask)
    done = analyze_report_record(inputs, args.bundle, progress=ProgressPrinter(), n_jobs=max(1, args.jobs),
                                 pdf=args.pdf or None, record=not args.no_history,
                                 store_identifiers=args.store_identifiers, dicom_out=args.dicom_out or None)
    result, pdf = done.result, done.report_path
    doc = result_json(result, pdf, deidentify=args.deidentify)
    if args.json_out == "-":
        print(json.dumps(doc, indent=1))
    else:
        if args.json_out:
            write_text_atomic(args.json_out, json.dumps(doc, indent=1) + "\n")
        print("\n".join(summary_lines(result)))
        if pdf is not None:
            print(f"report: {pdf}")
    if done.dicom is not None:
        print("\n".join(dicom_lines(done.dicom)), file=sys.stderr if args.json_out == "-" else sys.stdout)
        if args.send_to:
            from tnbc_desktop.cli.dicom import send_and_report

            send_and_report(args.send_to, list(done.dicom.paths), sys.stderr if args.json_out == "-" else sys.stdout)
    warn_history(done)
    return 0
