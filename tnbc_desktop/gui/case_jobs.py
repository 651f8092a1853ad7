"""What the window's buttons do, as plain functions (no Qt): load a case, edit phases, prepare the demo
patient, build the pipeline inputs, run the analysis, write the report. Each runs inside a
:class:`~tnbc_desktop.gui.worker.BackgroundTask` and calls the same core functions the CLI uses.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tnbc_desktop.core.phase_numbering import PHASE_NUMBERING_NOTE, phase_number
from tnbc_desktop.core.study import DCEStudy, Mask, PhaseInfo
from tnbc_desktop.errors import MaskError
from tnbc_desktop.gui.session import SessionState
from tnbc_desktop.paths import user_data_dir

from tnbc_desktop.core.synthetic.demo_patient import DEMO_SEED


@dataclass(frozen=True, eq=False)
class LoadedCase:
    """The study as loaded from the files, the study as shown (after phase edits) and the mask."""

    loaded_study: DCEStudy
    study: DCEStudy
    mask: Mask | None


def study_source_arg(paths: list[str]) -> str | list[Path]:
    """``load_study`` argument: one path as is, several as a list."""
    return paths[0] if len(paths) == 1 else [Path(p) for p in paths]


def edit_phases(study: DCEStudy, order: list[int], times: list[float]) -> DCEStudy:
    """The study with phases kept / reordered as ``order`` (loaded indices) and ``times`` (s) set by the user."""
    if sorted(set(order)) != sorted(order) or any(not 0 <= i < study.n_phases for i in order):
        raise ValueError(f"phase order {[phase_number(i) for i in order]} is not a selection of phases "
                         f"1..{study.n_phases}")
    by_index = {p.index: p for p in study.phases}
    phases = tuple(replace(by_index.get(i, PhaseInfo(i, 0.0, "user")), index=i, time_s=float(t),
                           source_tag="user" if float(t) != by_index.get(i, PhaseInfo(i, -1.0, "")).time_s
                           else by_index[i].source_tag)
                   for i, t in zip(order, times))
    unchanged = list(order) == list(range(study.n_phases)) and np.allclose(times, study.phase_times_s)
    note = f"phases edited by the user: order {[phase_number(i) for i in order]} ({PHASE_NUMBERING_NOTE})"
    source_images = tuple(study.source_images[i] for i in order) if study.source_images else ()
    return replace(study, data=study.data[list(order)], phase_times_s=tuple(float(t) for t in times),
                   phases=phases, source_images=source_images,
                   timing_source=study.timing_source if unchanged else "user (phase table)",
                   notes=study.notes + (() if unchanged else (note,)))


def load_case(state: SessionState, progress=None, cancel=None) -> LoadedCase:
    """Load the study (with user phase times / order) and the mask named by ``state``."""
    from tnbc_desktop.core.io.study_loader import load_study

    if progress:
        progress("loading study", 0.1)
    reload_times = state.phase_times_s if state.phase_order is None else None
    loaded = load_study(study_source_arg(state.study_source), phase_times_s=reload_times,
                        series=tuple(state.series) if state.series else None,
                        allow_mixed_study=state.allow_mixed_study, cancel=cancel,
                        progress=None if progress is None else lambda step, f: progress(step, 0.1 + 0.5 * f))
    study = loaded
    if state.phase_order is not None and state.phase_times_s is not None:
        study = edit_phases(loaded, state.phase_order, state.phase_times_s)
    mask = None
    unsaved = state.mask_autosave if state.mask_autosave and Path(state.mask_autosave).exists() else None
    if unsaved or state.mask_path:
        if progress:
            progress("loading mask", 0.7)
        mask = load_mask_for(unsaved or state.mask_path, study, None if unsaved else state.mask_label)
    return LoadedCase(loaded, study, mask)


def load_mask_for(path: str, study: DCEStudy, label: int | None) -> Mask:
    from tnbc_desktop.core.io.masks import load_mask

    mask = load_mask(path, study.geometry, label=label)
    if not mask.array.any():
        raise MaskError("the mask is empty", path)
    return mask


def demo_case_folder(seed: int = DEMO_SEED, **make_kwargs) -> Path:
    """Folder with the synthetic demo patient (written once to the user data folder as NIfTI).

    ``make_kwargs`` go to :func:`tnbc_desktop.core.synthetic.make_patient` (e.g. a small ``shape`` in tests).
    """
    from tnbc_desktop.core.synthetic import make_demo_patient, write_patient

    tag = hashlib.sha256(repr(sorted(make_kwargs.items())).encode()).hexdigest()[:8] if make_kwargs else "default"
    root = user_data_dir() / "demo" / f"patient-v2-{seed}-{tag}"
    if not (root / "clinical.json").exists() or not (root / "mask.nii.gz").exists():
        patient = make_demo_patient(seed, **make_kwargs)
        write_patient(patient, root, layout="nifti")
    return root


def demo_state(folder: Path, bundle_path: str | None) -> SessionState:
    """Inputs of the demo patient: its study, mask, MAF and the pathology from its clinical.json."""
    import json

    clinical = json.loads((folder / "clinical.json").read_text(encoding="utf-8"))
    return SessionState(study_source=[str(folder / "study.nii.gz")], mask_path=str(folder / "mask.nii.gz"),
                        ki67=f"{clinical.get('ki67_percent', '')}", lvi=str(clinical.get("lvi", "unknown")),
                        maf_path=str(folder / "mutations.maf"), sample=clinical.get("sample"),
                        bundle_path=bundle_path)


def case_inputs(state: SessionState, shown_study: DCEStudy | None = None):
    """:class:`tnbc_desktop.core.case.CaseInputs` for ``state`` (the CLI's ``analyze`` takes the same).

    The window hands the pipeline the study it shows (phases as edited in the phase table) and its mask in
    memory; these inputs then name the files they came from, for the record. ``phase_times_s`` are the times
    of ``shown_study`` when given (what was analysed), else the user's times from ``state``.
    """
    from tnbc_desktop.core.case import CaseInputs

    source: str | tuple[Path, ...] = state.study_source[0] if len(state.study_source) == 1 else tuple(
        Path(p) for p in state.study_source)
    times = tuple(state.phase_times_s) if state.phase_times_s is not None else None
    if shown_study is not None:
        times = tuple(float(t) for t in shown_study.phase_times_s)
    return CaseInputs(study_source=source, mask_path=state.mask_path or "", mask_label=state.mask_label,
                      phase_times_s=times, maf_path=state.maf_path, sample=state.sample,
                      ki67=state.ki67 or None, lvi=state.lvi, bundle_path=state.bundle_path,
                      deidentify=state.deidentify, series=tuple(state.series) if state.series else None,
                      allow_mixed_study=state.allow_mixed_study)
