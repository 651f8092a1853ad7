"""The two report pages as lists of platypus flowables (DESIGN.md section 4, TRIPOD items in SPEC 11)."""
from __future__ import annotations

from datetime import datetime

import numpy as np
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from tnbc_desktop.core.case import MODEL_LABELS, REPORT_MODELS, CaseResult
from tnbc_desktop.core.phase_numbering import PHASE_NUMBERING_NOTE, phase_number
from tnbc_desktop.core.prediction_status import PredictionStatus, intended_use_text, prediction_display
from tnbc_desktop.core.report import figures
from tnbc_desktop.core.report.deid import Redactor, identity_rows
from tnbc_desktop.core.report.layout import FRAME_WIDTH, fmt, fmt_ci, png_image, table, text

KM_PREFERENCE = ("gprm", "prm", "model3", "model2", "model1")

LIMITATIONS = (
    "Research use only. Not a medical device; not a standalone basis for treatment decisions (TRIPOD 18).",
    "Intended population: adults with triple-negative breast cancer before neoadjuvant chemotherapy, imaged with "
    "pre-treatment DCE-MRI (TRIPOD 5a, 19b). Predictions outside this population are not valid.",
    "Outcome: pathological complete response (pCR = ypT0/is ypN0) after neoadjuvant chemotherapy (TRIPOD 6a).",
    "Method reproduced from Zhou et al., Cancer Imaging 2024 (doi:10.1186/s40644-024-00746-z); the published "
    "coefficients are not public, so the bundle named above was fitted separately (TRIPOD 15a/15b).",
    "Calibration may need updating at a new site, scanner or protocol (TRIPOD 17). Habitat clustering and "
    "radiomic features depend on acquisition timing, resolution and the tumour outline.",
)
#: radiomic + kinetic + MSI features the paper reports extracting (SPEC 6)
PAPER_FEATURE_COUNT = 11_258


def limitations(result: CaseResult) -> tuple[str, ...]:
    """:data:`LIMITATIONS` plus the line computed from this bundle and this run: the bundle's full feature
    count against the paper's, and whether the phases were registered."""
    n = result.bundle.full_feature_count
    if n is None:
        count = "the bundle does not say how many features its parameter file gives"
    elif n == PAPER_FEATURE_COUNT:
        count = f"feature count as in the paper ({n:,})"
    else:
        count = f"feature count differs from the paper ({n:,} vs {PAPER_FEATURE_COUNT:,}; SPEC 6)"
    return LIMITATIONS + (f"{count[0].upper()}{count[1:]}; registration between phases: {result.qc.registration}; "
                          "reference survival curves come from the bundle's training cohort.",)


def _identity_block(result: CaseResult, deidentify: bool, st, now: datetime | None) -> Table:
    rows = identity_rows(result, deidentify, now)
    return table([[k for k, _ in rows], [v for _, v in rows]], st["cell"])


def _inputs_rows(result: CaseResult, redact: Redactor) -> list[list[str]]:
    study, qc = result.study, result.qc
    times = ", ".join(f"{t:g}" for t in qc.phase_times_s)
    rows = [["Input", "Value"],
            ["DCE phases", f"{study.n_phases} phases at {times} s (timing: {qc.timing_source}); "
                           f"early = phase {_phase(qc.early_phase)}, late = phase {_phase(qc.late_phase)} "
                           f"({PHASE_NUMBERING_NOTE})"],
            ["Grid", redact(study.geometry.describe())],
            ["Tumour mask", f"{result.mask.volume_ml:.2f} mL ({result.mask.n_voxels} voxels)"
                            + ("; resampled onto the study grid" if qc.mask_resampled else "")
                            + _diameter_text(result)],
            ["Curve type", _curve_type_text(result)],
            ["Ki-67", _ki67_text(result, redact)],
            ["LVI", _lvi_text(result, redact)],
            ["Variants used", _variants_text(result, redact)]]
    return rows


def _diameter_text(result: CaseResult) -> str:
    d = result.reading.diameters if result.reading is not None else None
    return "" if d is None else f"; {d.describe()} (outer voxel edges)"


