"""Synthetic cohorts: per-patient records in memory, or written to disk with a manifest (SPEC section 14).

Patient ``i`` (0-based) of a cohort with seed ``s`` is ``make_patient(s * 100000 + i + 1)``; its biology is the
one that seed gives, so :func:`cohort_records` (biology only, no images) agrees with :func:`make_cohort`.
The split is 7:3 train/validation, stratified by pCR, deterministic from the cohort seed.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tnbc_desktop.core.io.atomic import write_text_atomic
from tnbc_desktop.core.synthetic.biology import PatientBiology, sample_biology
from tnbc_desktop.core.synthetic.patient import (CANARY, DEFAULT_PHASE_TIMES_S, DEFAULT_SPACING_MM, LAYOUTS,
                                                 make_patient, write_patient)
from tnbc_desktop.errors import InputError

COHORT_SHAPE = (32, 128, 128)
COHORT_TUMOUR_ML = 6.0  # tumour size of cohort patients (and of the demo patient)
MAX_COHORT = 100_000
MANIFEST_COLUMNS = ("patient_id", "study", "mask", "mask2", "phase_times_s", "ki67_percent", "lvi", "maf",
                    "sample", "pcr", "dfs_months", "dfs_event", "split")
TRUTH_COLUMNS = ("patient_id", "true_pcr_probability", "pcr", "fraction_poorly", "fraction_moderately",
                 "fraction_highly", "aggressiveness", "imaging_phenotype", "hidden_response", "habitat_mixing",
                 "peritumoral_amplitude",
                 "vaf_rel", "vaf_med23", "vaf_sum", "lvi", "ki67_percent", "split")


@dataclass(frozen=True)
class CohortRecord:
    """One cohort patient without images: its seed, identifiers, split and biology (outcomes included)."""

    index: int
    seed: int
    patient_id: str
    sample_id: str
    split: str
    biology: PatientBiology


def patient_seed(cohort_seed: int, index: int) -> int:
    return int(cohort_seed) * MAX_COHORT + int(index) + 1


def stratified_split(pcr: np.ndarray, seed: int, validation_fraction: float = 0.3) -> list[str]:
    """'train'/'validation' per patient, ``validation_fraction`` of each pCR class (rounded) in validation."""
    rng = np.random.default_rng([int(seed), 73])
    split = np.array(["train"] * len(pcr), dtype=object)
    for cls in (False, True):
        idx = np.flatnonzero(np.asarray(pcr, bool) == cls)
        rng.shuffle(idx)
        split[idx[: int(round(validation_fraction * idx.size))]] = "validation"
    return [str(s) for s in split]


def cohort_records(n: int, seed: int) -> list[CohortRecord]:
    """The ``n`` patients' biology and split, fast (no images): for marginals and the oracle AUC."""
    if not 1 <= int(n) < MAX_COHORT:
        raise InputError(f"cohort size must be between 1 and {MAX_COHORT - 1}, not {n}")
    seeds = [patient_seed(seed, i) for i in range(int(n))]
    bios = [sample_biology(np.random.default_rng(np.random.SeedSequence(s).spawn(3)[0])) for s in seeds]
    split = stratified_split(np.array([b.pcr for b in bios]), seed)
    return [CohortRecord(index=i, seed=s, patient_id=f"{CANARY}-{s}", sample_id=f"{CANARY}-{s}-T1",
                         split=split[i], biology=b) for i, (s, b) in enumerate(zip(seeds, bios))]


