"""``tnbc-desktop inspect STUDY [--mask MASK] [--phase-times ...] [--series [N,...]] [--json]``: load and
describe a study; with ``--series`` also the exam's series table (roles, which series make the DCE)."""
from __future__ import annotations

import json

from tnbc_desktop.core.phase_times import parse_phase_times
from tnbc_desktop.core.phase_numbering import PHASE_NUMBERING_NOTE, phase_number
from tnbc_desktop.cli.series_args import add_series_arguments, parse_series, series_rows, series_table


def parse_study_source(text: str):
    """A path, or 'a.nii.gz,b.nii.gz,...' (one 3D file per phase) when the text is not itself a path."""
    from pathlib import Path

    if "," in text and not Path(text).exists():
        return [Path(part.strip()) for part in text.split(",") if part.strip()]
    return Path(text)


def json_text(info: dict) -> str:
    """``info`` as strict JSON: a non-finite number (NaN, infinity) becomes null and is named in
    ``warnings``, never printed as bare ``NaN`` (which JSON readers reject)."""
    from tnbc_desktop.core.bundle import sanitize

    bad = sorted(_non_finite_paths(info))
    clean = sanitize(info)
    if bad:
        clean.setdefault("warnings", []).append(f"not a finite number, shown as null: {', '.join(bad[:5])}"
                                                + (f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""))
    return json.dumps(clean, indent=2, allow_nan=False)


def _non_finite_paths(obj, path: str = ""):
    import math

    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _non_finite_paths(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _non_finite_paths(v, f"{path}[{i}]")
    elif isinstance(obj, float) and not math.isfinite(obj):
        yield path


def register(sub) -> None:
    p = sub.add_parser("inspect", help="load a DCE study (and mask) and describe it")
    p.add_argument("study", help="DICOM folder, DICOM file, 4D NIfTI/NRRD, or comma-separated 3D files per phase")
    p.add_argument("--mask", help="tumour mask (NIfTI, NRRD or DICOM-SEG)")
    p.add_argument("--mask-label", type=int, default=None, help="label value to use from a labelled mask")
    p.add_argument("--phase-times", help="phase times in seconds, comma-separated (when the files carry none)")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    add_series_arguments(p, table=True)
    p.set_defaults(func=run)


def run(args) -> int:
    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study

    source = parse_study_source(args.study)
    times, chosen = parse_phase_times(args.phase_times), parse_series(args.series)
    if args.series is None:
        study = load_study(source, phase_times_s=times, allow_mixed_study=args.allow_mixed_study)
        info = study_info(study)
    else:
        study, info = _load_with_table(source, times, chosen, args)
    if args.mask:
        mask = load_mask(args.mask, study.geometry, label=args.mask_label)
        info.update(mask_voxels=mask.n_voxels, mask_volume_ml=mask.volume_ml, mask_resampled=mask.resampled,
                    mask_notes=list(mask.notes))
        info["warnings"] += list(mask.warnings)
    if args.json:
        print(json_text(info))
        return 0
    if "series" in info:
        print("\n".join(series_table(info["series"])))
    print_info(info, bool(args.mask))
    return 0


def study_info(study) -> dict:
    return {
        "source": study.source,
        "layout": study.layout,
        "shape": list(study.data.shape),
        "spacing_mm": [float(s) for s in study.spacing_mm],
        "origin_mm": [float(v) for v in study.geometry.origin_mm],
        "phase_times_s": [float(t) for t in study.phase_times_s],
        "timing_source": study.timing_source,
        "phase_mean_intensity": study.phase_means(),
        "phases": [
            {"index0": p.index, "time_s": p.time_s, "source_tag": p.source_tag, "series_number": p.series_number,
             "series_description": p.series_description, "n_slices": p.n_slices}
            for p in study.phases
        ],
        "notes": list(study.notes),
        "warnings": list(study.warnings),
    }


def _load_with_table(source, times, chosen, args):
    """Exam scan, then the DCE; the series table is printed (or put in the JSON) even when loading fails."""
    from tnbc_desktop.core.io.exam_select import select_dce
    from tnbc_desktop.core.io.study_loader import examine_source, load_exam_study_guarded
    from tnbc_desktop.errors import TnbcError

    exam = examine_source(source)
    try:
        selection = select_dce(exam, chosen)
        study = load_exam_study_guarded(exam, times, chosen, args.allow_mixed_study)
    except TnbcError as err:
        rows = series_rows(exam)
        if args.json:
            print(json_text({"source": exam.scan.source, "series": rows, "selected_series": [],
                             "error": str(err)}))
        else:
            print("\n".join(series_table(rows)))
        raise
    info = study_info(study)
    info["series"] = series_rows(exam, selection)
    info["selected_series"] = list(selection.numbers)
    info["candidates"] = [{"series": list(c.numbers), "confidence": c.confidence, "reason": c.reason}
                          for c in exam.candidates]
    return study, info


def print_info(info: dict, with_mask: bool) -> None:
    print(f"{info['layout']}: {info['shape'][0]} phases of {info['shape'][1:]} (z,y,x) at "
          f"{info['spacing_mm']} mm; timing from {info['timing_source']} ({PHASE_NUMBERING_NOTE})")
    for p in info["phases"]:
        print(f"  phase {phase_number(p['index0'])}: t = {p['time_s']:.1f} s ({p['source_tag']}), "
              f"mean {info['phase_mean_intensity'][p['index0']]:.1f}")
    for note in info["notes"]:
        print(f"  note: {note}")
    for warning in info["warnings"]:
        print(f"  WARNING: {warning}")
    if with_mask:
        print(f"mask: {info['mask_voxels']} voxels, {info['mask_volume_ml']:.2f} ml"
              + (" (resampled onto the study grid)" if info["mask_resampled"] else ""))
