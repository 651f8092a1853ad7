"""The one entry point: ``analyze_case(inputs, bundle, progress, cancel, n_jobs, *, study, mask) -> CaseResult``.

Steps, in order (each timed; ``progress(step, fraction)`` is called as each starts and once at the end with
("done", 1.0); ``cancel.is_set()`` is checked between steps and raises :class:`CancelledError`):

1. load study            - DICOM / NIfTI / NRRD -> DCEStudy (phase times and their source), or the study given
2. load mask             - mask on (or resampled onto) the study grid, or the mask given (checked to be on it)
3. kinetic maps          - per-voxel WIS, WOS, SER, PE (bundle's kinetic settings)
4. habitats              - bundle's population habitat model
5. peritumoral ring      - 0 < d <= ring width (mm) around the tumour
6. MSI                   - 22 multiregional spatial interaction features (bundle's neighbourhood)
7. features              - only the radiomic/kinetic features the bundle's models name
8. curves                - mean enhancement curves: tumour, each habitat, ring
9. mutations             - REL/MED23 VAF from the MAF (skipped when no file is given)
10. pathology            - Ki-67 and LVI
11. predictions          - Model 1/2/3, PRM, GPRM
12. survival groups      - predicted group on the bundle's reference DFS curves

Steps 3-7 are :func:`tnbc_desktop.core.imaging_chain.run_imaging_chain` with the bundle's typed extraction
settings, the same chain ``features``, cohort extraction and training run.

A step that fails stops the case with :class:`PipelineError` naming the step (and the input file); no
partial result is returned.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from tnbc_desktop import __version__
from tnbc_desktop.core.case import BundleInfo, CaseInputs, CaseResult, CurveSummary, QualityChecks, as_float_tuple
from tnbc_desktop.core.study import DCEStudy, Mask
from tnbc_desktop.errors import BundleError, CancelledError, MaskError, PipelineError, TnbcError
from tnbc_desktop.logsafe import get_logger, register_identifiers

log = get_logger("tnbc_desktop.pipeline")

STEPS = ("load study", "load mask", "kinetic maps", "habitats", "peritumoral ring", "MSI", "features", "curves",
         "mutations", "pathology", "predictions", "survival groups")
# rough share of the run time per step, for the progress fraction
_WEIGHTS = {"load study": 0.08, "load mask": 0.02, "kinetic maps": 0.04, "habitats": 0.04,
            "peritumoral ring": 0.02, "MSI": 0.02, "features": 0.68, "curves": 0.02, "mutations": 0.02,
            "pathology": 0.01, "predictions": 0.03, "survival groups": 0.02}

ProgressFn = Callable[[str, float], None]


def default_bundle_path() -> Path:
    """The shipped demo bundle (``models/demo_bundle.json``)."""
    from tnbc_desktop.paths import models_dir

    return models_dir() / "demo_bundle.json"


def resolve_bundle(bundle: Any, inputs: CaseInputs):
    """A loaded ModelBundle from an object, a path, ``inputs.bundle_path`` or the shipped demo bundle."""
    from tnbc_desktop.core.bundle import load_bundle

    if bundle is not None and not isinstance(bundle, (str, Path)):
        return bundle
    path = bundle or inputs.bundle_path
    if not path:
        path = default_bundle_path()
        if not path.exists():
            raise BundleError("the shipped demo bundle is missing from this installation; give a model bundle "
                              "with --bundle", path)
    return load_bundle(path)


class _Runner:
    """Runs named steps with timing, progress, cancel checks and error wrapping."""

    def __init__(self, progress: ProgressFn | None, cancel: Any, inputs: CaseInputs):
        self.progress = progress
        self.cancel = cancel
        self.inputs = inputs
        self.timings: dict[str, float] = {}
        self.done = 0.0

    def report(self, step: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(step, float(min(max(fraction, 0.0), 1.0)))

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise CancelledError("analysis cancelled by the user")

    def sub_progress(self, step: str) -> ProgressFn:
        """A progress callback for inside a step (called while it runs), mapped onto that step's share."""
        width = _WEIGHTS.get(step, 0.0)

        def inner(_label: str, fraction: float) -> None:
            self.report(step, self.done + width * float(min(max(fraction, 0.0), 1.0)))
        return inner

    def run(self, step: str, fn: Callable[[], Any], source: Any = None) -> Any:
        self.check_cancel()
        self.report(step, self.done)
        t0 = time.perf_counter()
        try:
            out = fn()
        except CancelledError:
            raise
        except TnbcError as exc:
            raise PipelineError(step, exc, exc.source or (str(source) if source else None)) from exc
        except Exception as exc:  # any other failure is named by its step, never a raw traceback
            raise PipelineError(step, exc, str(source) if source else None) from exc
        self.timings[step] = time.perf_counter() - t0
        self.done += _WEIGHTS.get(step, 0.0)
        log.info("step %s done in %.2f s", step, self.timings[step])
        return out


