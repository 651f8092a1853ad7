"""Cohort feature extraction on dask.distributed: resumable, one task per patient.

Steps of :func:`extract_cohort`:
1. validate the manifest up front (every problem listed by row) and the output folder's run settings
   (``OUT/cohort_run.json``: feature list, radiomics parameters, ring width; a rerun must use the same);
2. start a LocalCluster (processes, 1 thread each, BLAS/OpenMP/ITK limited to 1 thread) or connect to the
   given scheduler; check every worker runs the same package version and sees the output folder;
3. habitat model: the one given, else ``OUT/habitat_model.json`` from an earlier run, else fitted here on the
   ``split == train`` rows only (voxel features computed on the workers, at most 5,000 reproducibly chosen
   voxels per patient shipped back) and saved atomically;
4. one task per patient not yet finished; workers read the files from the manifest paths and write
   ``OUT/patients/<id>.parquet`` atomically (long form: feature, value, reason; not-computable features are
   NaN with their reason). A failure is written to ``OUT/failed/<id>.json`` with its error and does not stop
   the cohort. A rerun skips finished patients and retries failed ones; a crash loses only patients in flight;
5. gather every finished patient of the manifest into ``OUT/features.parquet`` (rows by patient_id, columns
   in feature-name order) and ``OUT/not_computable.csv`` (patient_id, feature, reason).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tnbc_desktop.core.io.safe_json import read_json
from tnbc_desktop.core.io.atomic import write_text_atomic, write_with_atomic
from tnbc_desktop.core.cohort_worker import (WORKER_THREAD_ENV, error_text, patient_task, record_failure,
                                             safe_name, voxel_task, worker_info)
from tnbc_desktop.core.manifest import Manifest, read_manifest
from tnbc_desktop.errors import ConfigError, FeatureError, InputError
from tnbc_desktop.logsafe import get_logger

log = get_logger(__name__)
RUN_FORMAT = 1
MAX_VOXELS_PER_PATIENT = 5000



@dataclass(frozen=True)
class CohortProgress:
    """Where a run is: ``stage`` is "habitat model" or "features"; counts are patients of that stage."""

    stage: str
    done: int
    failed: int
    remaining: int
    skipped: int
    elapsed_s: float
    eta_s: float | None

    def line(self) -> str:
        eta = "?" if self.eta_s is None else f"{self.eta_s:.0f} s"
        skipped = f" (skipped {self.skipped} finished earlier)" if self.skipped else ""
        return (f"{self.stage}: done {self.done}, failed {self.failed}, remaining {self.remaining}{skipped}, "
                f"elapsed {self.elapsed_s:.0f} s, ETA {eta}")


@dataclass(frozen=True)
class CohortResult:
    table_path: Path
    n_patients: int  # rows of the table (finished patients)
    n_features: int
    failed: dict[str, str]  # patient_id -> error message, for patients without features
    skipped: int  # finished by an earlier run
    habitat_model_path: Path
    elapsed_s: float
    patient_seconds: dict[str, float] = field(default_factory=dict)  # worker time per patient of this run


# ---------------------------------------------------------------- client side

def open_client(scheduler: str | None, n_workers: int):
    """(client, cluster): a new LocalCluster of ``n_workers`` single-threaded processes, or the given scheduler."""
    import logging

    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
            client.wait_for_workers(1, timeout=120)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"cannot use the Dask scheduler at {scheduler}: {exc or type(exc).__name__}") from exc
        return client, None
    if n_workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {n_workers}")
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                           env=dict(WORKER_THREAD_ENV), silence_logs=logging.ERROR)
    return Client(cluster), cluster


def check_workers(client, out: Path) -> None:
    """Every worker must run this package version and see the output folder (shared filesystem)."""
    from tnbc_desktop import __version__

    try:
        info = client.run(worker_info, str(out.resolve()))
    except Exception as exc:  # noqa: BLE001 - e.g. a worker with other code cannot unpickle the check
        raise ConfigError(f"the Dask workers could not run the version check ({type(exc).__name__}: {exc}); "
                          "install the same tnbc-desktop version on every worker") from exc
    wrong = sorted({i["version"] for i in info.values()} - {__version__})
    if wrong:
        raise ConfigError(f"Dask workers run tnbc-desktop {', '.join(wrong)} but this client runs {__version__}; "
                          "install the same version on every worker")
    blind = [addr for addr, i in info.items() if not i["sees_out"]]
    if blind:
        raise ConfigError(f"{len(blind)} Dask worker(s) cannot see the output folder {out.resolve()} (e.g. "
                          f"{blind[0]}); the manifest files and the output folder must be on a shared filesystem")


def _canonical_sha(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def check_run_settings(out: Path, names: Sequence[str] | None, ring_width_mm: float) -> dict:
    """Write ``OUT/cohort_run.json`` on the first run; on a rerun, insist on the same settings."""
    from tnbc_desktop import __version__
    from tnbc_desktop.core.features.params import load_params

    params = load_params()
    settings = {"format": RUN_FORMAT, "features": "all" if names is None else _canonical_sha(list(names)),
                "n_features": None if names is None else len(names), "radiomics_params_sha256": params.sha256,
                "ring_width_mm": float(ring_width_mm)}
    path = out / "cohort_run.json"
    if path.exists():
        before = read_json(path, ConfigError, what="the settings of the earlier run")
        if not isinstance(before, dict):
            raise ConfigError("the settings of the earlier run are not a JSON object", path)
        diff = [k for k in settings if before.get(k) != settings[k]]
        if diff:
            raise ConfigError(f"this output folder was started with different settings ({', '.join(diff)}); "
                              "rerun with the same options or use a new --out folder", path)
        return before
    doc = {**settings, "package_version": __version__, "radiomics_params_file": Path(params.source).name}
    write_text_atomic(path, json.dumps(doc, indent=2))
    return doc


def fit_or_load_habitat_model(manifest: Manifest, out: Path, client, given: dict | None,
                              progress: Callable[[CohortProgress], None] | None = None) -> dict:
    """The habitat model of this output folder (see module docstring, step 3), saved as habitat_model.json."""
    from tnbc_desktop.core.habitats import HabitatModel, fit_habitat_model

    path = out / "habitat_model.json"
    if path.exists():
        try:
            saved = HabitatModel.from_dict(read_json(path, ConfigError, what="the habitat model of the earlier run"),
                                           str(path)).to_dict()
        except ValueError as exc:
            raise ConfigError(f"cannot read the habitat model of the earlier run: {exc}", path) from exc
        if given is not None and _canonical_sha(HabitatModel.from_dict(given).to_dict()) != _canonical_sha(saved):
            raise ConfigError("this output folder already holds a different habitat model; use a new --out "
                              "folder to extract with another one", path)
        return saved
    if given is not None:
        model = HabitatModel.from_dict(given).to_dict()
        write_text_atomic(path, json.dumps(model, indent=2))
        return model
    train = manifest.by_split("train")
    if not train:
        raise InputError("no training rows (split = train) to fit the habitat model on; mark the training rows "
                         "or give --habitat-model", manifest.path)
    from dask.distributed import as_completed

    t0 = time.perf_counter()
    futures = [client.submit(voxel_task, r.patient_id, r.study_text, str(r.mask), r.phase_times_s,
                             MAX_VOXELS_PER_PATIENT, pure=False) for r in train]
    owner = {fut.key: r for fut, r in zip(futures, train)}
    by_id: dict[str, object] = {}
    failed = 0
    for fut in as_completed(futures):
        r = owner[fut.key]
        try:
            res = fut.result()
        except Exception as exc:  # noqa: BLE001 - e.g. the worker died: record it, fit on the rest
            res = {"patient_id": r.patient_id, "ok": False, "error": error_text(exc)}
        if res["ok"]:
            by_id[r.patient_id] = res["voxels"]
        else:
            failed += 1
            record_failure(out, r.patient_id, r.row_number, "habitat model", res["error"])
        if progress:
            n = len(by_id) + failed
            el = time.perf_counter() - t0
            progress(CohortProgress("habitat model", len(by_id), failed, len(train) - n, 0, el,
                                    el / n * (len(train) - n)))
    if not by_id:
        raise FeatureError("the habitat model cannot be fitted: every training patient failed (see the failed "
                           "folder)", out)
    model = fit_habitat_model([by_id[r.patient_id] for r in train if r.patient_id in by_id], seed=0,
                              max_voxels_per_patient=MAX_VOXELS_PER_PATIENT).to_dict()
    write_text_atomic(path, json.dumps(model, indent=2))
    return model


def gather_table(out: Path, manifest: Manifest, names: Sequence[str]):
    """(wide DataFrame: finished patients sorted by id, columns patient_id + names; not-computable triples)."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    names = list(names)
    ids, rows, notes = [], [], []
    for row in sorted(manifest.rows, key=lambda r: r.patient_id):
        p = out / "patients" / f"{safe_name(row.patient_id)}.parquet"
        if not p.exists():
            continue
        try:
            table = pq.read_table(p, columns=["feature", "value", "reason"])
        except Exception as exc:  # noqa: BLE001 - a damaged result file: name it, the user deletes it and reruns
            raise InputError(f"cannot read this patient's result file ({type(exc).__name__}); delete it and rerun "
                             "to redo the patient", p) from exc
        if table["feature"].to_pylist() != names:
            raise ConfigError("this patient's result file holds other features than this run; delete it and "
                              "rerun to redo the patient", p)
        ids.append(row.patient_id)
        rows.append(table["value"].to_numpy())
        reasons = table["reason"].to_pylist()
        notes.extend((row.patient_id, n, r) for n, r in zip(names, reasons) if r is not None)
    matrix = np.vstack(rows) if rows else np.empty((0, len(names)))
    df = pd.DataFrame(matrix, columns=names)
    df.insert(0, "patient_id", pd.Series(ids, dtype=object))
    return df, notes


