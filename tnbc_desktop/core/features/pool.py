"""A process pool for extraction units, started once per process and reused by later extractions.

Workers are spawned (safe with Qt and threads in the parent), limit BLAS/OpenMP and SimpleITK to one thread each
(``n_jobs`` processes already use the cores; more threads only oversubscribe), and import pyradiomics once.
A cancelled or broken pool is dropped; the next call starts a fresh one.
"""
from __future__ import annotations

import atexit
import threading

_lock = threading.Lock()
_pool = None
_pool_size = 0


def _init_worker() -> None:
    import SimpleITK as sitk
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    from tnbc_desktop.core.features import jobs  # noqa: F401 - import pyradiomics and friends once
    from tnbc_desktop.core.features.region import feature_class, quiet_pyradiomics

    quiet_pyradiomics()
    for cls in ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm", "shape"):
        feature_class(cls)


def get_pool(n_workers: int):
    """The shared pool with ``n_workers`` processes (a new one if the size changed or the last one broke)."""
    global _pool, _pool_size
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with _lock:
        broken = _pool is not None and getattr(_pool, "_broken", False)
        if _pool is None or _pool_size != n_workers or broken:
            if _pool is not None:  # work already queued by another caller still runs, then the pool exits
                _pool.shutdown(wait=False, cancel_futures=False)
            _pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=mp.get_context("spawn"),
                                        initializer=_init_worker)
            _pool_size = n_workers
        return _pool


def drop_pool(wait: bool = False) -> None:
    """Shut the shared pool down (queued units are cancelled; running ones finish in the background)."""
    global _pool, _pool_size
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=wait, cancel_futures=True)
        _pool, _pool_size = None, 0


atexit.register(drop_pool, True)
