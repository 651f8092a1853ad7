"""Model card (Markdown) for a trained bundle: identity, intended use, cohort, settings, performance, notes."""
from __future__ import annotations

from pathlib import Path

from tnbc_desktop.core.io.atomic import write_text_atomic

MODEL_TITLES = {"model1": "Model 1 (habitat + peritumoral)", "model2": "Model 2 (kinetic)",
                "model3": "Model 3 (radiomic)", "prm": "PRM (Model 3 + Ki-67 + LVI)",
                "gprm": "GPRM (PRM + REL/MED23 VAF)"}


def _num(v, fmt: str = ".3f") -> str:
    return "n/a" if v is None else format(float(v), fmt)


def _perf_cell(perf: dict | None) -> str:
    if not perf:
        return "n/a"
    lo, hi = (perf.get("auc_ci") or [None, None])
    return f"{_num(perf.get('auc'))} ({_num(lo)}-{_num(hi)})"


def performance_rows(doc: dict, splits=("training", "validation", "external")) -> list[list[str]]:
    """Rows [model, n features, cutoff, AUC (95 % CI) per split, sens/spec/Brier on validation (else training)]."""
    rows = []
    for name, title in MODEL_TITLES.items():
        m = doc["models"][name]
        if "not_trainable" in m:
            rows.append([title, "-", "-"] + [f"not trainable: {m['not_trainable']}"] + ["-"] * (len(splits) + 2))
            continue
        perf = m.get("performance") or {}
        ref = perf.get("validation") or perf.get("training") or {}
        rows.append([title, str(len(m["features"])), _num(m["cutoff"])]
                    + [_perf_cell(perf.get(s)) for s in splits]
                    + [_num(ref.get("sensitivity")), _num(ref.get("specificity")), _num(ref.get("brier"))])
    return rows


def external_collection_lines(doc: dict) -> list[str]:
    """'External validation by collection' table: AUC (95 % CI) per model and external collection."""
    per = {name: ((doc["models"][name].get("performance") or {}).get("external_by_collection") or {})
           for name in MODEL_TITLES if "not_trainable" not in doc["models"][name]}
    collections = sorted({c for v in per.values() for c in v})
    if not collections:
        return []
    out = ["## External validation by collection (AUC with DeLong 95 % CI)", "",
           "| Model | " + " | ".join(collections) + " |", "|---|" + "---|" * len(collections)]
    for name, by in per.items():
        cells = []
        for c in collections:
            perf = by.get(c) or {}
            cells.append(f"{_perf_cell(perf)}, n={perf.get('n', 0)} ({perf.get('n_pcr', 0)} pCR)" if perf else "n/a")
        out.append(f"| {MODEL_TITLES[name]} | " + " | ".join(cells) + " |")
    return out + ["", "AUC needs at least one patient of each class; its CI needs two.", ""]


def envelope_lines(env: dict | None) -> list[str]:
    """The card's 'Training envelope' section (what the intended-use gate compares each case with)."""
    from tnbc_desktop.core.intended_use import ENVELOPE_FIELDS

    if not env:
        return ["## Training envelope", "", "- Not recorded: cases are checked against the hard limits only.", ""]
    out = ["## Training envelope", "",
           f"Acquisition of the {env.get('n_cases')} training patients; a case outside it (with a 10 % margin) or "
           "outside the hard limits is reported as outside intended use, without a recommendation.", "",
           f"- Species: {', '.join(env.get('species') or [])}"]
    for key, (label, unit) in ENVELOPE_FIELDS.items():
        r = env.get(key)
        if r:
            out.append(f"- {label}: {r['min']:g}-{r['max']:g}{unit}")
    return out + [""]


