"""Sort DICOM slice headers into DCE phases x slices, check the grid, and find the phase times.

Steps (DESIGN.md section 2, SPEC.md section 1):
1. drop DERIVED / SUBTRACTION / MIP images (with a note);
2. check one orientation, one matrix, one pixel spacing; group slices by position along the slice normal;
   every position must hold the same number of images (= number of phases), at least 3;
3. order the images of each position in time: series ranked by SeriesTime then SeriesNumber; inside a series
   by TemporalPositionIdentifier/Index, else the first time tag that discriminates, else AcquisitionNumber
   (ParaVision: the only tag telling repeated slice positions apart); the tag used is the ``phase_key``;
4. phase times: the first tag whose per-phase value differs between all phases (TriggerTime,
   AcquisitionTime, ContentTime, SeriesTime, FrameAcquisitionDateTime); strictly increasing or
   :class:`TimingError`; none -> the loader's :class:`TimingError` (naming the phase key and the phase count)
   unless the user gives the times, which are applied to the phases as grouped here;
5. geometry: origin = position of the first slice, z spacing from positions (equal gaps or
   :class:`GeometryError`: a missing slice must not become a stretched volume).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from tnbc_desktop.core.io.dicom_header import SliceHeader, is_derived_image
from tnbc_desktop.core.study import Geometry
from tnbc_desktop.errors import DicomError, GeometryError, TimingError

TIME_TAG_ORDER = ("TriggerTime", "AcquisitionTime", "ContentTime", "SeriesTime", "FrameAcquisitionDateTime")
MIN_PHASES = 3


@dataclass(frozen=True)
class SortedPhases:
    """Headers arranged [phase][slice] (slices ascending along the normal) with geometry and timing."""

    grid: tuple[tuple[SliceHeader, ...], ...]
    geometry: Geometry
    times_s: tuple[float, ...] | None  # from phase 0; None when no tag gives them
    timing_tag: str | None
    layout: str
    notes: tuple[str, ...]
    phase_key: str = ""  # what tells the phases apart: a tag name, or "series" (one series per phase)


def _series_name(h: SliceHeader) -> str:
    num = "" if h.series_number is None else f" {h.series_number}"
    desc = f" '{h.series_description}'" if h.series_description else ""
    return f"series{num}{desc}"


def drop_derived(headers: list[SliceHeader], notes: list[str]) -> list[SliceHeader]:
    kept, dropped = [], defaultdict(int)
    for h in headers:
        if is_derived_image(h.image_type):  # the exam scan's 'derived' kinds: never a phase
            dropped[_series_name(h)] += 1
        else:
            kept.append(h)
    for name, n in dropped.items():
        notes.append(f"ignored {n} derived/subtraction/MIP image(s) of {name}")
    if headers and not kept:
        raise DicomError("every image is DERIVED, SUBTRACTION or MIP; the original DCE phases are needed")
    return kept


def _check_plane(headers: list[SliceHeader]) -> np.ndarray:
    """Common orientation, matrix and pixel spacing; returns the unit slice normal."""
    for h in headers:
        if h.position is None or h.orientation is None or h.pixel_spacing is None:
            raise GeometryError("image lacks ImagePositionPatient, ImageOrientationPatient or PixelSpacing; the "
                                "slice geometry is unknown", h.label)
    ref = headers[0]
    for h in headers[1:]:
        if not np.allclose(h.orientation, ref.orientation, atol=1e-3):
            raise GeometryError(f"mixed slice orientation: {_series_name(h)} differs from {_series_name(ref)}",
                                h.label)
        if (h.rows, h.columns) != (ref.rows, ref.columns):
            raise GeometryError(f"unequal image matrix: {h.rows}x{h.columns} in {_series_name(h)} but "
                                f"{ref.rows}x{ref.columns} in {_series_name(ref)}", h.label)
        if not np.allclose(h.pixel_spacing, ref.pixel_spacing, rtol=1e-4, atol=1e-4):
            raise GeometryError(f"unequal pixel spacing: {h.pixel_spacing} in {_series_name(h)} but "
                                f"{ref.pixel_spacing} mm in {_series_name(ref)}", h.label)
    row, col = np.asarray(ref.orientation[:3]), np.asarray(ref.orientation[3:])
    normal = np.cross(row, col)
    norm = np.linalg.norm(normal)
    if norm < 1e-6:
        raise GeometryError("ImageOrientationPatient is degenerate (row and column directions are parallel)",
                            ref.label)
    return normal / norm


def group_by_position(headers: list[SliceHeader], normal: np.ndarray) -> list[tuple[float, list[SliceHeader]]]:
    """Slices grouped by distance along the normal (0.01 mm bins), ascending."""
    groups: dict[float, list[SliceHeader]] = defaultdict(list)
    for h in headers:
        groups[round(float(np.dot(h.position, normal)), 2)].append(h)
    return sorted(groups.items())


def _series_rank(headers: list[SliceHeader]) -> dict[str, int]:
    by_series: dict[str, list[SliceHeader]] = defaultdict(list)
    for h in headers:
        by_series[h.series_uid].append(h)

    def key(uid):
        hs = by_series[uid]
        st = min((h.times_s.get("SeriesTime", np.inf) for h in hs), default=np.inf)
        num = hs[0].series_number if hs[0].series_number is not None else 10**9
        return (st, num, uid)

    return {uid: i for i, uid in enumerate(sorted(by_series, key=key))}


def _time_candidates():
    yield "TemporalPositionIdentifier", lambda h: h.temporal_position
    for tag in TIME_TAG_ORDER:
        yield tag, (lambda t: lambda h: h.times_s.get(t))(tag)
    yield "AcquisitionNumber", lambda h: h.acq.acquisition_number


def _within_series_key(hs: list[SliceHeader]):
    """(key, tag name) ordering the images of one series at one position in time; (None, None) if no tag
    is present on all of them with distinct values."""
    if len(hs) == 1:
        return (lambda h: 0.0), None
    for name, getter in _time_candidates():
        values = [getter(h) for h in hs]
        if all(v is not None for v in values) and len(set(values)) == len(values):
            return getter, name
    return None, None


def _has_duplicates(hs: list[SliceHeader]) -> bool:
    """Two images that agree on every ordering tag (and position): the same slice twice."""
    signatures = [tuple(getter(h) for _, getter in _time_candidates()) for h in hs]
    if all(v is None for sig in signatures for v in sig):
        return False  # no ordering tag at all: a timing problem, not evidence of duplicates
    return len(set(signatures)) != len(signatures)


def order_phases(positions, notes: list[str], keys_used: set | None = None) -> list[list[SliceHeader]]:
    """[phase][slice] from position groups; every position must hold the same number of images. The tags
    that ordered images inside a series are added to ``keys_used`` ("series" when series ordered them)."""
    keys_used = set() if keys_used is None else keys_used
    counts = {len(hs) for _, hs in positions}
    if len(counts) != 1:
        by_count = defaultdict(list)
        for s, hs in positions:
            by_count[len(hs)].append(s)
        common = max(by_count, key=lambda c: len(by_count[c]))
        odd = sorted((c, by_count[c][:3]) for c in by_count if c != common)
        detail = "; ".join(f"{len(by_count[c])} position(s) with {c} image(s), "
                           f"e.g. at {', '.join(f'{v:g}' for v in s)} mm" for c, s in odd)
        raise GeometryError(f"slice positions do not all hold the same number of images ({common} at most "
                            f"positions; {detail}): a slice is missing or duplicated in some phase")
    n_phases = counts.pop()
    all_h = [h for _, hs in positions for h in hs]
    rank = _series_rank(all_h)
    ordered = []
    for s, hs in positions:
        by_series: dict[str, list[SliceHeader]] = defaultdict(list)
        for h in hs:
            by_series[h.series_uid].append(h)
        seq = []
        for uid in sorted(by_series, key=rank.get):
            group = by_series[uid]
            key, name = _within_series_key(group)
            if key is None:
                key = _trigger_with_missing_first(group, notes)
                name = "TriggerTime" if key is not None else None
            if key is None and _has_duplicates(group):
                raise GeometryError(f"duplicate images at slice position {s:g} mm in {_series_name(group[0])} "
                                    "(same position and same temporal position / times)", group[0].path)
            if key is None:
                raise TimingError(f"{_series_name(group[0])} holds {len(group)} images at slice position {s:g} mm "
                                  "and no tag (TemporalPositionIdentifier, TriggerTime, AcquisitionTime, ContentTime) "
                                  "orders them in time (InstanceNumber is not time order)", group[0].path)
            seq.extend(sorted(group, key=key))
            keys_used.add(name or "series")
        ordered.append(seq)
    return [[ordered[z][p] for z in range(len(ordered))] for p in range(n_phases)]


def _trigger_with_missing_first(group: list[SliceHeader], notes: list[str]):
    """TriggerTime missing on exactly one image, the first by InstanceNumber, while the others carry evenly
    spaced TriggerTimes starting one step after 0 (QIBA DRO v6): that image is the time-0 reference.
    Returns a key or None when the data do not support the rule."""
    missing = [h for h in group if "TriggerTime" not in h.times_s]
    present = [h for h in group if "TriggerTime" in h.times_s]
    if len(missing) != 1 or len(present) < 2 or any(h.instance_number is None for h in group):
        return None
    first = missing[0]
    if first.instance_number != min(h.instance_number for h in group):
        return None
    present.sort(key=lambda h: h.instance_number)
    t = np.array([h.times_s["TriggerTime"] for h in present])
    steps = np.diff(np.concatenate([[0.0], t]))
    if np.any(steps <= 0) or np.ptp(steps) > 1e-3 * max(np.median(steps), 1e-9) + 1e-6:
        return None
    note = ("TriggerTime is missing on the first image only; the other images are evenly spaced from one step "
            "after 0, so the first is taken as time 0")
    if note not in notes:
        notes.append(note)
    return lambda h: h.times_s.get("TriggerTime", 0.0)


def phase_times(grid: list[list[SliceHeader]], notes: list[str]) -> tuple[tuple[float, ...] | None, str | None]:
    """Per-phase time from the first tag that differs between every phase (min over the phase's slices)."""
    inferred_zero = any(n.startswith("TriggerTime is missing on the first image") for n in notes)
    for tag in TIME_TAG_ORDER:
        per_phase = []
        for phase in grid:
            vals = [h.times_s.get(tag) for h in phase]
            if any(v is None for v in vals):
                if tag == "TriggerTime" and inferred_zero:
                    vals = [0.0 if v is None else v for v in vals]
                else:
                    break
            per_phase.append(min(vals))
        else:
            if len(set(np.round(per_phase, 4))) == len(per_phase):
                t = np.asarray(per_phase) - per_phase[0]
                if np.any(np.diff(t) <= 0):
                    listed = ", ".join(f"{v:g}" for v in t)
                    raise TimingError(f"phase times from {tag} are not increasing in phase order ({listed} s)")
                return tuple(float(v) for v in t), tag
    return None, None


def slice_spacing(grid: list[list[SliceHeader]], normal: np.ndarray, notes: list[str]) -> float:
    """z spacing in mm from the positions along the normal; unequal gaps -> GeometryError."""
    first_phase = grid[0]
    s = np.array([float(np.dot(h.position, normal)) for h in first_phase])
    if len(s) == 1:
        h = first_phase[0]
        dz = h.spacing_between_slices or h.slice_thickness or 1.0
        notes.append(f"single slice: z spacing {dz:g} mm taken from "
                     + ("SpacingBetweenSlices" if h.spacing_between_slices else
                        "SliceThickness" if h.slice_thickness else "a default of 1 mm"))
        return float(dz)
    gaps = np.diff(s)
    dz = float(np.median(gaps))
    if np.any(np.abs(gaps - dz) > 0.01 * dz + 1e-3):
        worst = int(np.argmax(np.abs(gaps - dz)))
        raise GeometryError(f"unequal slice spacing: gap of {gaps[worst]:.3g} mm between slices {worst + 1} and "
                            f"{worst + 2} where the others are {dz:.3g} mm; a slice is missing (refusing to stretch "
                            f"the volume)", first_phase[worst].path)
    return dz


def detect_layout(grid: list[list[SliceHeader]]) -> str:
    if any(h.frame is not None for h in grid[0]):
        return "dicom-enhanced"
    series_per_phase = [{h.series_uid for h in phase} for phase in grid]
    all_series = set().union(*series_per_phase)
    if len(all_series) == 1:
        return "dicom-single-series"
    if all(len(s) == 1 for s in series_per_phase) and len(all_series) == len(grid):
        return "dicom-per-phase"
    if len(all_series) == 2 and series_per_phase[0] != series_per_phase[1]:
        return "dicom-pre-post"
    return "dicom-mixed-series"


def sort_phases(headers: list[SliceHeader]) -> SortedPhases:
    """Arrange headers into phases x slices with geometry and (when the tags give them) phase times."""
    notes: list[str] = []
    if not headers:
        raise DicomError("no DICOM images found")
    if len(headers) < MIN_PHASES:
        raise DicomError(f"not a DCE study: {len(headers)} image(s); at least {MIN_PHASES} phases (pre-contrast + "
                         "2 post-contrast) are needed", headers[0].path)
    headers = drop_derived(headers, notes)
    normal = _check_plane(headers)
    positions = group_by_position(headers, normal)
    per_pos = len(headers) // max(len(positions), 1)
    if len(headers) % len(positions) == 0 and per_pos < MIN_PHASES:
        raise DicomError(f"not a DCE study: found {per_pos} phase(s) of {len(positions)} slice(s); at least "
                         f"{MIN_PHASES} phases (pre-contrast + 2 post-contrast) are needed", headers[0].path)
    keys_used: set = set()
    grid = order_phases(positions, notes, keys_used)
    times, tag = phase_times(grid, notes)
    ref = grid[0][0]
    row, col = ref.orientation[:3], ref.orientation[3:]
    direction = tuple(float(v) for v in np.column_stack([row, col, normal]).ravel())
    dz = slice_spacing(grid, normal, notes)
    geometry = Geometry(shape=(len(grid[0]), ref.rows, ref.columns),
                        spacing_mm=(dz, float(ref.pixel_spacing[0]), float(ref.pixel_spacing[1])),
                        origin_mm=tuple(float(v) for v in ref.position), direction=direction)
    return SortedPhases(grid=tuple(tuple(p) for p in grid), geometry=geometry, times_s=times, timing_tag=tag,
                        layout=detect_layout(grid), notes=tuple(notes),
                        phase_key=" + ".join(sorted(k for k in keys_used if k != "series")) or "series")
