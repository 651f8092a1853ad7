"""Training report PDF (reportlab + matplotlib Agg), laid out like the paper's Tables 2-4 and figures.

Sections: cohort and settings; Table 2 (selected inputs and coefficients); Table 3 (discrimination: AUC with
95 % CI, accuracy, sensitivity, specificity per model and split); DeLong comparisons; calibration (intercept,
slope, Brier + plots); ROC curves per split; decision curves (event = non-pCR); Kaplan-Meier DFS by predicted
group with log-rank P; Table 4 (multivariable Cox); training notes. Every page carries the bundle identity and,
for a demo bundle, its notice. Written atomically.
"""
from __future__ import annotations

from pathlib import Path

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak, SimpleDocTemplate, Spacer, Table

from tnbc_desktop.core.io.atomic import write_with_atomic
from tnbc_desktop.core.report.layout import (FONT, FRAME_WIDTH, MARGIN_BOTTOM, MARGIN_TOP, MARGIN_X, PAGE_SIZE,
                                             fmt, fmt_ci, png_image, styles, table, text)
from tnbc_desktop.core.training.card import MODEL_TITLES
from tnbc_desktop.core.training.evaluate import compare_delong
from tnbc_desktop.core.report.figures import km_png
from tnbc_desktop.core.survival_group import reference_curves
from tnbc_desktop.core.training.report_figures import MODEL_SHORT, calibration_png, decision_png, roc_png

SECTION_TITLES = ("Cohort and settings", "Table 2. Selected inputs", "Table 3. Discrimination",
                  "DeLong comparisons", "Calibration", "ROC curves", "Decision curves",
                  "Kaplan-Meier disease-free survival", "Table 4. Multivariable Cox", "Training notes")
COMPARISONS = (("gprm", "model3"), ("prm", "model3"), ("gprm", "prm"), ("model3", "model1"), ("model3", "model2"))


def _splits(result) -> list[str]:
    present = set(result.scores["split"].dropna())
    return [s for s in ("training", "validation", "external") if {"training": "train"}.get(s, s) in present]


def _split_key(split: str) -> str:
    return "train" if split == "training" else split


def _fitted(doc: dict) -> list[str]:
    """Model names the bundle fitted (PRM / GPRM may be recorded as not trainable)."""
    return [n for n in MODEL_TITLES if "not_trainable" not in doc["models"][n]]


def _selected_rows(doc: dict) -> list[list[str]]:
    rows = [["Model", "Input", "Coefficient (per SD)", "Training mean", "Training SD"]]
    for name, title in MODEL_TITLES.items():
        m = doc["models"][name]
        if "not_trainable" in m:
            rows.append([title, f"not trainable: {m['not_trainable']}", "", "", ""])
            continue
        rows.append([title, "(intercept)", fmt(m["intercept"], 3), "", ""])
        for f, b, mu, sd in zip(m["features"], m["coefficients"], m["z_mean"], m["z_sd"]):
            rows.append(["", f, fmt(b, 3), fmt(mu, 4), fmt(sd, 4)])
    return rows


def _discrimination_rows(doc: dict, splits: list[str]) -> list[list[str]]:
    rows = [["Model", "Split", "n (pCR)", "AUC (95 % CI)", "Accuracy", "Sensitivity", "Specificity", "Cutoff"]]
    for name in _fitted(doc):
        m = doc["models"][name]
        perf = m.get("performance") or {}
        by_collection = [(f"external {c}", p) for c, p in sorted((perf.get("external_by_collection") or {}).items())]
        for s, p in [(s, perf.get(s)) for s in splits] + by_collection:
            if not p:
                rows.append([MODEL_SHORT[name], s, "-", "not evaluable", "-", "-", "-", fmt(m["cutoff"], 3)])
                continue
            lo, hi = p.get("auc_ci") or (None, None)
            rows.append([MODEL_SHORT[name], s, f"{p.get('n')} ({p.get('n_pcr', '-')})", fmt_ci(p.get("auc"), lo, hi, 3),
                         fmt(p.get("accuracy"), 3), fmt(p.get("sensitivity"), 3), fmt(p.get("specificity"), 3),
                         fmt(m["cutoff"], 3)])
    return rows