def _write_outputs(out: Path, table, notes) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = out / "features.parquet"
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    write_with_atomic(path, lambda handle: pq.write_table(arrow, handle))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["patient_id", "feature", "reason"])
    w.writerows(notes)
    write_text_atomic(out / "not_computable.csv", buf.getvalue())
    return path


def _check_unique_stems(manifest: Manifest) -> None:
    seen: dict[str, str] = {}
    clashes = []
    for r in manifest.rows:
        stem = safe_name(r.patient_id)
        if stem in seen:
            clashes.append(f"row {r.row_number}: patient_id {r.patient_id!r} gives the same file name as "
                           f"{seen[stem]!r}")
        seen[stem] = r.patient_id
    if clashes:
        more = f" (+{len(clashes) - 1} more, listed below)" if len(clashes) > 1 else ""
        raise InputError(f"manifest has {len(clashes)} problem(s): {clashes[0]}{more}", manifest.path,
                         details=clashes)


def _previous_failures(out: Path, manifest: Manifest) -> dict[str, str]:
    failures = {}
    for r in manifest.rows:
        stem = safe_name(r.patient_id)
        if (out / "patients" / f"{stem}.parquet").exists():
            continue
        try:
            failures[r.patient_id] = json.loads((out / "failed" / f"{stem}.json").read_text())["error"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return failures


def extract_cohort(manifest_path: str | Path, out_dir: str | Path, *, scheduler: str | None = None,
                   n_workers: int = 2, names: Sequence[str] | None = None, habitat_model: dict | None = None,
                   ring_width_mm: float = 5.0,
                   progress: Callable[[CohortProgress], None] | None = None) -> CohortResult:
    """Extract features for every manifest row on Dask; resumable (see the module docstring)."""
    manifest = read_manifest(manifest_path, require=("mask",))
    _check_unique_stems(manifest)
    if names is not None:
        from tnbc_desktop.core.features.names import parse_feature_name
        from tnbc_desktop.core.features.params import load_params

        names = list(dict.fromkeys(names))
        itypes = load_params().image_type_names()
        for n in names:
            parse_feature_name(n, itypes)  # FeatureError names an unknown feature before any work starts
    out = Path(out_dir)
    try:
        (out / "patients").mkdir(parents=True, exist_ok=True)
        (out / "failed").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror or exc}", out) from exc
    if habitat_model is None and not (out / "habitat_model.json").exists() and not manifest.by_split("train"):
        raise InputError("no training rows (split = train) to fit the habitat model on; mark the training rows "
                         "or give --habitat-model", manifest.path)
    check_run_settings(out, names, ring_width_mm)
    t0 = time.perf_counter()
    todo = [r for r in manifest.rows if not (out / "patients" / f"{safe_name(r.patient_id)}.parquet").exists()]
    skipped = len(manifest.rows) - len(todo)
    if not todo and (out / "habitat_model.json").exists():
        return _finish(out, manifest, names, skipped, t0, {})
    client, cluster = open_client(scheduler, n_workers)
    try:
        check_workers(client, out)
        hm = fit_or_load_habitat_model(manifest, out, client, habitat_model, progress)
        from dask.distributed import as_completed

        names_arg = client.scatter([list(names)], broadcast=True)[0] if names is not None and todo else None
        futures = [client.submit(patient_task, r.patient_id, r.row_number, r.study_text, str(r.mask),
                                 r.phase_times_s, hm, names_arg, str(out.resolve()), float(ring_width_mm),
                                 pure=False, key=f"patient-{safe_name(r.patient_id)}-{time.time_ns()}")
                   for r in todo]
        owner = {fut.key: r for fut, r in zip(futures, todo)}
        t_feat = time.perf_counter()
        done = failed = 0
        seconds: dict[str, float] = {}
        if progress:
            progress(CohortProgress("features", 0, 0, len(todo), skipped, 0.0, None))
        for fut in as_completed(futures):
            r = owner[fut.key]
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - worker died / lost: record it, carry on
                res = {"patient_id": r.patient_id, "ok": False,
                       "error": record_failure(out, r.patient_id, r.row_number, "features", exc)}
            done, failed = done + res["ok"], failed + (not res["ok"])
            if "seconds" in res:
                seconds[r.patient_id] = float(res["seconds"])
            if not res["ok"]:
                log.warning("a patient failed (manifest row %s)", r.row_number)
            if progress:
                el = time.perf_counter() - t_feat
                n = done + failed
                progress(CohortProgress("features", done, failed, len(todo) - n, skipped, el,
                                        el / n * (len(todo) - n)))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _finish(out, manifest, names, skipped, t0, seconds)


def _finish(out: Path, manifest: Manifest, names, skipped: int, t0: float, seconds: dict) -> CohortResult:
    """Gather the table and report (also when every patient was finished by an earlier run)."""
    if names is None:
        from tnbc_desktop.core.features.names import all_feature_names
        from tnbc_desktop.core.features.params import load_params

        names = all_feature_names(load_params().image_type_names())
    table, notes = gather_table(out, manifest, names)
    table_path = _write_outputs(out, table, notes)
    return CohortResult(table_path=table_path, n_patients=len(table), n_features=len(names),
                        failed=_previous_failures(out, manifest), skipped=skipped,
                        habitat_model_path=out / "habitat_model.json", elapsed_s=time.perf_counter() - t0,
                        patient_seconds=seconds)