def _curve_type_text(result: CaseResult) -> str:
    r = result.reading
    if r is None:
        return "not computed"
    return f"{r.curve_text()} - rule: {r.rule}"


def _phase(index) -> str:
    return "-" if index is None else str(phase_number(index))


def _ki67_text(result: CaseResult, redact: Redactor) -> str:
    raw = result.inputs.ki67
    high = getattr(result.pathology, "ki67_high", None) if result.pathology is not None else None
    if raw is None or raw == "":
        return "not given (unknown)"
    flag = {True: ">= 20 %", False: "< 20 %", None: "unknown"}[high]
    ki67 = getattr(result.pathology, "ki67", None)
    given = ki67.describe() if hasattr(ki67, "describe") else f"{raw} %"
    return f"{redact(given)} (model input: {flag})"


def _lvi_text(result: CaseResult, redact: Redactor) -> str:
    present = getattr(result.pathology, "lvi_present", None) if result.pathology is not None else None
    if present is None:
        return "unknown" if result.inputs.lvi in (None, "") else f"unknown ({redact(result.inputs.lvi)})"
    return "present" if present else "absent"


def _variants_text(result: CaseResult, redact: Redactor) -> str:
    panel = result.mutation_panel
    if panel is None:
        return "no mutation file given (GPRM not available)"
    used = [v for v in getattr(panel, "variants", ()) if getattr(v, "used_by_model", False)]
    listed = "; ".join(f"{v.gene} {v.protein_change or '?'} ({v.variant_class}, VAF {fmt(v.vaf, 3)})"
                       for v in used) or "no non-synonymous REL/MED23 variant"
    return redact(f"{listed}. VAF sum (REL+MED23) = {fmt(getattr(panel, 'vaf_sum', None), 3)}")


def _predictions_rows(result: CaseResult, redact: Redactor) -> list[list[str]]:
    rows = [["Model", "P(pCR)", "95% CI", "Cutoff", "Predicted group"]]
    for name in REPORT_MODELS:
        shown = prediction_display(name, result.predictions.get(name), result.intended_use)
        label = MODEL_LABELS[name]
        if shown.status is PredictionStatus.NOT_AVAILABLE:
            rows.append([label, redact(shown.group_text), "", "", ""])
        else:
            rows.append([label, shown.probability_text, shown.ci_text, shown.cutoff_text, shown.group_text])
    return rows


def _merge_unavailable(tbl_rows: list[list[str]], tbl: Table) -> None:
    cmds = [("SPAN", (1, r), (4, r)) for r, row in enumerate(tbl_rows) if r and row[1].startswith("not available")]
    if cmds:
        tbl.setStyle(TableStyle(cmds))


def km_model(result: CaseResult) -> str | None:
    """The model whose reference KM panel the report (and the GUI at first) shows: the richest with a group."""
    for name in KM_PREFERENCE:
        if name in result.survival_groups:
            return name
    return None


def _dfs_rows(result: CaseResult) -> list[list[str]]:
    rows = [["Model", "Group", "DFS 1 y", "DFS 3 y", "DFS 5 y", "At risk 1/3/5y"]]
    for name in REPORT_MODELS:
        sg = result.survival_groups.get(name)
        if sg is None:
            continue
        cells = [fmt_ci(*sg.dfs.get(y, (None, None, None, None))[:3]) for y in (1, 3, 5)]
        risk = "/".join("-" if sg.dfs.get(y, (None,) * 4)[3] is None else str(sg.dfs[y][3]) for y in (1, 3, 5))
        shown = prediction_display(name, result.predictions.get(name), result.intended_use)
        rows.append([MODEL_LABELS.get(name, name), sg.group + ("" if shown.is_recommendation else " *"),
                     *cells, risk])
    return rows


def _side_by_side(left: Flowable, right: Flowable, left_w: float) -> Table:
    tbl = Table([[left, right]], colWidths=[left_w, FRAME_WIDTH - left_w], hAlign="LEFT")
    tbl.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                             ("RIGHTPADDING", (0, 0), (-1, -1), 2), ("TOPPADDING", (0, 0), (-1, -1), 0),
                             ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
    return tbl


