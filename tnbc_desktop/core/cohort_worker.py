"""The worker side of cohort extraction (``core.cohort``): tasks that read a patient's files from the manifest
paths, compute on the worker and write their own result files, returning only small status records (no image
data travels through the Dask scheduler). Every task catches its own errors and reports them per patient.
"""
from __future__ import annotations

import json
import re
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from tnbc_desktop.core.io.atomic import write_text_atomic, write_with_atomic
from tnbc_desktop.errors import TnbcError

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
# One thread per worker process for every numeric library (set before the worker imports them).
WORKER_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                     "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1",
                     "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS": "1"}


def safe_name(patient_id: str) -> str:
    """File-system-safe stem for a patient id."""
    return _SAFE.sub("_", patient_id).strip("._") or "patient"


def _set_worker_threads() -> None:
    """ITK threads = this worker's task threads (1 by default), so workers do not oversubscribe cores."""
    try:
        import SimpleITK as sitk
        from distributed import get_worker

        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(max(1, int(get_worker().state.nthreads)))
    except (ImportError, ValueError, AttributeError):
        pass


def error_text(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, TnbcError) else f"{type(exc).__name__}: {exc}"


def record_failure(out: Path, patient_id: str, row_number: int, stage: str, exc: BaseException | str) -> str:
    """Write ``OUT/failed/<id>.json`` (patient, manifest row, stage, error, short traceback); returns the error."""
    msg = exc if isinstance(exc, str) else error_text(exc)
    tb = "" if isinstance(exc, (str, TnbcError)) else "".join(traceback.format_exception(exc, limit=5))
    detail = {"patient_id": patient_id, "row": row_number, "stage": stage, "error": msg, "traceback": tb}
    write_text_atomic(Path(out) / "failed" / f"{safe_name(patient_id)}.json", json.dumps(detail, indent=2))
    return msg


def write_patient_parquet(path: Path, patient_id: str, names: Sequence[str], values: dict[str, float],
                          not_computable: dict[str, str]) -> None:
    """One patient in long form: columns patient_id, feature (in ``names`` order), value (float64, NaN if not
    computable), reason (null if computed). Long, not wide: 11,238 columns would make every file's footer
    huge and slow to write and read back."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "patient_id": pa.array([patient_id] * len(names), pa.string()),
        "feature": pa.array(list(names), pa.string()),
        "value": pa.array([float(values.get(n, float("nan"))) for n in names], pa.float64()),
        "reason": pa.array([not_computable.get(n) if n not in values else None for n in names], pa.string()),
    })
    write_with_atomic(path, lambda handle: pq.write_table(table, handle))


def patient_task(patient_id: str, row_number: int, study: str, mask: str, phase_times_s, habitat_model: dict,
                 names: Sequence[str] | None, out_dir: str, ring_width_mm: float) -> dict:
    """Run on a worker: one patient's features -> ``OUT/patients/<id>.parquet``. Never raises."""
    out = Path(out_dir)
    t0 = time.perf_counter()
    try:
        _set_worker_threads()
        from dataclasses import replace

        from tnbc_desktop.core.bundle_settings import default_extraction
        from tnbc_desktop.core.features.names import all_feature_names
        from tnbc_desktop.core.imaging_case import extract_case_features

        settings = replace(default_extraction(slopes=str(habitat_model.get("slopes", "relative"))),
                           ring_width_mm=float(ring_width_mm))
        wanted = list(names) if names is not None else all_feature_names(settings.params.image_type_names())
        fs = extract_case_features(study, Path(mask), habitat_model, names=names,
                                   phase_times_s=phase_times_s, settings=settings)
        write_patient_parquet(out / "patients" / f"{safe_name(patient_id)}.parquet", patient_id, wanted,
                              fs.values, dict(fs.not_computable))
        (out / "failed" / f"{safe_name(patient_id)}.json").unlink(missing_ok=True)
        return {"patient_id": patient_id, "ok": True, "seconds": time.perf_counter() - t0,
                "n_not_computable": len(fs.not_computable)}
    except Exception as exc:  # noqa: BLE001 - a failed patient must not stop the cohort
        try:
            msg = record_failure(out, patient_id, row_number, "features", exc)
        except TnbcError as write_exc:
            msg = f"{error_text(exc)} (and the failure record could not be written: {write_exc})"
        return {"patient_id": patient_id, "ok": False, "error": msg, "seconds": time.perf_counter() - t0}


def voxel_task(patient_id: str, study: str, mask: str, phase_times_s, max_voxels: int) -> dict:
    """Run on a worker: at most ``max_voxels`` (N, 4) kinetic voxel features of one training patient."""
    try:
        _set_worker_threads()
        from tnbc_desktop.core.imaging_case import patient_voxel_features

        feats = patient_voxel_features(study, Path(mask), phase_times_s, max_voxels=max_voxels,
                                       key=patient_id)
        return {"patient_id": patient_id, "ok": True, "voxels": feats}
    except Exception as exc:  # noqa: BLE001 - reported per patient by the caller
        return {"patient_id": patient_id, "ok": False, "error": error_text(exc)}


def worker_info(out_dir: str) -> dict:
    """Version and output-folder check; also imports the feature code once per worker (warm-up)."""
    import os

    from tnbc_desktop import __version__
    from tnbc_desktop.core.features import extract  # noqa: F401 - pyradiomics, SimpleITK, scipy
    from tnbc_desktop.core import imaging_case  # noqa: F401

    return {"version": __version__, "sees_out": os.path.isdir(out_dir)}