def _csv_text(columns, rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def make_cohort(n: int, seed: int, out_dir: str | Path, layout: str = "nifti", shape=COHORT_SHAPE,
                spacing_mm=DEFAULT_SPACING_MM, phase_times_s=DEFAULT_PHASE_TIMES_S, snr: float = 30.0,
                tumour_volume_ml: float | None = COHORT_TUMOUR_ML,
                progress: Callable[[int, int], None] | None = None, n_jobs: int = 1,
                compresslevel: int = 0) -> Path:
    """Write ``n`` patients to ``out_dir/<patient_id>/`` plus ``manifest.csv`` and ``cohort_truth.csv``.

    Cohort crops are small (default 32x128x128) and tumours about ``tumour_volume_ml`` (default 6 ml, ~6,000
    voxels; None = the biology's ~20 ml) for speed. ``progress(done, total)`` is called after each patient;
    ``n_jobs`` > 1 writes patients in that many worker processes (same files, same order); ``compresslevel``
    is the gzip level of the NIfTI studies (default 0 = stored: compression would triple the time).
    Returns the manifest path; paths inside it are relative to it.
    """
    if layout not in LAYOUTS:
        raise InputError(f"unknown synthetic layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    records = cohort_records(n, seed)
    jobs = [(rec.seed, rec.patient_id, rec.sample_id, rec.split, str(root), layout, tuple(shape),
             tuple(spacing_mm), tuple(phase_times_s), float(snr), tumour_volume_ml, int(compresslevel))
            for rec in records]
    results: list[tuple[dict, dict]] = []
    if int(n_jobs) > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=int(n_jobs)) as pool:
            for result in pool.map(_write_cohort_patient, jobs, chunksize=4):
                results.append(result)
                if progress is not None:
                    progress(len(results), len(jobs))
    else:
        for job in jobs:
            results.append(_write_cohort_patient(job))
            if progress is not None:
                progress(len(results), len(jobs))
    manifest_rows = [m for m, _ in results]
    truth_rows = [t for _, t in results]
    write_text_atomic(root / "cohort_truth.csv", _csv_text(TRUTH_COLUMNS, truth_rows))
    manifest = root / "manifest.csv"
    write_text_atomic(manifest, _csv_text(MANIFEST_COLUMNS, manifest_rows))
    return manifest


def _write_cohort_patient(job: tuple) -> tuple[dict, dict]:
    """Make and write one cohort patient; returns its manifest row and truth row (runs in a worker too)."""
    (seed, patient_id, sample_id, split, root, layout, shape, spacing_mm, phase_times_s, snr,
     tumour_volume_ml, compresslevel) = job
    root = Path(root)
    patient = make_patient(seed, shape=shape, spacing_mm=spacing_mm, phase_times_s=phase_times_s, snr=snr,
                           tumour_volume_ml=tumour_volume_ml)
    files = write_patient(patient, root / patient_id, layout=layout, compresslevel=compresslevel)
    b = patient.biology

    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix()

    manifest_row = {
        "patient_id": patient_id, "study": rel(files.study), "mask": rel(files.mask),
        "mask2": rel(files.mask_reader2), "phase_times_s": ";".join(f"{t:g}" for t in phase_times_s),
        "ki67_percent": f"{b.ki67_percent:g}", "lvi": "present" if b.lvi else "absent", "maf": rel(files.maf),
        "sample": sample_id, "pcr": int(b.pcr), "dfs_months": f"{b.dfs_months:g}",
        "dfs_event": int(b.dfs_event), "split": split}
    fr = patient.truth["habitat_fractions"]
    truth_row = {
        "patient_id": patient_id, "true_pcr_probability": f"{b.pcr_probability:.6f}", "pcr": int(b.pcr),
        "fraction_poorly": f"{fr[0]:.4f}", "fraction_moderately": f"{fr[1]:.4f}",
        "fraction_highly": f"{fr[2]:.4f}", "aggressiveness": f"{b.aggressiveness:.6f}",
        "imaging_phenotype": f"{b.imaging_phenotype:.6f}",
        "hidden_response": f"{b.hidden_response:.6f}", "habitat_mixing": f"{b.habitat_mixing:.4f}",
        "peritumoral_amplitude": f"{b.peritumoral_amplitude:.4f}", "vaf_rel": f"{b.vaf('REL'):.3f}",
        "vaf_med23": f"{b.vaf('MED23'):.3f}", "vaf_sum": f"{b.vaf_sum:.3f}", "lvi": int(b.lvi),
        "ki67_percent": f"{b.ki67_percent:g}", "split": split}
    return manifest_row, truth_row