def page_one(result: CaseResult, deidentify: bool, redact: Redactor, st, now: datetime | None = None) -> list:
    """Identifiers, inputs, images, curves, predictions and the Kaplan-Meier panel."""
    out: list = [text("TNBC neoadjuvant chemotherapy response - radiogenomic case report", st["title"]),
                 _identity_block(result, deidentify, st, now), Spacer(1, 4),
                 text("Inputs", st["h2"]),
                 table(_inputs_rows(result, redact), st["cell"], col_widths=[70, FRAME_WIDTH - 70],
                       bold_first_col=True)]
    early_index = result.qc.early_phase if result.qc.early_phase is not None else min(1, result.study.n_phases - 1)
    diameters = result.reading.diameters if result.reading is not None else None
    images = figures.habitat_images_png(result.study.data[early_index], result.habitat_labels, result.ring,
                                        result.mask.array, result.study.spacing_mm, result.habitat_fractions,
                                        diameters=diameters)
    curves = figures.curves_png(result.curves)
    out += [text("Images (early phase) and enhancement curves", st["h2"]),
            _side_by_side(png_image(images, 318), png_image(curves, FRAME_WIDTH - 322), 322)]
    pred_rows = _predictions_rows(result, redact)
    pred_tbl = table(pred_rows, st["cell"], col_widths=[44, 48, 62, 36, 106])
    _merge_unavailable(pred_rows, pred_tbl)
    gate = intended_use_text(result.intended_use)
    left: list = [text("Predictions (probability of pCR)", st["h2"])]
    if gate:
        left += [text(redact(gate), st["warn"]), Spacer(1, 2)]
    left += [pred_tbl, Spacer(1, 3),
                  text("P(pCR) >= cutoff means predicted pCR; when the 95 % confidence interval of the probability "
                       "includes the cutoff the prediction reads 'uncertain' and no group is given.", st["small"])]
    km_name = None if gate else km_model(result)
    right: Flowable
    if km_name is not None:
        sg = result.survival_groups[km_name]
        dfs = _dfs_rows(result)
        left += [text("Disease-free survival of the reference cohort's patients in each predicted group",
                      st["h2"]),
                 table(dfs, st["cell"], col_widths=[36, 40, 62, 62, 62, 40])]
        if any(row[1].endswith(" *") for row in dfs[1:]):
            left.append(text("* group of the point estimate only: that prediction is not a recommendation "
                             "(uncertain or uninformative, see above).", st["small"]))
        right = png_image(figures.km_png(sg, f"Reference cohort DFS by {MODEL_LABELS.get(km_name, km_name)} group"),
                          FRAME_WIDTH - 304)
    else:
        right = text("Kaplan-Meier panel not shown: the case is outside intended use." if gate else
                     "Kaplan-Meier panel not available: no model produced a predicted group.", st["body"])
    out += [_side_by_side(_stack(left), right, 302)]
    if result.warnings:
        out += [text("Warnings", st["h2"])]
        out += [text(f"- {redact(w)}", st["warn"]) for w in result.warnings[:6]]
        if len(result.warnings) > 6:
            out.append(text(f"... and {len(result.warnings) - 6} more (see page 2).", st["warn"]))
    return out


def _stack(flowables: list) -> Table:
    tbl = Table([[f] for f in flowables], hAlign="LEFT")
    tbl.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                             ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]))
    return tbl


def _performance_rows(result: CaseResult) -> list[list[str]]:
    rows = [["Model", "AUC training (95% CI)", "AUC validation (95% CI)", "Cal. intercept", "Cal. slope",
             "Brier", "Cutoff", "Sens/Spec"]]
    for p in result.bundle.performance:
        rows.append([MODEL_LABELS.get(p.model, p.model), fmt_ci(*p.auc_train), fmt_ci(*p.auc_validation),
                     fmt(p.calibration_intercept), fmt(p.calibration_slope), fmt(p.brier, 3), fmt(p.cutoff),
                     f"{fmt(p.sensitivity)}/{fmt(p.specificity)}"])
    return rows


