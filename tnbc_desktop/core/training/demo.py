"""The shipped demo bundle: a synthetic cohort (SPEC section 14) trained by the same pipeline a site uses.

:func:`train_synthetic_demo` = ``make_cohort(n, seed)`` in a cache folder (7:3 split stratified by pCR) ->
:func:`~tnbc_desktop.core.training.train_cohort.train_from_manifest` with ``is_demo=True`` -> bundle + model card
(Markdown) + the oracle comparison from ``cohort_truth.csv``:

- full oracle AUC: AUC of the true pCR probabilities on the validation split (the best any model can reach);
- imaging oracle AUC: AUC of the imaging phenotype z (the part of the true probability the images carry: the
  generator adds LVI, REL/MED23 VAF and a hidden term, see ``synthetic/biology.py``), the ceiling for an
  imaging-only model such as Model 3; the demo's "Model 3 within 0.05 of the oracle" check compares with it.

Demo feature set [D]: a full extraction costs about a minute of CPU per cohort patient, too slow to rebuild the
demo on a laptop, so the demo candidates are the complete feature families (all classes, every region, MSI,
all four kinetic statistics) of the image types in :data:`DEMO_IMAGE_TYPES`. A site bundle uses all 11,238.
"""
from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tnbc_desktop.core.training.train_cohort import TrainingResult, TrainOptions, train_from_manifest
from tnbc_desktop.errors import InputError

DEMO_COHORT_SEED = 2024  # the synthetic training cohort (not the demo patient: core.synthetic.DEMO_SEED)
DEMO_N = 300
DEMO_CREATED = "2024-01-01T00:00:00+00:00"
DEMO_NOTICE_TEXT = "Trained on synthetic data, for demonstration and testing, not for clinical use."
DEMO_IMAGE_TYPES = ("original",)
DEMO_ICC_SUBSET = 30


def demo_feature_names(image_types=DEMO_IMAGE_TYPES) -> list[str]:
    """Every region, MSI and kinetic feature name of the given image types (with the shipped parameter file)."""
    from tnbc_desktop.core.features.names import MSI_NAMES, kinetic_feature_names, region_feature_names

    return region_feature_names(list(image_types)) + list(MSI_NAMES) + kinetic_feature_names(list(image_types))


@dataclass(frozen=True)
class OracleComparison:
    """Validation-split AUCs: oracles from the generator's truth and the trained models' AUCs / DeLong P."""

    n_validation: int
    oracle_auc: float
    imaging_oracle_auc: float
    model3_auc: float | None
    prm_auc: float | None
    gprm_auc: float | None
    delong_gprm_vs_model3_p: float | None

    def lines(self) -> list[str]:
        def f(v):
            return "n/a" if v is None else f"{v:.3f}"

        out = [f"validation split: {self.n_validation} patients",
               f"oracle AUC (true pCR probability): {f(self.oracle_auc)}",
               f"imaging oracle AUC (imaging phenotype, the ceiling for imaging-only models): "
               f"{f(self.imaging_oracle_auc)}",
               f"Model 3 validation AUC: {f(self.model3_auc)}",
               f"PRM validation AUC: {f(self.prm_auc)}",
               f"GPRM validation AUC: {f(self.gprm_auc)}",
               f"DeLong GPRM vs Model 3 (validation): P = {f(self.delong_gprm_vs_model3_p)}"]
        return out


def oracle_comparison(truth_csv: Path, result: TrainingResult) -> OracleComparison:
    """Compare the trained models with the generator's truth on the validation split."""
    from tnbc_desktop.core.training.stats import auc

    try:
        with open(truth_csv, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if r["split"] == "validation"]
        y = np.array([int(r["pcr"]) for r in rows])
        p = np.array([float(r["true_pcr_probability"]) for r in rows])
        z = np.array([float(r["imaging_phenotype"]) for r in rows])
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"cannot read the cohort truth table: {exc}", truth_csv) from None
    models = result.bundle["models"]

    def val_auc(name):
        v = (models[name].get("performance") or {}).get("validation") or {}
        return v.get("auc")

    cmp = (result.bundle.get("comparisons") or {}).get("delong_gprm_vs_model3_validation") or {}
    return OracleComparison(len(y), auc(y, p), auc(y, -z), val_auc("model3"), val_auc("prm"), val_auc("gprm"),
                            cmp.get("p"))


