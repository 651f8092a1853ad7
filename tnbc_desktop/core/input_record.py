"""What a result was computed from, so that a later change of any input marks it outdated.

:func:`input_record` condenses the inputs of one analysis - the study (source, study and series UIDs), the
phase table (order and times), the tumour mask (its voxels), Ki-67 / LVI, the mutation panel (file and
sample) and the model bundle (SHA-256) - into a small frozen :class:`InputRecord`. A result's record is built
from the ``CaseResult`` itself (its ``inputs``, ``study``, ``mask`` and ``bundle``); the window builds the
record of what it shows now with the same function and compares the two with :func:`changed_inputs`.
:func:`outdated_models` says which predictions an input change touches (Model 3 reads the images only, PRM adds
the pathology, GPRM adds the mutation panel). No Qt here.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

# Input field -> the words people see in "inputs changed (...)".
INPUT_NAMES = {"study": "study / series", "phases": "phase table", "mask": "tumour mask", "pathology": "Ki-67 / LVI",
               "panel": "mutation panel", "bundle": "model bundle"}

# [D] Which inputs each model reads (SPEC 8): Model 1-3 the images (study, phases, mask); PRM adds the
# pathology; GPRM adds the mutation panel. The bundle changes every model.
_IMAGING = frozenset({"study", "phases", "mask", "bundle"})
MODEL_INPUTS: dict[str, frozenset[str]] = {
    "model1": _IMAGING, "model2": _IMAGING, "model3": _IMAGING,
    "prm": _IMAGING | {"pathology"}, "gprm": _IMAGING | {"pathology", "panel"},
}


@dataclass(frozen=True)
class InputRecord:
    """One analysis' inputs, each condensed to a comparable value (strings and tuples; no arrays)."""

    study: tuple[str, ...]
    phases: tuple[float, ...]
    mask: str
    pathology: tuple[str, str]
    panel: tuple[str, str]
    bundle: str


def mask_digest(array: np.ndarray | None) -> str:
    """SHA-256 of a mask's voxels (shape + packed bits); '' for no mask."""
    if array is None:
        return ""
    a = np.asarray(array, dtype=bool)
    h = hashlib.sha256(repr(a.shape).encode())
    h.update(np.packbits(a, axis=None).tobytes())
    return h.hexdigest()


def _text(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def input_record(inputs: Any, study: Any, mask_array: np.ndarray | None, bundle_sha256: str) -> InputRecord:
    """The record of an analysis of ``study`` with ``mask_array`` and ``inputs`` (a ``CaseInputs``)."""
    source = tuple(str(p) for p in inputs.study_paths())
    series = tuple(str(getattr(p, "series_uid", "") or "") for p in getattr(study, "phases", ()))
    study_key = source + (str(getattr(study, "study_uid", "") or ""),) + series
    phases = tuple(float(t) for t in getattr(study, "phase_times_s", ()))
    return InputRecord(study=study_key, phases=phases, mask=mask_digest(mask_array),
                       pathology=(_text(inputs.ki67), _text(inputs.lvi) or "unknown"),
                       panel=(_text(inputs.maf_path), _text(inputs.sample) if inputs.maf_path else ""),
                       bundle=str(bundle_sha256 or ""))


def result_record(result: Any) -> InputRecord:
    """The record of a ``CaseResult``: the inputs it was computed from."""
    return input_record(result.inputs, result.study, result.mask.array, result.bundle.sha256)


def changed_inputs(then: InputRecord, now: InputRecord) -> tuple[str, ...]:
    """Names (keys of :data:`INPUT_NAMES`) of the inputs that differ, in field order."""
    return tuple(f.name for f in fields(InputRecord) if getattr(then, f.name) != getattr(now, f.name))


def outdated_models(changed: tuple[str, ...], models=tuple(MODEL_INPUTS)) -> tuple[str, ...]:
    """The models among ``models`` whose inputs include one of ``changed``."""
    touched = set(changed)
    return tuple(m for m in models if MODEL_INPUTS.get(m, frozenset(INPUT_NAMES)) & touched)


def describe_changes(changed: tuple[str, ...]) -> str:
    """'Ki-67 / LVI, mutation panel' for a GUI banner."""
    return ", ".join(INPUT_NAMES[c] for c in changed)