def _regions_box(mask: np.ndarray, ring: np.ndarray) -> tuple[slice, ...] | None:
    """Bounding box [z, y, x] of the tumour and the ring (habitats lie inside the tumour), or None if empty."""
    from tnbc_desktop.core.regions import bounding_box

    boxes = [b for b in (bounding_box(mask), bounding_box(ring)) if b is not None]
    if not boxes:
        return None
    return tuple(slice(min(b[d].start for b in boxes), max(b[d].stop for b in boxes)) for d in range(3))


def _curves(study, mask, habitats, ring, settings) -> dict[str, CurveSummary]:
    from tnbc_desktop.core.curves import region_curve

    # every region lies in the tumour + ring box: compare labels and read the study there only (a 96x512x512
    # grid made four study-sized temporaries here); the curves are the same to the last bit
    labels = np.asarray(habitats.labels)
    box = _regions_box(np.asarray(mask.array, dtype=bool), np.asarray(ring, dtype=bool))
    if box is None or np.count_nonzero(labels) != np.count_nonzero(labels[box]):
        box = tuple(slice(0, n) for n in labels.shape)  # labels outside the tumour: never from analyze_case
    regions = {"tumour": np.asarray(mask.array)[box]}
    for k in (1, 2, 3):
        regions[f"H{k}"] = labels[box] == k
    regions["ring"] = np.asarray(ring)[box]
    out = {}
    for name, region in regions.items():
        if not np.any(region):
            continue
        c = region_curve(study, region, settings, box=box)
        out[name] = CurveSummary(name, as_float_tuple(c.times_s), as_float_tuple(c.mean), as_float_tuple(c.sd),
                                 int(c.n_voxels), c.curve_type, c.initial_rise)
    return out


def _mutations(inputs: CaseInputs):
    from tnbc_desktop.core.io.mutations import read_mutation_panel

    if not inputs.maf_path:
        return None
    return read_mutation_panel(inputs.maf_path, sample=inputs.sample)


def _survival_groups(bundle, predictions: dict) -> tuple[dict, list[str]]:
    from tnbc_desktop.core.survival_group import survival_group

    out, notes = {}, []
    for name, pred in predictions.items():
        if not getattr(pred, "available", False) or not getattr(pred, "group", None):
            continue
        spec = bundle.models.get(name)
        surv = getattr(spec, "survival", None) or {}
        curves = surv.get("curves") if isinstance(surv, dict) else None
        if not curves:
            notes.append(f"{name}: the bundle has no reference DFS curves")
            continue
        try:
            out[name] = survival_group(name, pred.group, curves, surv.get("logrank_p"), surv.get("cohort", ""))
        except ValueError as exc:
            notes.append(f"{name}: {exc}")
    return out, notes