def delong_rows(scores, splits: list[str]) -> list[list[str]]:
    """Paired DeLong tests on the patients where both models have a probability."""
    rows = [["Split", "Comparison", "n", "AUC a", "AUC b", "z", "P"]]
    for s in splits:
        sub = scores[scores["split"] == _split_key(s)]
        for a, b in COMPARISONS:
            ok = sub[f"p_{a}"].notna() & sub[f"p_{b}"].notna()
            res = compare_delong(sub.loc[ok, "pcr"].to_numpy(int), sub.loc[ok, f"p_{a}"].to_numpy(float),
                                 sub.loc[ok, f"p_{b}"].to_numpy(float))
            if res is None:
                continue
            rows.append([s, f"{MODEL_SHORT[a]} vs {MODEL_SHORT[b]}", str(int(ok.sum())), fmt(res["auc_a"], 3),
                         fmt(res["auc_b"], 3), fmt(res["z"], 2), fmt(res["p"], 4)])
    return rows


def _calibration_rows(doc: dict, splits: list[str]) -> list[list[str]]:
    rows = [["Model", "Split", "Calibration intercept", "Calibration slope", "Brier score"]]
    for name in _fitted(doc):
        for s in splits:
            p = (doc["models"][name].get("performance") or {}).get(s)
            if p:
                rows.append([MODEL_SHORT[name], s, fmt(p.get("calibration_intercept"), 3),
                             fmt(p.get("calibration_slope"), 3), fmt(p.get("brier"), 3)])
    return rows


def _logrank_rows(doc: dict) -> list[list[str]]:
    rows = [["Model", "Cohort", "Predicted pCR: n (events)", "Predicted non-pCR: n (events)", "log-rank P"]]
    for name in _fitted(doc):
        surv = doc["models"][name].get("survival")
        if not surv:
            continue
        curves = surv.get("curves") or {}
        cell = lambda g: f"{curves[g]['n']} ({curves[g]['n_events']})" if g in curves else "-"  # noqa: E731
        rows.append([MODEL_SHORT[name], surv.get("cohort", ""), cell("pCR"), cell("non-pCR"),
                     fmt(surv.get("logrank_p"), 4)])
    return rows


def _cox_rows(cox: dict | None) -> list[list[str]]:
    rows = [["Covariate", "HR (95 % CI)", "P"]]
    for name, c in ((cox or {}).get("covariates") or {}).items():
        rows.append([name, fmt_ci(c.get("hr"), c.get("ci_low"), c.get("ci_high"), 3), fmt(c.get("p"), 4)])
    return rows


def _figure_grid(pngs: list[bytes], per_row: int = 3) -> Table:
    width = FRAME_WIDTH / per_row - 4
    cells = [png_image(p, width) for p in pngs]
    rows = [cells[i:i + per_row] for i in range(0, len(cells), per_row)]
    if rows and len(rows[-1]) < per_row:
        rows[-1] = rows[-1] + [""] * (per_row - len(rows[-1]))
    return Table(rows, hAlign="LEFT")


