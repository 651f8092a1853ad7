"""``load_study``: the one entry point turning user input into a :class:`DCEStudy`.

Accepted sources: a DICOM folder (nested, any file names, non-DICOM files ignored), a DICOM file or list of
DICOM files, one 4D NIfTI/NRRD (times from a ``<stem>.json`` sidecar, Slicer's ``MultiVolume.FrameLabels`` or
the caller), or a list of 3D NIfTI/NRRD files, one per phase in time order. Explicit ``phase_times_s`` always win
(timing_source "user"): they are applied to the phases as the sorter grouped them.

DICOM goes through the exam scan (headers only, :mod:`tnbc_desktop.core.io.exam_select`): the DCE series are
picked (or named by the caller with ``series``), the others are ignored with a note, and only the chosen
images' pixels are read. The chosen images must belong to one patient (:class:`IdentityError` otherwise); one
study and one frame of reference too, unless ``allow_mixed_study`` (then a warning note).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from tnbc_desktop.core.io.dicom_pixels import read_slice_pixels
from tnbc_desktop.core.io.dicom_identity import check_identity
from tnbc_desktop.core.io.dicom_read import list_candidate_files
from tnbc_desktop.core.io.dicom_sort import MIN_PHASES, sort_phases
from tnbc_desktop.core.io.limits import check_study_array
from tnbc_desktop.core.io.sanity import check_geometry, phase_value_warnings
from tnbc_desktop.core.io.exam_select import Exam, scan_exam, select_dce
from tnbc_desktop.core.io.nrrd_frames import multivolume_times
from tnbc_desktop.core.io.volumes import is_volume_path, read_sidecar_times, read_volume
from tnbc_desktop.core.study import DCEStudy, PatientIdentity, PhaseInfo, SourceImage
from tnbc_desktop.errors import CancelledError, DicomError, GeometryError, InputError, TimingError
from tnbc_desktop.core.phase_times import validate_phase_times
from tnbc_desktop.logsafe import get_logger, register_identifiers

log = get_logger(__name__)


def _resolve_times(user, found, found_tag, n_phases, source, notes, phase_key=""):
    if user is not None:
        times = validate_phase_times(user, n_phases, source)
        if user and float(user[0]) != 0.0:
            notes.append(f"phase times shifted so that phase 0 is at 0 s (given from {float(user[0]):g} s)")
        return times, "user", ["user"] * n_phases
    if found is None:
        told = f" (told apart by {phase_key})" if phase_key and phase_key != "series" else ""
        raise TimingError(f"no acquisition times found for the {n_phases} phases{told}; give them explicitly "
                          "(--phase-times 0,90,... or the phase table)", source)
    return validate_phase_times(found, n_phases, source), found_tag, [found_tag] * n_phases


def _identity(values: tuple[str, ...]) -> PatientIdentity:
    name, pid, birth, study_date, accession, institution, species, series_lat, image_lat = (values + ("",) * 9)[:9]
    identity = PatientIdentity(patient_name=name, patient_id=pid, birth_date=birth, study_date=study_date,
                               accession_number=accession, institution=institution, species=species,
                               laterality=(series_lat or image_lat).strip().upper())
    register_identifiers(identity.values())
    return identity


def load_exam_study(exam: Exam, phase_times_s: Sequence[float] | None = None, series: Sequence[int] | None = None,
                    allow_mixed_study: bool = False) -> DCEStudy:
    """The DCE of an examined exam: choose its series, sort, check identity, then read only their pixels."""
    source, ignored = exam.scan.source, exam.scan.n_ignored_files
    if not exam.series:
        raise DicomError("no DICOM images found" + (f" ({ignored} other file(s) ignored)" if ignored else ""),
                         source)
    selection = select_dce(exam, tuple(series) if series else None)
    sorted_phases = sort_phases(list(selection.headers))
    notes = list(selection.notes) + list(sorted_phases.notes)
    notes += check_identity(sorted_phases.grid, allow_mixed_study)
    if ignored:
        notes.append(f"ignored {ignored} file(s) that are not DICOM images")
    n_phases = len(sorted_phases.grid)
    times, timing_source, tags = _resolve_times(phase_times_s, sorted_phases.times_s, sorted_phases.timing_tag,
                                                n_phases, source, notes, sorted_phases.phase_key)
    geometry = check_geometry(sorted_phases.geometry, source)
    check_study_array((n_phases, *geometry.shape), source)
    data = np.empty((n_phases, *geometry.shape), dtype=np.float32)
    for p, phase in enumerate(sorted_phases.grid):
        read_slice_pixels(list(phase), out=data[p])  # decoded in place: no second copy of the study
    phases = tuple(
        PhaseInfo(index=p, time_s=times[p], source_tag=tags[p], series_uid=phase[0].series_uid,
                  series_number=phase[0].series_number, series_description=phase[0].series_description,
                  n_slices=len(phase))
        for p, phase in enumerate(sorted_phases.grid))
    first = sorted_phases.grid[0][0]
    source_images = tuple(tuple(SourceImage(path=h.path, sop_instance_uid=h.sop_instance_uid, frame=h.frame)
                                for h in phase) for phase in sorted_phases.grid)
    return DCEStudy(data=data, phase_times_s=times, geometry=geometry, phases=phases, layout=sorted_phases.layout,
                    timing_source=timing_source, source=source, study_uid=first.study_uid,
                    identity=_identity(first.identity), notes=tuple(notes), source_images=source_images)


def load_volume_study(paths: list[Path], phase_times_s: Sequence[float] | None, source: str) -> DCEStudy:
    """One 4D file, or one 3D file per phase (same grid) in time order."""
    notes: list[str] = []
    if len(paths) == 1:
        arr, geometry = read_volume(paths[0])
        if arr.ndim != 4:
            raise InputError(f"is a single 3D volume; a DCE study needs a 4D file or one 3D file per phase "
                             f"(at least {MIN_PHASES})", paths[0])
        data = arr.astype(np.float32, copy=False)
        kind = "nrrd-4d" if paths[0].name.lower().endswith((".nrrd", ".nhdr")) else "nifti-4d"
        found, found_tag = read_sidecar_times(paths[0]), "sidecar"
        if found is None and kind == "nrrd-4d":
            found, found_tag = multivolume_times(paths[0], data.shape[0]), "MultiVolume.FrameLabels"
    else:
        arrays, geometry = [], None
        for p in paths:
            arr, g = read_volume(p)
            if arr.ndim != 3:
                raise InputError(f"is {arr.ndim}D; each per-phase file must be one 3D volume", p)
            if geometry is not None and not geometry.same_grid(g):
                raise GeometryError(f"grid differs from the first phase: {g.describe()} vs {geometry.describe()}", p)
            geometry = geometry or g
            arrays.append(arr.astype(np.float32, copy=False))
        data = np.stack(arrays)
        kind = "nrrd-per-phase" if paths[0].name.lower().endswith((".nrrd", ".nhdr")) else "nifti-per-phase"
        found, found_tag = None, None
    n_phases = data.shape[0]
    if n_phases < MIN_PHASES:
        raise InputError(f"not a DCE study: {n_phases} phase(s); at least {MIN_PHASES} are needed", source)
    times, timing_source, tags = _resolve_times(phase_times_s, found, found_tag, n_phases, source, notes)
    phases = tuple(PhaseInfo(index=p, time_s=times[p], source_tag=tags[p], n_slices=geometry.shape[0],
                             series_description=paths[min(p, len(paths) - 1)].name) for p in range(n_phases))
    return DCEStudy(data=np.ascontiguousarray(data), phase_times_s=times, geometry=geometry, phases=phases,
                    layout=kind, timing_source=timing_source, source=source, notes=tuple(notes))


def load_study(source: str | Path | list[Path], phase_times_s: Sequence[float] | None = None,
               series: Sequence[int] | None = None, allow_mixed_study: bool = False, progress=None,
               cancel=None) -> DCEStudy:
    """Load a DCE study from a DICOM folder/file(s) or NIfTI/NRRD file(s); see the module docstring.

    ``series``: series numbers to build the DCE from (DICOM only; default: the exam scan's choice).
    ``progress(step, fraction)`` / ``cancel.is_set()``: the header scan's, for a caller off the GUI thread.
    Raises a :class:`~tnbc_desktop.errors.InputError` subclass (DicomError, GeometryError, TimingError...)
    naming the input and the problem; nothing else escapes (an unexpected library error becomes an
    :class:`InputError` naming its type, and is logged for the bug report).
    """
    def load():
        kind, paths, label = _resolve(source)
        if kind == "volumes":
            return load_volume_study(paths, phase_times_s, label)
        exam = _scan(kind, paths, label, progress, cancel)
        return load_exam_study(exam, phase_times_s, series, allow_mixed_study)

    return _guarded(source, load)


def examine_source(source: str | Path | list[Path], progress=None, cancel=None) -> Exam:
    """The exam scan (series, roles, DCE candidates; headers only) of a DICOM folder or files."""
    def scan():
        kind, paths, label = _resolve(source)
        if kind == "volumes":
            raise InputError("is a NIfTI/NRRD volume: series and their roles exist only for DICOM input", label)
        return _scan(kind, paths, label, progress, cancel)

    return _guarded(source, scan)


def load_exam_study_guarded(exam: Exam, phase_times_s=None, series=None, allow_mixed_study=False) -> DCEStudy:
    """:func:`load_exam_study` behind the same safety net as :func:`load_study`."""
    return _guarded(exam.scan.source, lambda: load_exam_study(exam, phase_times_s, series, allow_mixed_study))


def _guarded(source, fn):
    try:
        result = fn()
        if isinstance(result, DCEStudy):
            return replace(result, warnings=result.warnings + phase_value_warnings(result))
        return result
    except InputError as exc:
        if exc.source is None:  # e.g. a sorting error about the whole series: name the input it is about
            raise type(exc)(exc.problem, str(source)[:300]) from exc
        raise
    except (MemoryError, KeyboardInterrupt, CancelledError):
        raise
    except Exception as exc:  # safety net: a loader never lets a raw library error reach the user
        log.exception("unexpected error while loading a study")
        raise InputError(f"cannot be loaded ({type(exc).__name__}: {exc})", str(source)[:300]) from exc


def _resolve(source) -> tuple[str, list[Path], str]:
    """("dicom-folder" | "dicom-files" | "volumes", paths, label) or :class:`InputError`."""
    if isinstance(source, (list, tuple)):
        paths = [Path(p) for p in source]
        label = f"{paths[0]} (+{len(paths) - 1} more)" if len(paths) > 1 else str(paths[0]) if paths else ""
    else:
        paths = [Path(source)]
        label = str(source)
    if not paths:
        raise InputError("no study files given")
    for p in paths:
        if not p.exists():
            raise InputError("does not exist", p)
    if len(paths) == 1 and paths[0].is_dir():
        return "dicom-folder", paths, label
    if any(p.is_dir() for p in paths):
        raise InputError("give either one folder or a list of files, not several folders", label)
    volume_flags = {is_volume_path(p) for p in paths}
    if volume_flags == {True}:
        return "volumes", paths, label
    if volume_flags == {False}:
        return "dicom-files", paths, label
    raise InputError("mixes NIfTI/NRRD and DICOM files; give one kind", label)


def _scan(kind: str, paths: list[Path], label: str, progress=None, cancel=None) -> Exam:
    if kind == "dicom-folder":
        files = list_candidate_files(paths[0])
        if not files:
            raise DicomError("folder is empty", paths[0])
        return scan_exam(files, strict=False, source=label, progress=progress, cancel=cancel)
    return scan_exam(paths, strict=True, source=label, progress=progress, cancel=cancel)