def given_mask_on_grid(mask: Mask, study: DCEStudy) -> Mask:
    """``mask`` when it lies on ``study``'s grid (shape and geometry), else :class:`MaskError`."""
    if tuple(np.shape(mask.array)) != tuple(study.data.shape[1:]) or not mask.geometry.same_grid(study.geometry):
        raise MaskError(f"the mask ({mask.geometry.describe()}) is not on the study's grid "
                        f"({study.geometry.describe()})", mask.source or None)
    return mask


def analyze_case(inputs: CaseInputs, bundle: Any = None, progress: ProgressFn | None = None,
                 cancel: Any = None, n_jobs: int = 1, *, study: DCEStudy | None = None,
                 mask: Mask | None = None) -> CaseResult:
    """Run every step for one case (see the module docstring) and return the frozen :class:`CaseResult`.

    ``bundle``: a loaded ModelBundle, a path, or None (``inputs.bundle_path`` or the shipped demo bundle).
    ``n_jobs``: worker processes for feature extraction (1 = in this process).
    ``study`` / ``mask``: already loaded (e.g. by the GUI, with phase times edited in its phase table); used as
    they are instead of loading ``inputs.study_source`` / ``inputs.mask_path``, which then stay only as the
    record of where they came from. A given mask must be on the study's grid.
    Raises :class:`PipelineError` (step named) or :class:`CancelledError`.
    """
    from tnbc_desktop.core.intended_use import AcquisitionProfile, check_intended_use
    from tnbc_desktop.core.imaging_chain import run_imaging_chain
    from tnbc_desktop.core.io.clinical import PathologyInputs
    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study
    from tnbc_desktop.core.predict import predict_all
    from tnbc_desktop.core.tumour_reading import read_tumour

    runner = _Runner(progress, cancel, inputs)
    runner.check_cancel()
    if inputs.sample:
        register_identifiers([inputs.sample])
    try:
        bundle = resolve_bundle(bundle, inputs)
    except TnbcError as exc:
        raise PipelineError("load bundle", exc) from exc
    settings = bundle.settings
    times = tuple(inputs.phase_times_s) if inputs.phase_times_s else None
    src = inputs.study_source if not isinstance(inputs.study_source, tuple) else list(inputs.study_source)

    given_study, given_mask = study, mask
    study = runner.run("load study", lambda: given_study if given_study is not None
                       else load_study(src, phase_times_s=times, series=inputs.series,
                                       allow_mixed_study=inputs.allow_mixed_study), inputs.study_source)
    register_identifiers(study.identity.values())
    mask = runner.run("load mask", lambda: given_mask_on_grid(given_mask, study) if given_mask is not None
                      else load_mask(inputs.mask_path, study.geometry, label=inputs.mask_label),
                      inputs.mask_path or getattr(given_mask, "source", None))
    chain = run_imaging_chain(
        study, mask.array, settings, bundle.habitat, bundle.required_features(),
        step=lambda name, fn: runner.run(name, fn, inputs.mask_path if name == "kinetic maps" else None),
        feature_progress=runner.sub_progress("features"), cancel=runner.cancel, n_jobs=n_jobs)
    maps, habitats, ring, msi, feature_set = (chain.kinetic_maps, chain.habitats, chain.ring, chain.msi,
                                              chain.feature_set)
    curves = runner.run("curves", lambda: _curves(study, mask, habitats, ring, settings.kinetic))
    panel = runner.run("mutations", lambda: _mutations(inputs), inputs.maf_path)
    pathology = runner.run("pathology", lambda: PathologyInputs.from_values(inputs.ki67, inputs.lvi))

    values: dict[str, float] = {k: float(v) for k, v in msi.items()}
    not_computable: dict[str, str] = {}
    if feature_set is not None:
        values.update({k: float(v) for k, v in feature_set.values.items()})
        not_computable = dict(getattr(feature_set, "not_computable", {}) or {})
    vaf_sum = getattr(panel, "vaf_sum", None) if panel is not None else None
    predictions = runner.run("predictions", lambda: predict_all(bundle, values, pathology, vaf_sum,
                                                                        not_computable=not_computable))
    groups, surv_notes = runner.run("survival groups", lambda: _survival_groups(bundle, predictions))
    runner.report("done", 1.0)
    gate = check_intended_use(AcquisitionProfile.from_study(study, mask.volume_ml, settings.kinetic),
                              bundle.training_envelope)

    warnings = _collect_warnings(study, mask, habitats, panel, pathology, predictions, not_computable, surv_notes)
    fr = np.asarray(habitats.fractions, dtype=float)
    vvol = study.geometry.voxel_volume_mm3
    qc = QualityChecks(
        phase_times_s=as_float_tuple(study.phase_times_s), timing_source=str(study.timing_source),
        registration="off (not performed)", early_phase=int(maps.early_phase), late_phase=int(maps.late_phase),
        habitat_mode=str(habitats.mode), habitat_fractions=as_float_tuple(fr),
        habitat_volumes_ml=tuple(float(n) * vvol / 1000.0 for n in _label_counts(habitats.labels)),
        n_invalid_voxels=int(maps.n_invalid), n_ser_clipped=int(maps.n_ser_clipped),
        mask_resampled=bool(mask.resampled), mask_volume_ml=float(mask.volume_ml),
        mask_provenance=inputs.mask_origin(),
        ring_volume_ml=float(np.count_nonzero(ring)) * vvol / 1000.0,
        out_of_range=tuple(dict.fromkeys(w for p in predictions.values() for w in getattr(p, "warnings", ())
                                         if "range" in w)),
        not_computable=tuple(f"{k}: {v}" for k, v in not_computable.items()),
        notes=tuple(study.notes) + tuple(mask.notes))
    return CaseResult(
        inputs=inputs, study=study, mask=mask, kinetic_maps=maps, habitats=habitats, ring=ring, msi=dict(msi),
        features=values, mutation_panel=panel, pathology=pathology, predictions=dict(predictions),
        survival_groups=groups, curves=curves, qc=qc, bundle=BundleInfo.from_bundle(bundle),
        timings_s=dict(runner.timings),
        warnings=tuple(dict.fromkeys(warnings)), created_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        app_version=__version__, feature_set=feature_set,
        reading=read_tumour(mask.array, study.spacing_mm, curves), intended_use=gate)