def _qc_rows(result: CaseResult, redact: Redactor) -> list[list[str]]:
    qc = result.qc
    fr = ", ".join(f"H{i + 1} {100 * f:.1f}% ({v:.2f} mL)" for i, (f, v) in
                   enumerate(zip(qc.habitat_fractions, qc.habitat_volumes_ml or (0.0,) * 3)))
    rows = [["Check", "Result"],
            ["Phase times", f"{', '.join(f'{t:g}' for t in qc.phase_times_s)} s; source: {qc.timing_source}"],
            ["Registration", qc.registration],
            ["Mask", f"{qc.mask_volume_ml:.2f} mL; " + ("resampled (nearest neighbour) onto the study grid"
                                                         if qc.mask_resampled else "on the study grid")],
            ["Mask origin", redact(qc.mask_provenance) or "not recorded"],
            ["Peritumoral ring", f"{qc.ring_volume_ml:.2f} mL (0 < d <= 5 mm)"],
            ["Habitats", f"{qc.habitat_mode}: {fr}"],
            ["Kinetic voxels", f"{qc.n_invalid_voxels} invalid (S0 guard), {qc.n_ser_clipped} with SER clipped"],
            ["Out-of-range inputs", redact("; ".join(qc.out_of_range)) or "none"],
            ["Not computable", redact("; ".join(qc.not_computable)) or "none"]]
    rows += [["Note", redact(n)] for n in qc.notes[:4]]
    extra = list(result.warnings[6:])
    if extra:
        rows.append(["More warnings", redact("; ".join(extra))])
    timing = ", ".join(f"{k} {v:.2f}" for k, v in result.timings_s.items())
    rows.append(["Step timings (s)", timing])
    return rows


def page_two(result: CaseResult, redact: Redactor, st, versions: dict[str, str]) -> list:
    """Model card, quality checks, software versions and limitations."""
    b = result.bundle
    card = [["Bundle", f"{b.name} version {b.version}" + ("  (DEMO: synthetic training data)" if b.is_demo else "")],
            ["SHA-256", b.sha256],
            ["Intended use", b.intended_use or "research decision support; see limitations"],
            ["Outcome", b.outcome],
            ["Training cohort", b.training_cohort or "-"]]
    card += [["Note", n] for n in b.notes[:3]]
    card += [[MODEL_LABELS.get(m, m), f"not trainable: {why}"] for m, why in b.not_trainable]
    out: list = [text("Model card", st["h2"]),
                 table(card, st["cell"], col_widths=[70, FRAME_WIDTH - 70], header=False, bold_first_col=True),
                 Spacer(1, 3)]
    perf = _performance_rows(result)
    if len(perf) > 1:
        out += [text("Development and validation performance", st["h2"]),
                table(perf, st["cell"], col_widths=[44, 92, 92, 52, 44, 38, 38, 60]),
                text("Calibration, Brier score and sensitivity/specificity at the cutoff: validation set where the "
                     "bundle reports them, otherwise training set. Calibration may need updating at a new site.",
                     st["small"])]
    out += [text("Quality checks", st["h2"]),
            table(_qc_rows(result, redact), st["cell"], col_widths=[80, FRAME_WIDTH - 80], bold_first_col=True)]
    items = [f"tnbc-desktop {result.app_version}"] + [f"{k} {v}" for k, v in versions.items()]
    n_cols = 4
    rows = [items[i:i + n_cols] + [""] * (n_cols - len(items[i:i + n_cols])) for i in range(0, len(items), n_cols)]
    out += [text("Software versions", st["h2"]), table(rows, st["small"], header=False)]
    out += [text("Limitations", st["h2"])] + [text(f"- {line}", st["body"]) for line in limitations(result)]
    return out


def habitat_volumes_ml(labels: np.ndarray, voxel_volume_mm3: float) -> tuple[float, ...]:
    """Volume (mL) of habitats 1..3 in a label map [z, y, x]."""
    return tuple(float(np.count_nonzero(labels == k)) * voxel_volume_mm3 / 1000.0 for k in (1, 2, 3))
