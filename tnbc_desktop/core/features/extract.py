"""Feature extraction entry point: full (training) or lazy (only the names a model needs).

Steps of :func:`extract_features`:
1. Parse the requested names into regions / image types / classes / features (all names if ``names=None``).
2. Fix the shared grids: the union box of the habitats and ring (region radiomics) and the tumour box
   (kinetic), each plus ``padDistance`` on pyradiomics' resampling lattice. The boxes never depend on which
   names were asked for, so lazy values equal full-extraction values.
3. Resample once (prepare.py): the normalised early phase and the region masks onto the union box; every phase,
   with the pre-contrast affine transform, onto the tumour box (the pre-contrast box fixes the point-wise scales).
4. Run the work units (groups of image types, each filter computed once per image; binning once per image and
   region), in-process or in the shared pool of ``n_jobs`` spawned processes (pool.py); progress and cancel
   between units.
5. MSI features from the habitat labels; across-phase statistics; every requested name ends up either in
   ``values`` or, with a reason, in ``not_computable``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from tnbc_desktop.core.features.jobs import run_job
from tnbc_desktop.core.features.kinetic import across_phase_stats
from tnbc_desktop.core.features.names import (
    REGIONS, ParsedName, all_feature_names, class_features, parse_feature_name,
)
from tnbc_desktop.core.features.params import RadiomicsParams, load_params
from tnbc_desktop.core.features.prepare import kinetic_jobs, region_jobs
from tnbc_desktop.core.study import DCEStudy
from tnbc_desktop.errors import CancelledError, FeatureError, GeometryError
from tnbc_desktop.logsafe import get_logger

log = get_logger(__name__)
MIN_KINETIC_PHASES = 3


@dataclass(frozen=True, eq=False)
class RegionMasks:
    """The regions on the study grid: ``tumour`` bool, ``habitat_labels`` uint8 (0 outside, 1..3), ``ring``
    bool; all [z, y, x]."""

    tumour: np.ndarray
    habitat_labels: np.ndarray
    ring: np.ndarray

    def region(self, name: str) -> np.ndarray:
        if name == "ring":
            return np.asarray(self.ring, dtype=bool)
        return np.asarray(self.habitat_labels) == int(name[1])


@dataclass(frozen=True)
class FeatureSet:
    """Extracted features. ``values``: name -> finite float; ``not_computable``: name -> reason;
    ``params_sha256``: hash of the radiomics parameter file; ``timings_s``: step -> seconds;
    ``notes``: plain-language remarks (e.g. degenerate kurtosis with 3 phases)."""

    values: dict[str, float]
    not_computable: dict[str, str]
    params_sha256: str
    timings_s: dict[str, float]
    notes: tuple[str, ...] = field(default=())

    def names(self) -> list[str]:
        return list(self.values) + list(self.not_computable)


def _plan(parsed: list[ParsedName]):
    """region -> itype -> class -> [features]; kinetic itype -> class -> [features]; msi wanted."""
    regions: dict = {}
    kinetic: dict = {}
    for p in parsed:
        if p.kind == "region":
            regions.setdefault(p.region, {}).setdefault(p.image_type, {}).setdefault(p.feature_class, set())
            regions[p.region][p.image_type][p.feature_class].add(p.feature)
        elif p.kind == "kinetic":
            kinetic.setdefault(p.image_type, {}).setdefault(p.feature_class, set()).add(p.feature)
    as_lists = lambda d: {k: (as_lists(v) if isinstance(v, dict) else sorted(v)) for k, v in d.items()}  # noqa
    return as_lists(regions), as_lists(kinetic), any(p.kind == "msi" for p in parsed)


def _check_inputs(study: DCEStudy, regions: RegionMasks, early_phase: int) -> None:
    shape = tuple(study.geometry.shape)
    for what, arr in (("tumour mask", regions.tumour), ("habitat labels", regions.habitat_labels),
                      ("peritumoral ring", regions.ring)):
        if tuple(np.shape(arr)) != shape:
            raise GeometryError(f"the {what} has shape {tuple(np.shape(arr))} but the study grid is {shape} (z,y,x)",
                                study.source)
    if not 0 < early_phase < study.n_phases:
        raise FeatureError(f"early phase index {early_phase} is not a post-contrast phase of this "
                           f"{study.n_phases}-phase study", study.source)
    if not np.any(regions.tumour):
        raise FeatureError("the tumour mask is empty; no features can be computed", study.source)


def _submit_early(jobs: list, n_jobs: int):
    """Start ``jobs`` (largest first) in the shared pool of ``n_jobs`` workers now; returns (pool, {future: job})
    for :func:`_run_units`. Used for the region units so the workers compute them while this process still
    resamples the phases for the kinetic units (otherwise both cores wait ~1 s for that)."""
    from tnbc_desktop.core.features.pool import get_pool

    pool = get_pool(n_jobs)
    return pool, {pool.submit(run_job, j): j for j in sorted(jobs, key=lambda j: -j.cost)}


def _abandon(submitted) -> None:
    """Cancel units started by :func:`_submit_early` when the extraction fails before collecting them."""
    from tnbc_desktop.core.features.pool import drop_pool

    for fut in submitted[1]:
        fut.cancel()
    drop_pool()


def _run_units(jobs: list, n_jobs: int, progress, cancel, start: float, submitted=None):
    """Run jobs (largest first), yield results; progress by estimated cost after each, cancel between units.

    ``submitted``: (pool, {future: job}) of units already started by :func:`_submit_early` (parallel only)."""
    total = sum(j.cost for j in jobs) + (sum(j.cost for j in submitted[1].values()) if submitted else 0.0) or 1.0
    done_cost = 0.0

    def tick(job):
        nonlocal done_cost
        done_cost += job.cost
        if progress is not None:
            progress(f"features: {job.label}", start + (1 - start) * min(done_cost / total, 1.0))

    jobs = sorted(jobs, key=lambda j: -j.cost)
    if submitted is None and (n_jobs <= 1 or len(jobs) <= 1):
        for job in jobs:
            if cancel is not None and cancel.is_set():
                raise CancelledError("feature extraction cancelled")
            yield run_job(job)
            tick(job)
        return
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures import CancelledError as FutureCancelled
    from concurrent.futures.process import BrokenProcessPool

    from tnbc_desktop.core.features.pool import drop_pool, get_pool

    finished = False
    if submitted is None:
        pool, pending = get_pool(min(n_jobs, len(jobs))), {}
    else:
        pool, pending = submitted[0], dict(submitted[1])
    try:
        pending.update({pool.submit(run_job, j): j for j in jobs})
        while pending:
            if cancel is not None and cancel.is_set():
                raise CancelledError("feature extraction cancelled")
            done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                job = pending.pop(fut)
                try:
                    res = fut.result()
                except BrokenProcessPool:
                    raise FeatureError("a feature worker process stopped unexpectedly (out of memory?); "
                                       "retry with fewer jobs") from None
                except FutureCancelled:  # the shared pool was dropped by a cancelled extraction
                    raise CancelledError("feature extraction cancelled") from None
                tick(job)
                yield res
        finished = True
    finally:
        if not finished:  # cancelled or failed: do not leave queued units running for nobody
            for fut in pending:
                fut.cancel()
            drop_pool()


def extract_features(study: DCEStudy, regions: RegionMasks, names: Sequence[str] | None = None, *,
                     early_phase: int, params: RadiomicsParams | None = None,
                     progress: Callable[[str, float], None] | None = None, cancel=None,
                     n_jobs: int = 1, msi_connectivity: str = "2d-8",
                     msi: Mapping[str, float] | None = None) -> FeatureSet:
    """Compute features by name (``names=None``: all 11,238 with the shipped parameter file).

    MSI names take their values from ``msi`` when given (already computed on ``regions.habitat_labels``),
    else they are computed here with ``msi_connectivity``.

    ``study.data`` is float32 [phase, z, y, x]; masks are on the study grid; ``early_phase`` indexes the phase
    used for region radiomics. Raises :class:`FeatureError` for unknown names, :class:`GeometryError` for
    masks on another grid, :class:`CancelledError` if ``cancel.is_set()`` between units.
    """
    t_start = time.perf_counter()
    params = params or load_params()
    itypes = params.image_type_names()
    wanted = list(all_feature_names(itypes)) if names is None else list(dict.fromkeys(names))
    parsed = [parse_feature_name(n, itypes) for n in wanted]
    _check_inputs(study, regions, early_phase)
    region_req, kin_req, want_msi = _plan(parsed)
    settings = params.settings_dict()
    settings["label"] = 1
    itype_args = {k: params.image_type_args(k) for k in params.image_types}
    geometry = study.geometry
    timings: dict[str, float] = {}
    notes: list[str] = []
    not_computable: dict[str, str] = {}
    jobs: list = []

    t0 = time.perf_counter()
    fine = n_jobs > 1
    n_ph = study.n_phases
    kinetic_pending = bool(kin_req) and n_ph >= MIN_KINETIC_PHASES
    submitted = None  # region units already running in the pool (parallel extraction only)
    region_problems: dict[str, str] = {}
    if region_req:
        masks = {r: regions.region(r) for r in REGIONS}
        rjobs, region_problems = region_jobs(study, masks, region_req, early_phase, settings, itype_args, fine, cancel)
        if fine and kinetic_pending and rjobs:
            submitted = _submit_early(rjobs, n_jobs)
        else:
            jobs.extend(rjobs)
    if progress is not None:
        progress("features: resampled the early phase", 0.02)
    kin_phase_values: dict[int, dict] = {}
    kin_problems: dict[str, str] = {}
    if kin_req and not kinetic_pending:
        for p in parsed:
            if p.kind == "kinetic":
                not_computable[p.name] = f"kinetic features need at least {MIN_KINETIC_PHASES} phases ({n_ph} given)"
    elif kin_req:
        if n_ph == 3:
            notes.append("only 3 phases: kinetic kurtosis is degenerate (the same value for any 3 distinct "
                         "values) and carries no information")
        tick = None if progress is None else (
            lambda k: progress(f"features: resampled phase {k}/{n_ph}", 0.02 + 0.08 * k / n_ph))
        try:
            kjobs, why = kinetic_jobs(study, np.asarray(regions.tumour, bool), kin_req, settings, itype_args, fine,
                                      cancel, tick)
        except BaseException:
            if submitted is not None:
                _abandon(submitted)
            raise
        jobs.extend(kjobs)
        if why:
            kin_problems = {t: why for t in kin_req}
    timings["prepare"] = time.perf_counter() - t0
    if progress is not None:
        progress("features: prepared", 0.1)

    values: dict[str, float] = {}
    timings["region_units"] = timings["kinetic_units"] = 0.0
    t0 = time.perf_counter()
    for res in _run_units(jobs, n_jobs, progress, cancel, 0.1, submitted):
        if res.per_phase is None:
            values.update(res.values)
            timings["region_units"] += res.seconds
        else:
            for ph, vals in enumerate(res.per_phase):
                kin_phase_values.setdefault(ph, {}).update(vals)
            kin_problems.update(res.problems)
            timings["kinetic_units"] += res.seconds
    timings["units_wall"] = time.perf_counter() - t0

    if want_msi:
        values.update(dict(msi) if msi is not None
                      else _msi(regions, geometry, not_computable, parsed, msi_connectivity))
    for p in parsed:
        if p.kind == "kinetic" and p.image_type in kin_problems:
            not_computable[p.name] = kin_problems[p.image_type]
    _kinetic_stats(parsed, kin_phase_values, study.n_phases, values, not_computable)
    out_values: dict[str, float] = {}
    for p in parsed:
        if p.name in not_computable:
            continue
        if p.kind == "region" and p.region in region_problems:
            not_computable[p.name] = region_problems[p.region]
            continue
        v = values.get(p.name)
        if v is None or not np.isfinite(v):
            not_computable[p.name] = ("pyradiomics could not compute this value (NaN/inf)" if v is not None
                                      else "not produced by the extraction")
        else:
            out_values[p.name] = float(v)
    timings["total"] = time.perf_counter() - t_start
    log.info("extracted %d features (%d not computable) in %.2f s", len(out_values), len(not_computable),
             timings["total"])
    return FeatureSet(out_values, {n: not_computable[n] for n in wanted if n in not_computable},
                      params.sha256, timings, tuple(notes))


def _msi(regions: RegionMasks, geometry, not_computable: dict, parsed: list[ParsedName],
         connectivity: str) -> dict[str, float]:
    try:
        from tnbc_desktop.core.msi import msi_features

        return msi_features(np.asarray(regions.habitat_labels, np.uint8), geometry.voxel_volume_mm3, connectivity)
    except Exception as exc:  # noqa: BLE001 - any failure is reported per name, never as a value
        reason = f"MSI could not be computed ({getattr(exc, 'problem', None) or type(exc).__name__})"
        for p in parsed:
            if p.kind == "msi":
                not_computable[p.name] = reason
        return {}


def _kinetic_stats(parsed, per_phase: dict, n_phases: int, values: dict, not_computable: dict) -> None:
    if not per_phase:
        return
    cache: dict[str, dict[str, float] | str] = {}
    for p in parsed:
        if p.kind != "kinetic" or p.name in not_computable:
            continue
        body = f"{p.image_type}_{p.feature_class}_{p.feature}"
        if body not in cache:
            series = [per_phase.get(ph, {}).get(body, float("nan")) for ph in range(n_phases)]
            bad = [ph for ph, v in enumerate(series) if not np.isfinite(v)]
            cache[body] = (f"not computable on phase(s) {bad}" if bad else across_phase_stats(np.array(series)))
        stats = cache[body]
        if isinstance(stats, str):
            not_computable[p.name] = stats
        else:
            values[p.name] = stats[p.stat]


def feature_count(params: RadiomicsParams | None = None) -> int:
    """Number of names of a full extraction (11,238 with the shipped file)."""
    params = params or load_params()
    return len(all_feature_names(params.image_type_names()))


__all__ = ["FeatureSet", "RegionMasks", "extract_features", "feature_count", "class_features"]
