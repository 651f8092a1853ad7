"""Train a model bundle from a cohort manifest (SPEC sections 8 and 15): manifest -> features -> fit -> bundle.

Steps of :func:`train_from_manifest`:
1. validate the manifest (mask, pcr and split on every row; dfs_months/dfs_event used for survival when every
   row has them); parse Ki-67 / LVI (-> ki67_high, lvi) and read each MAF for its sample (-> vaf_sum); every
   problem is listed by row in one :class:`InputError`;
2. features: the given table (from ``cohort extract``, with its ``habitat_model.json`` beside it) or
   :func:`~tnbc_desktop.core.cohort.extract_cohort` into ``work_dir/features`` (resumable; the habitat model is
   fitted on TRAINING voxels only);
3. reader 2: features on ``mask2`` for a random subset of training patients (default 30), same habitat model
   and names, for the ICC >= 0.75 filter;
4. training envelope: the acquisition range of the training patients (:mod:`.envelope`), for the
   intended-use gate at prediction time;
5. :func:`~tnbc_desktop.core.training.fit.fit_models` (training rows), evaluation on validation and external;
6. :func:`~tnbc_desktop.core.bundle.assemble_bundle` + :func:`~tnbc_desktop.core.bundle.save_bundle`.

Deterministic: the same manifest, features and seed give a byte-identical bundle; ``created`` comes from
``options.created``, else ``SOURCE_DATE_EPOCH``, else the current time.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from tnbc_desktop.core.io.safe_json import read_json
from tnbc_desktop.core.io.atomic import write_text_atomic
from tnbc_desktop.core.manifest import Manifest, read_manifest
from tnbc_desktop.core.training.envelope import manifest_envelope
from tnbc_desktop.core.training.evaluate import model_linear_predictor, model_probabilities, performance
from tnbc_desktop.core.training.fit import SelectionSettings, fit_models
from tnbc_desktop.errors import InputError, TnbcError
from tnbc_desktop.logsafe import get_logger

log = get_logger(__name__)
TRAIN_REQUIRED_COLUMNS = ("mask", "pcr", "split")
MODEL_KEYS = ("model1", "model2", "model3", "prm", "gprm")


@dataclass(frozen=True)
class TrainOptions:
    """How to train. ``names``: restrict the candidate features (None = full extraction, 11,238 names);
    ``work_dir``: extraction cache (default ``<out>.work/`` next to the bundle); ``icc_subset``: number of
    training patients whose reader-2 mask is extracted for the ICC filter (0 = no ICC)."""

    out: Path
    features_table: Path | None = None
    work_dir: Path | None = None
    workers: int = 2
    scheduler: str | None = None
    name: str = "site bundle"
    version: str = "1.0"
    icc_subset: int = 30
    seed: int = 0
    names: tuple[str, ...] | None = None
    is_demo: bool = False
    source: str = "site cohort"
    created: str | None = None
    notice: str | None = None
    limitations: tuple[str, ...] = ()
    settings: SelectionSettings = field(default_factory=SelectionSettings)


@dataclass(frozen=True)
class TrainingResult:
    """The sealed bundle document and what the training report needs.

    ``scores``: one row per patient (index patient_id) with split, pcr, dfs_months, dfs_event and
    ``p_<model>`` = P(pCR) of each model (NaN where an input is missing)."""

    bundle_path: Path
    bundle: dict
    scores: pd.DataFrame
    fit: dict
    timings_s: dict[str, float]
    notes: tuple[str, ...]
    failed: dict[str, str]


# ---------------------------------------------------------------- manifest and clinical inputs

def load_training_manifest(path: str | Path) -> Manifest:
    """Manifest with mask, pcr, split on every row; both classes in the training split (InputError if not)."""
    manifest = read_manifest(path, require=TRAIN_REQUIRED_COLUMNS)
    train = manifest.by_split("train")
    problems = []
    if not train:
        problems.append("no row has split = train")
    else:
        counts = np.bincount([r.pcr for r in train], minlength=2)
        if counts.min() < 5:
            problems.append(f"the training split needs at least 5 patients of each class (pCR {counts[1]}, "
                            f"non-pCR {counts[0]})")
    if problems:
        raise InputError("manifest cannot be used for training:\n  " + "\n  ".join(problems), path)
    return manifest


def clinical_table(manifest: Manifest) -> pd.DataFrame:
    """Per patient (index patient_id): split, pcr, ki67_high, lvi, vaf_sum, dfs_months, dfs_event (NaN = unknown).

    Ki-67 and LVI are parsed with :mod:`tnbc_desktop.core.io.clinical`; vaf_sum = summed VAF of non-synonymous
    REL + MED23 variants from the row's MAF and sample. Every bad value is listed by row in one InputError.
    """
    from tnbc_desktop.core.io.clinical import parse_ki67, parse_lvi
    from tnbc_desktop.core.io.mutations import read_mutation_panel

    problems: list[str] = []
    records = []
    for r in manifest.rows:
        rec = {"patient_id": r.patient_id, "split": r.split, "collection": r.collection or "", "pcr": float(r.pcr),
               "dfs_months": np.nan if r.dfs_months is None else float(r.dfs_months),
               "dfs_event": np.nan if r.dfs_event is None else float(r.dfs_event),
               "ki67_high": np.nan, "lvi": np.nan, "vaf_sum": np.nan}
        try:
            high = parse_ki67(r.ki67_percent).high
            rec["ki67_high"] = np.nan if high is None else float(high)
            present = parse_lvi(r.lvi).present
            rec["lvi"] = np.nan if present is None else float(present)
        except TnbcError as exc:
            problems.append(f"row {r.row_number}: {exc.problem if hasattr(exc, 'problem') else exc}")
        if r.maf is not None:
            try:
                panel = read_mutation_panel(r.maf, sample=r.sample)
                rec["vaf_sum"] = np.nan if panel.vaf_sum is None else float(panel.vaf_sum)
            except TnbcError as exc:
                problems.append(f"row {r.row_number}: mutation file: {getattr(exc, 'problem', exc)}")
        records.append(rec)
    if problems:
        raise InputError("manifest clinical/genomic inputs have problems:\n  " + "\n  ".join(problems[:50]),
                         manifest.path)
    return pd.DataFrame.from_records(records).set_index("patient_id")


# ---------------------------------------------------------------- features

def _read_table(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types; all mean "not a usable table"
        raise InputError(f"cannot read the feature table ({type(exc).__name__})", path) from None
    if "patient_id" not in df.columns:
        raise InputError("the feature table has no patient_id column", path)
    return df.set_index("patient_id").sort_index(axis=1)


def _habitat_model_beside(table: Path) -> dict:
    hm = table.parent / "habitat_model.json"
    try:
        return read_json(hm, InputError, what="habitat_model.json")
    except InputError as exc:
        raise InputError("the features were computed with a habitat model that must sit beside the table as "
                         f"habitat_model.json (as 'cohort extract' writes it): {exc.problem}", table) from None


def _extract(manifest_path: Path, out: Path, options: TrainOptions, names, habitat_model: dict | None):
    from tnbc_desktop.core.cohort import extract_cohort

    res = extract_cohort(manifest_path, out, scheduler=options.scheduler, n_workers=options.workers,
                         names=names, habitat_model=habitat_model)
    return res


def _reader2_manifest(manifest: Manifest, out: Path, n: int, seed: int) -> tuple[Path | None, list[str]]:
    """A derived manifest (absolute paths, mask := mask2) for a seeded random subset of training patients."""
    rows = [r for r in manifest.by_split("train") if r.mask2 is not None]
    if not rows or n <= 0:
        return None, []
    rng = np.random.default_rng([seed, 2])
    pick = sorted(rng.choice(len(rows), size=min(n, len(rows)), replace=False).tolist())
    chosen = [rows[i] for i in pick]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["patient_id", "study", "mask", "phase_times_s", "split"])
    for r in chosen:
        times = ";".join(f"{t:g}" for t in r.phase_times_s) if r.phase_times_s else ""
        w.writerow([r.patient_id, r.study_text, str(r.mask2), times, "train"])
    path = out / "reader2_manifest.csv"
    write_text_atomic(path, buf.getvalue())
    return path, [r.patient_id for r in chosen]


# ---------------------------------------------------------------- evaluation helpers

def _clinical_frame(table: pd.DataFrame, clin: pd.DataFrame, models: dict) -> pd.DataFrame:
    both = pd.concat([table, clin.loc[table.index, ["ki67_high", "lvi", "vaf_sum"]]], axis=1)
    both["radscore_model3"] = model_linear_predictor(models["model3"], both)
    return both


def score_patients(table: pd.DataFrame, clin: pd.DataFrame, models: dict) -> pd.DataFrame:
    """P(pCR) per model for every patient of ``table`` (NaN where an input is missing)."""
    both = _clinical_frame(table, clin, models)
    cols = ["split", "pcr", "dfs_months", "dfs_event"] + (["collection"] if "collection" in clin.columns else [])
    out = clin.loc[table.index, cols].copy()
    for name in MODEL_KEYS:
        fitted = "not_trainable" not in models[name]
        out[f"p_{name}"] = model_probabilities(models[name], both) if fitted else np.nan
    return out


def _external_block(models: dict, scores: pd.DataFrame) -> None:
    """External performance, overall and per collection (when the manifest names collections)."""
    ext = scores[scores["split"] == "external"]
    if ext.empty:
        return
    for name in MODEL_KEYS:
        if "not_trainable" in models[name]:
            continue
        ok = ext[f"p_{name}"].notna().to_numpy()
        perf = performance(ext["pcr"].to_numpy()[ok], ext[f"p_{name}"].to_numpy()[ok], models[name]["cutoff"])
        models[name]["performance"]["external"] = perf
        by = {}
        groups = ext[ok].groupby("collection") if "collection" in ext.columns else ()
        for coll, sub in groups:
            if coll:
                by[str(coll)] = collection_performance(sub["pcr"].to_numpy(), sub[f"p_{name}"].to_numpy(),
                                                       models[name]["cutoff"])
        if by:
            models[name]["performance"]["external_by_collection"] = by


def collection_performance(y, prob, cutoff: float) -> dict:
    """Performance on one external collection. Small collections still get an AUC (Mann-Whitney) when both
    classes are present; the DeLong CI and calibration need two of each class, else they are None. [D]"""
    y = np.asarray(y).astype(int)
    full = performance(y, prob, cutoff)
    if full is not None:
        return full
    from tnbc_desktop.core.training.stats import auc, confusion_at

    both = 0 < int(y.sum()) < y.size
    conf = confusion_at(y, prob, cutoff)
    return {"n": int(y.size), "n_pcr": int(y.sum()), "auc": auc(y, np.asarray(prob, float)) if both else None,
            "auc_ci": [None, None], "accuracy": conf["accuracy"],
            "sensitivity": conf["sensitivity"] if y.sum() else None,
            "specificity": conf["specificity"] if y.size > y.sum() else None}


def _created(options: TrainOptions) -> str:
    if options.created:
        return options.created
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch and epoch.isdigit() else datetime.now(timezone.utc)
    return when.replace(microsecond=0).isoformat()


def _extraction_settings(habitat_model: dict, names: Sequence[str] | None, n_candidates: int) -> dict:
    """The bundle's ``extraction``: the settings cohort extraction ran the imaging chain with, plus a record
    of the candidate feature set."""
    from tnbc_desktop.core.bundle_settings import default_extraction
    from tnbc_desktop.core.features.extract import feature_count

    settings = default_extraction(slopes=str(habitat_model.get("slopes", "relative")))
    return {**settings.to_document(), "habitat_mode": "population",
            "feature_set": "full" if n_candidates >= feature_count(settings.params) else "restricted",
            "n_candidate_features": int(n_candidates)}


def _cohort_summary(manifest: Manifest, clin: pd.DataFrame, source: str) -> dict:
    tr = clin[clin["split"] == "train"]
    return {"n": int(len(tr)), "n_validation": int((clin["split"] == "validation").sum()),
            "n_external": int((clin["split"] == "external").sum()), "pcr_rate": float(tr["pcr"].mean()),
            "pcr_rate_all": float(clin["pcr"].mean()), "n_with_maf": int(tr["vaf_sum"].notna().sum()),
            "source": source, "manifest": manifest.path.name,
            "manifest_sha256": hashlib.sha256(manifest.path.read_bytes()).hexdigest(),
            "dates": "not recorded in the manifest"}


# ---------------------------------------------------------------- the pipeline

def train_from_manifest(manifest_path: str | Path, options: TrainOptions,
                        progress: Callable[[str], None] | None = None) -> TrainingResult:
    """Manifest -> features -> five models -> sealed bundle at ``options.out`` (see module docstring)."""
    say = progress or (lambda msg: None)
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    notes: list[str] = []
    manifest_path = Path(manifest_path)
    manifest = load_training_manifest(manifest_path)
    clin = clinical_table(manifest)
    survival = bool(clin["dfs_months"].notna().all() and clin["dfs_event"].notna().all())
    if not survival:
        notes.append("dfs_months/dfs_event missing on some rows: survival curves and Cox model not fitted")
        clin[["dfs_months", "dfs_event"]] = np.nan
    out = Path(options.out)
    work = Path(options.work_dir) if options.work_dir else out.with_name(out.name + ".work")
    names = list(options.names) if options.names else None

    t0 = time.perf_counter()
    failed: dict[str, str] = {}
    if options.features_table is not None:
        say("reading the feature table")
        table = _read_table(Path(options.features_table))
        habitat_model = _habitat_model_beside(Path(options.features_table))
        if names is not None:
            table = table[[c for c in table.columns if c in set(names)]]
    else:
        say(f"extracting features for {len(manifest.rows)} patients (resumable cache: {work})")
        res = _extract(manifest_path, work / "features", options, names, None)
        failed.update(res.failed)
        table = _read_table(res.table_path)
        habitat_model = json.loads(res.habitat_model_path.read_text(encoding="utf-8"))
    timings["features_s"] = time.perf_counter() - t0
    missing = [r.patient_id for r in manifest.rows if r.patient_id not in table.index]
    if missing:
        notes.append(f"{len(missing)} patient(s) without features were left out: {', '.join(sorted(missing)[:10])}")
    table = table.loc[[r.patient_id for r in manifest.rows if r.patient_id in table.index]]
    table = table.astype(float)
    say("reading the training patients' acquisition (training envelope for the intended-use gate)")
    t0 = time.perf_counter()
    envelope, env_notes = manifest_envelope([r for r in manifest.by_split("train") if r.patient_id in table.index])
    notes.extend(env_notes)
    timings["envelope_s"] = time.perf_counter() - t0

    reader2 = None
    t0 = time.perf_counter()
    if options.icc_subset > 0:
        work.mkdir(parents=True, exist_ok=True)
        r2_manifest, chosen = _reader2_manifest(manifest, work, options.icc_subset, options.seed)
        if r2_manifest is not None:
            say(f"extracting reader-2 features for {len(chosen)} training patients (ICC)")
            res2 = _extract(r2_manifest, work / "reader2", options, list(table.columns), habitat_model)
            reader2 = _read_table(res2.table_path)[list(table.columns)].astype(float)
            notes.append(f"ICC(2,1) >= {options.settings.icc_threshold} filter on {len(reader2)} randomly chosen "
                         f"training patients with a second reader's mask (seed {options.seed})")
        else:
            notes.append("no mask2 on training rows: ICC filter not applied")
    timings["reader2_s"] = time.perf_counter() - t0

    say("fitting models")
    t0 = time.perf_counter()
    split = clin.loc[table.index, "split"]
    tr, va = table[split == "train"], table[split == "validation"]
    fit_clin = clin[["ki67_high", "lvi", "vaf_sum", "dfs_months", "dfs_event"]]
    try:
        fit = fit_models(tr, fit_clin.loc[tr.index], clin.loc[tr.index, "pcr"].to_numpy(),
                         validation_table=va if len(va) else None,
                         validation_clinical=fit_clin.loc[va.index] if len(va) else None,
                         validation_labels=clin.loc[va.index, "pcr"].to_numpy() if len(va) else None,
                         reader2_table=reader2, settings=options.settings)
    except ValueError as exc:
        raise InputError(f"the models could not be fitted: {exc}", manifest_path) from None
    timings["fit_s"] = time.perf_counter() - t0
    models = fit["models"]
    scores = score_patients(table, clin, models)
    _external_block(models, scores)
    notes.extend(fit["notes"])
    doc = _assemble(options, manifest, clin, models, fit, habitat_model, names, table.shape[1], notes)
    doc["training_envelope"] = envelope.to_dict()
    say(f"writing {out}")
    from tnbc_desktop.core.bundle import save_bundle, seal

    sealed = seal(doc)
    save_bundle(doc, out)
    timings["total_s"] = time.perf_counter() - t_all
    return TrainingResult(out, sealed, scores, fit, timings, tuple(notes), failed)


def _assemble(options: TrainOptions, manifest: Manifest, clin: pd.DataFrame, models: dict, fit: dict,
              habitat_model: dict, names, n_candidates: int, notes: list[str]) -> dict:
    from tnbc_desktop.core.bundle import assemble_bundle

    sel = fit["selection_log"]
    training_notes = list(notes) + [
        f"{k}: " + ", ".join(f"{a}={b}" for a, b in v.items() if not isinstance(b, (dict, list)))
        for k, v in sel.items() if isinstance(v, dict)]
    training_notes.append(f"selection settings: {json.dumps(asdict(options.settings), sort_keys=True)}")
    doc = assemble_bundle(
        name=options.name, version=options.version, models=models, habitat_model=habitat_model,
        extraction=_extraction_settings(habitat_model, names, n_candidates),
        training_cohort=_cohort_summary(manifest, clin, options.source), is_demo=options.is_demo,
        comparisons=fit["comparisons"], cox=fit["cox"], created=_created(options),
        limitations=list(options.limitations) or [
            "Coefficients are fitted on the cohort named in training_cohort; calibration may need updating at "
            "new sites (TRIPOD item 17).",
            "Extraction settings (parameter file hash, kinetic settings, ring width, MSI neighbourhood) must match "
            "at prediction time."],
        training_notes=training_notes)
    if options.notice:
        doc["card"]["notice"] = options.notice
    return doc


__all__ = ["TrainOptions", "TrainingResult", "load_training_manifest", "clinical_table", "score_patients",
           "train_from_manifest", "TRAIN_REQUIRED_COLUMNS"]