def _story(result, extra_lines) -> list:
    st = styles()
    doc = result.bundle
    tc = doc["card"]["training_cohort"]
    splits = _splits(result)
    h = lambda i: text(SECTION_TITLES[i], st["h2"])  # noqa: E731
    story = [text(f"Training report: {doc['name']} {doc['version']}", st["title"]),
             text(doc["card"]["notice"], st["warn"] if doc["is_demo"] else st["body"]),
             text(f"Bundle SHA-256 {doc['sha256']}; created {doc.get('created', '-')}", st["small"]), h(0)]
    ex = doc["extraction"]
    story.append(table([["Item", "Value"],
                        ["Source", tc.get("source")],
                        ["Patients", f"training {tc.get('n')}, validation {tc.get('n_validation', 0)}, "
                                     f"external {tc.get('n_external', 0)}"],
                        ["Training pCR rate", fmt(tc.get("pcr_rate"), 3)],
                        ["Training patients with a MAF", tc.get("n_with_maf")],
                        ["Manifest", f"{tc.get('manifest')} (SHA-256 {tc.get('manifest_sha256')})"],
                        ["Radiomics parameters",
                         f"{ex['pyradiomics_params_file']} ({ex['pyradiomics_params_sha256']})"],
                        ["Candidate features", f"{ex.get('n_candidate_features')} ({ex.get('feature_set')})"],
                        ["Ring / MSI", f"{ex['ring_width_mm']} mm / {ex['msi_connectivity']}"],
                        ["Outcome", doc["card"]["outcome"]]],
                       st["cell"], col_widths=[110, FRAME_WIDTH - 110]))
    for line in extra_lines or ():
        story.append(text(line, st["body"]))
    story += [h(1), table(_selected_rows(doc), st["cell"], col_widths=[95, 235, 70, 70, 69])]
    story += [h(2), table(_discrimination_rows(doc, splits), st["cell"])]
    story += [h(3), table(delong_rows(result.scores, splits), st["cell"])]
    story += [h(4), table(_calibration_rows(doc, splits), st["cell"]),
              _figure_grid([calibration_png(result.scores, _split_key(s)) for s in splits])]
    story += [PageBreak(), h(5), _figure_grid([roc_png(result.scores, _split_key(s)) for s in splits])]
    story += [h(6), text("Net benefit for predicting non-pCR (the clinically actionable prediction); "
                         "treat-all and treat-none for reference.", st["small"]),
              _figure_grid([decision_png(result.scores, _split_key(s)) for s in splits])]
    kms = [km_png(reference_curves(m, doc["models"][m]["survival"]), f"{MODEL_SHORT[m]} "
                  f"({doc['models'][m]['survival'].get('cohort', '')})", size_in=(3.4, 2.8))
           for m in ("model3", "prm", "gprm") if m in _fitted(doc) and doc["models"][m].get("survival")]
    story += [h(7)]
    story += [table(_logrank_rows(doc), st["cell"]), _figure_grid(kms)] if kms else \
        [text("No DFS data in the manifest: not computed.", st["body"])]
    cox = doc.get("cox")
    story += [KeepTogether([h(8), text(cox.get("model", "") + f"; n = {cox.get('n')}, events = {cox.get('n_events')}, "
                                       f"concordance {fmt(cox.get('concordance'), 3)}", st["small"]) if cox else
                            text("Not fitted.", st["body"]), table(_cox_rows(cox), st["cell"])])]
    story += [h(9)] + [text(n, st["small"]) for n in doc.get("training_notes", [])]
    story += [Spacer(1, 3 * mm)] + [text(n, st["small"]) for n in doc["card"].get("limitations", [])]
    return story


def write_training_report(result, path: str | Path, extra_lines=()) -> Path:
    """Write the training report of a TrainingResult to ``path`` (PDF, atomic); returns the path."""
    doc = result.bundle
    footer = f"{doc['name']} {doc['version']} - bundle {doc['sha256'][:16]}"
    notice = doc["card"]["notice"] if doc["is_demo"] else "Research use only."

    def on_page(canvas, document):
        canvas.saveState()
        canvas.setFont(FONT, 6.5)
        canvas.drawString(MARGIN_X, PAGE_SIZE[1] - 26, notice)
        canvas.drawString(MARGIN_X, 18, f"{footer} - page {document.page}")
        canvas.restoreState()

    story = _story(result, extra_lines)

    def build(handle) -> None:
        pdf = SimpleDocTemplate(handle, pagesize=PAGE_SIZE, leftMargin=MARGIN_X, rightMargin=MARGIN_X,
                                topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, title="tnbc-desktop training report",
                                author="tnbc-desktop", invariant=1)
        pdf.build(story, onFirstPage=on_page, onLaterPages=on_page)

    return write_with_atomic(Path(path), build)


__all__ = ["write_training_report", "delong_rows", "SECTION_TITLES"]