def model_card_markdown(doc: dict, extra_lines: list[str] | tuple[str, ...] = ()) -> str:
    """The card text for a sealed bundle document."""
    tc = doc["card"]["training_cohort"]
    ex = doc["extraction"]
    lines = [f"# Model card: {doc['name']} {doc['version']}", "",
             f"**{doc['card']['notice']}**", "",
             f"- Bundle SHA-256 (content): `{doc['sha256']}`",
             f"- Created: {doc.get('created', 'n/a')}",
             f"- Demo bundle: {'yes' if doc['is_demo'] else 'no'}",
             f"- Intended use: {doc['intended_use']}",
             f"- Outcome: {doc['card']['outcome']}", "",
             "## Training cohort", "",
             f"- Source: {tc.get('source')}",
             f"- Training n = {tc.get('n')}, validation n = {tc.get('n_validation', 0)}, external n = "
             f"{tc.get('n_external', 0)}; training pCR rate {_num(tc.get('pcr_rate'))}",
             f"- Manifest: {tc.get('manifest', 'n/a')} (SHA-256 `{tc.get('manifest_sha256', 'n/a')}`)", ""]
    lines += envelope_lines(doc.get("training_envelope"))
    lines += ["## Extraction settings", "",
              f"- pyradiomics parameter file: {ex['pyradiomics_params_file']} "
              f"(SHA-256 `{ex['pyradiomics_params_sha256']}`)",
              f"- Kinetic settings: {ex['kinetic_settings']}",
              f"- Peritumoral ring: {ex['ring_width_mm']} mm; MSI neighbourhood: {ex['msi_connectivity']}",
              f"- Candidate features: {ex.get('n_candidate_features', 'n/a')} ({ex.get('feature_set', 'n/a')})", "",
              "## Performance (AUC with DeLong 95 % CI)", "",
              "| Model | Inputs | Cutoff | Training | Validation | External | Sens. | Spec. | Brier |",
              "|---|---|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in performance_rows(doc)]
    lines += ["", "Sensitivity, specificity and Brier score on the validation split (training if none); "
              "'pCR' is predicted when P(pCR) >= cutoff (Youden on training).", ""]
    lines += external_collection_lines(doc)
    comps = doc.get("comparisons") or {}
    if comps:
        lines += ["## Comparisons", ""]
        for key, c in comps.items():
            lines.append(f"- {key}: AUC {_num(c.get('auc_a'))} vs {_num(c.get('auc_b'))}, z = {_num(c.get('z'))}, "
                         f"P = {_num(c.get('p'), '.4f')}")
        lines.append("")
    cox = doc.get("cox")
    if cox:
        lines += ["## Multivariable Cox (DFS)", "", f"{cox.get('model', '')}; n = {cox.get('n')}, events = "
                  f"{cox.get('n_events')}, concordance {_num(cox.get('concordance'))}", ""]
        for name, c in (cox.get("covariates") or {}).items():
            lines.append(f"- {name}: HR {_num(c.get('hr'))} ({_num(c.get('ci_low'))}-{_num(c.get('ci_high'))}), "
                         f"P = {_num(c.get('p'), '.4f')}")
        lines.append("")
    if extra_lines:
        lines += ["## Check against the generator's truth", ""] + [f"- {x}" for x in extra_lines] + [""]
    lines += ["## Selected inputs", ""]
    for name, title in MODEL_TITLES.items():
        m = doc["models"][name]
        lines.append(f"- {title}: " + (f"not trainable: {m['not_trainable']}" if "not_trainable" in m
                                       else ", ".join(f"`{f}`" for f in m["features"])))
    lines += ["", "## Training notes", ""] + [f"- {n}" for n in doc.get("training_notes", [])]
    lines += ["", "## Limitations", ""] + [f"- {n}" for n in doc["card"].get("limitations", [])]
    if doc["is_demo"]:
        lines += ["", "## Rebuild", "", "`tnbc-desktop train --synthetic-demo --out models/demo_bundle.json` "
                  "(deterministic: same seed -> same bundle SHA-256)."]
    return "\n".join(lines) + "\n"


def write_model_card(result, path: str | Path, extra_lines=()) -> Path:
    """Write the card of ``result.bundle`` (a TrainingResult) atomically."""
    return write_text_atomic(path, model_card_markdown(result.bundle, list(extra_lines)))


__all__ = ["model_card_markdown", "write_model_card", "performance_rows", "MODEL_TITLES"]