def _label_counts(labels) -> list[int]:
    """Voxels of habitat 1, 2, 3 (counted on the labels' bounding box: every labelled voxel is in it)."""
    from tnbc_desktop.core.regions import bounding_box

    lab = np.asarray(labels)
    box = bounding_box(lab)
    sub = lab[box] if box is not None else lab[:0]
    return [int(np.count_nonzero(sub == k)) for k in (1, 2, 3)]


def _collect_warnings(study, mask, habitats, panel, pathology, predictions, not_computable, surv_notes) -> list[str]:
    out: list[str] = list(getattr(study, "warnings", ())) + list(getattr(mask, "warnings", ()))
    if mask.resampled:
        out.append("the mask was resampled (nearest neighbour) onto the study grid")
    empty = getattr(habitats, "empty_habitats", ())
    if empty:
        out.append("empty habitat(s) " + ", ".join(f"H{k}" for k in empty) + ": their features are imputed")
    if panel is not None:
        out += list(getattr(panel, "warnings", ()))
    missing = pathology.missing() if hasattr(pathology, "missing") else ()
    if missing:
        out.append(f"unknown pathology input(s): {', '.join(missing)} (PRM/GPRM need them)")
    for name, pred in predictions.items():
        out += [f"{name}: {w}" for w in getattr(pred, "warnings", ())]
    if not_computable:
        out.append(f"{len(not_computable)} feature(s) could not be computed: " + ", ".join(list(not_computable)[:3]))
    out += surv_notes
    return out