@dataclass(frozen=True)
class DemoResult:
    training: TrainingResult
    comparison: OracleComparison
    cohort_manifest: Path
    card_path: Path
    cohort_seconds: float


def train_synthetic_demo(out: str | Path, *, n: int = DEMO_N, seed: int = DEMO_COHORT_SEED,
                         cache_dir: str | Path | None = None, workers: int = 2, names: list[str] | None = None,
                         report: str | Path | None = None,
                         icc_subset: int = DEMO_ICC_SUBSET, shape=None,
                         progress: Callable[[str], None] | None = None) -> DemoResult:
    """Make (or reuse) the synthetic cohort and train the demo bundle at ``out`` (+ ``<out>.md`` model card)."""
    import time

    from tnbc_desktop import __version__
    from tnbc_desktop.core.synthetic import make_cohort
    from tnbc_desktop.paths import user_data_dir

    say = progress or (lambda msg: None)
    out = Path(out)
    cache = Path(cache_dir) if cache_dir else user_data_dir() / "cache" / f"demo_cohort_n{n}_seed{seed}"
    manifest = cache / "cohort" / "manifest.csv"
    t0 = time.perf_counter()
    if not (manifest.exists() and (cache / "cohort" / "cohort_truth.csv").exists()):
        say(f"making the synthetic cohort: {n} patients, seed {seed} -> {cache / 'cohort'}")
        kw = {} if shape is None else {"shape": tuple(shape)}
        make_cohort(n, seed, cache / "cohort", n_jobs=max(1, workers),
                    progress=lambda d, t: say(f"  cohort {d}/{t}") if d % 50 == 0 or d == t else None, **kw)
    cohort_s = time.perf_counter() - t0
    if names is None:  # the shipped demo's candidates (these strings are part of the shipped bundle)
        names = demo_feature_names()
        candidates = f"candidate image types {', '.join(DEMO_IMAGE_TYPES)}"
        restriction = ("Candidate features restricted to the image types "
                       f"{', '.join(DEMO_IMAGE_TYPES)} to keep the rebuild affordable; a site bundle uses all.")
    else:  # the caller's list (train --synthetic-demo --only FILE): say what it was, not the default
        candidates = f"candidates: {len(names)} features given by the caller"
        restriction = f"Candidate features: the {len(names)} names given by the caller."
    options = TrainOptions(
        out=out, work_dir=cache / "work", workers=workers, name="tnbc-desktop demo (synthetic cohort)",
        version=__version__.split("+")[0], icc_subset=icc_subset, seed=0, names=tuple(names), is_demo=True,
        source=f"synthetic cohort: tnbc_desktop.core.synthetic.make_cohort(n={n}, seed={seed}), 7:3 split "
               f"stratified by pCR; {candidates}",
        created=DEMO_CREATED, notice=DEMO_NOTICE_TEXT,
        limitations=(DEMO_NOTICE_TEXT,
                     "Synthetic patients follow a simple generative model (SPEC section 14); performance figures "
                     "say nothing about real patients.",
                     restriction))
    result = train_from_manifest(manifest, options, progress=say)
    comparison = oracle_comparison(cache / "cohort" / "cohort_truth.csv", result)
    from tnbc_desktop.core.training.card import write_model_card

    card = write_model_card(result, out.with_suffix(".md"), comparison.lines())
    if report:
        from tnbc_desktop.core.training.report import write_training_report

        write_training_report(result, report, extra_lines=comparison.lines())
    return DemoResult(result, comparison, manifest, card, cohort_s)


__all__ = ["DEMO_COHORT_SEED", "DEMO_N", "DEMO_NOTICE_TEXT", "DEMO_IMAGE_TYPES", "demo_feature_names",
           "OracleComparison", "oracle_comparison", "DemoResult", "train_synthetic_demo"]
