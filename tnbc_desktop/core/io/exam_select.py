"""From an examined exam to the DCE: candidates with a confidence and a reason, then the choice.

Steps of :func:`examine` (after :func:`tnbc_desktop.core.io.exam_scan.examine_headers` has given each series
its own role):
1. one-volume series are judged together, in families of the same plane, sequence (flip angle, TR, TE) and
   image kind (ImageType values after the first two):
   a family is a per-phase DCE when it holds a dynamic series (then its one-volume series are extra phases, e.g.
   a pre-contrast series) or at least 3 volumes of a T1-weighted gradient echo; one-volume series of the same
   plane and TR/TE whose flip angles differ, with nothing temporal, are a variable-flip-angle (VFA) set;
2. every DCE family is a candidate (:class:`DceCandidate`); [D] confidence 0.9 when flip angle, TR and TE are
   recorded and fit a T1-weighted gradient echo, 0.6 when the header leaves them out.

[D] A VFA set often includes the dynamic's own flip angle (a T1-mapping set shipped next to the dynamic series,
as in QIBA's v4 DRO); that volume has the DCE family's plane and sequence but is no phase of it. So when the
one-volume series of a DCE family's plane and TR/TE carry >= 2 other flip angles (a VFA run is there), each
one-volume series of the family is tested, first rule that decides: its description stem (numbers and flip-angle
words removed) equals a run member's and no family member's -> VFA, a family member's and no run member's ->
phase; its series number or start time lies strictly inside the run's -> VFA; else it goes with whichever series
is nearest in start time (in series number when a time is missing): a run member -> VFA, a family member ->
phase (a tie to the run); with neither known -> VFA. A series taken out this way is named in the candidate's
reason (and so in the study notes) with the hint that ``--series`` adds it back: leaving a true pre-contrast out
is visible and undoable, while a VFA volume taken as a phase would shift every phase index without a word. A
separate pre-contrast series with no VFA run around it joins the dynamic.

:func:`select_dce` then takes the series the user named, else the only candidate; several candidates and no
choice is an error listing them; none is an error showing the series table ("no DCE series found") unless
nothing in the folder is positively something else (a curated folder of too few phases, say), where the
images go to the sorter as they are, so that its own message (missing phase, derived images...) is given.
A series the user names that was split into several parts by TR/TE or image kind (a Dixon series) keeps only
its DCE parts; two DCE parts in one series (in- and opposed-phase, water and fat) cannot be chosen between by
a series number, which is an error saying so (the candidates' labels name each part's TE / image kind).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from tnbc_desktop.core.io.dicom_header import SliceHeader
from tnbc_desktop.core.io.dicom_read import scan_headers
from tnbc_desktop.core.io.exam_scan import (NOT_DCE_SEQUENCE, ExamScan, ExamSeries, SeriesRole,
                                            _is_t1_gradient_echo, contrast_tag, examine_headers)
from tnbc_desktop.errors import DicomError

MIN_PHASES = 3
MESSAGE_TABLE_CHARS = 220
_ANGLE_WORDS = ("fa", "flip", "angle", "deg", "degree", "degrees")


@dataclass(frozen=True)
class DceCandidate:
    """Series that together make one DCE study (Slicer's "loadable"): ``confidence`` 0-1 and why."""

    series: tuple[ExamSeries, ...]
    confidence: float
    reason: str

    @property
    def numbers(self) -> tuple[int, ...]:
        return tuple(sorted({s.number for s in self.series if s.number is not None}))

    @property
    def label(self) -> str:
        return ", ".join(s.label for s in self.series[:4]) + (f" (+{len(self.series) - 4})"
                                                              if len(self.series) > 4 else "")


@dataclass(frozen=True)
class DceSelection:
    """The images chosen for the DCE (``headers``), the series they come from, and notes for the study."""

    headers: tuple[SliceHeader, ...]
    series: tuple[ExamSeries, ...]
    notes: tuple[str, ...]

    @property
    def numbers(self) -> tuple[int, ...]:
        return tuple(sorted({s.number for s in self.series if s.number is not None}))


def _is_single_volume(s: ExamSeries) -> bool:
    return s.role == SeriesRole.OTHER and not s.conclusive


def _forms_dce(members: list[ExamSeries]) -> bool:
    return any(m.role == SeriesRole.DCE for m in members) or sum(m.n_volumes or 1 for m in members) >= MIN_PHASES


def _stem(description: str) -> str:
    """A description without numbers and flip-angle words: 'T1 map FA25' and 't1_map_fa3' -> 't map'."""
    words = re.split(r"[^a-z]+", re.sub(r"[\d.]+", " ", description.lower()))
    return " ".join(w for w in words if w and w not in _ANGLE_WORDS)


def _start_s(s: ExamSeries) -> float | None:
    for tag in ("AcquisitionTime", "ContentTime", "SeriesTime"):
        times = [h.times_s[tag] for h in s.headers if tag in h.times_s]
        if times:
            return min(times)
    return None


def _in_vfa_run(s: ExamSeries, run: list[ExamSeries], others: list[ExamSeries]) -> bool:
    """Whether one-volume series ``s``, at the flip angle of the DCE family ``others``, belongs to the VFA run
    ``run`` (same plane and TR/TE, other flip angles); rule in the module docstring."""
    stem = _stem(s.description)
    in_run, in_dce = stem in {_stem(m.description) for m in run}, stem in {_stem(m.description) for m in others}
    if stem and in_run != in_dce:
        return in_run
    numbers = [m.number for m in run if m.number is not None]
    if s.number is not None and numbers and min(numbers) < s.number < max(numbers):
        return True
    start, starts = _start_s(s), {id(m): _start_s(m) for m in run + others}
    run_starts = [starts[id(m)] for m in run]
    if start is not None and None not in run_starts and min(run_starts) < start < max(run_starts):
        return True
    if start is not None and None not in starts.values():
        distance = {key: abs(value - start) for key, value in starts.items()}
    elif s.number is not None and all(m.number is not None for m in run + others):
        distance = {id(m): abs(m.number - s.number) for m in run + others}
    else:
        return True
    nearest = min(run + others, key=lambda m: distance[id(m)])  # a tie goes to the run (listed first)
    return any(nearest is m for m in run)


def _take_vfa_members(families: dict[tuple, list[ExamSeries]]) -> dict[tuple, list[ExamSeries]]:
    """Move out of each would-be DCE family its one-volume series that belong to a VFA run next to it; returns
    the moved series by family key (step 1 of the module docstring)."""
    runs: dict[tuple, list[ExamSeries]] = defaultdict(list)
    for (plane, (_, tr, te), _), members in families.items():
        if not _forms_dce(members):
            runs[(plane, tr, te)].extend(members)
    moved: dict[tuple, list[ExamSeries]] = {}
    for key, members in families.items():
        plane, (fa, tr, te), _ = key
        run = runs.get((plane, tr, te), [])
        if not _forms_dce(members) or len({m.sequence_key()[0] for m in run} - {None, fa}) < 2:
            continue
        taken = [m for m in members if _is_single_volume(m)
                 and _in_vfa_run(m, run, [o for o in members if o is not m])]
        if taken:
            moved[key] = taken
            members[:] = [m for m in members if not any(m is t for t in taken)]
    return moved


def _judge_volumes(series: tuple[ExamSeries, ...]) -> tuple[tuple[ExamSeries, ...], list[tuple]]:
    """Step 1-2: final roles of one-volume series, and the DCE families (each with the series moved out of it
    to a VFA run)."""
    families: dict[tuple, list[ExamSeries]] = defaultdict(list)
    for s in series:
        if s.role == SeriesRole.DCE or _is_single_volume(s):
            families[(s.plane, s.sequence_key(), s.image_kind)].append(s)
    moved = _take_vfa_members(families)
    new_role: dict[int, ExamSeries] = {}
    dce_families: list[tuple] = []
    leftovers: list[ExamSeries] = [m for taken in moved.values() for m in taken]
    for key, members in families.items():
        _, (fa, tr, te), _ = key
        dynamic = any(m.role == SeriesRole.DCE for m in members)
        volumes = sum(m.n_volumes or 1 for m in members)
        t1_ok, problems = _is_t1_gradient_echo(fa, tr, te)
        if not dynamic and volumes >= MIN_PHASES and not t1_ok:
            for m in members:
                new_role[id(m)] = m.with_role(SeriesRole.OTHER, f"{problems}: {NOT_DCE_SEQUENCE}")
            continue
        if dynamic or volumes >= MIN_PHASES:
            family = []
            for orig in members:
                m = orig if orig.role == SeriesRole.DCE else orig.with_role(
                    SeriesRole.DCE, f"one phase of a per-phase DCE ({len(members)} series, same plane and sequence)")
                new_role[id(orig)] = m
                family.append(m)
            dce_families.append((tuple(family), tuple(moved.get(key, ()))))
        else:
            leftovers.extend(members)
    by_sequence: dict[tuple, list[ExamSeries]] = defaultdict(list)
    for m in leftovers:
        fa, tr, te = m.sequence_key()
        by_sequence[(m.plane, tr, te)].append(m)
    for members in by_sequence.values():
        angles = sorted({m.sequence_key()[0] for m in members} - {None})
        for m in members:
            if len(angles) > 1:
                new_role[id(m)] = m.with_role(SeriesRole.VFA, f"one of {len(members)} volumes of the same plane "
                                                              f"and TR/TE with flip angles {angles[0]:g}-"
                                                              f"{angles[-1]:g} deg, nothing temporal: a T1 map")
            elif not _is_t1_gradient_echo(*m.sequence_key())[0]:
                problems = _is_t1_gradient_echo(*m.sequence_key())[1]
                new_role[id(m)] = m.with_role(SeriesRole.OTHER, f"{problems}: {NOT_DCE_SEQUENCE}")
            else:
                new_role[id(m)] = m.with_role(SeriesRole.OTHER, f"{m.n_volumes or 1} volume(s) of its sequence; "
                                                                f"a DCE needs at least {MIN_PHASES} phases",
                                              conclusive=False)
    final = tuple(new_role.get(id(s), s) for s in series)
    return final, dce_families


def _candidate(family: tuple[ExamSeries, ...], moved: tuple[ExamSeries, ...], final: tuple[ExamSeries, ...]
               ) -> DceCandidate:
    keys = {(s.uid, s.part) for s in family}
    members = tuple(s for s in final if (s.uid, s.part) in keys)
    fa, tr, te = members[0].sequence_key()
    known = None not in (fa, tr, te)
    volumes = sum(s.n_volumes or 1 for s in members)
    layout = "one dynamic series" if len(members) == 1 else f"{len(members)} series of one sequence"
    seq = f"FA {fa:g} deg, TR {tr:g} ms, TE {te:g} ms" if known else "sequence parameters not recorded"
    reason = f"{layout}, {volumes} volumes per slice position, {seq}"
    if moved:
        names = ", ".join(s.label for s in moved[:3]) + (f" (+{len(moved) - 3})" if len(moved) > 3 else "")
        reason += (f"; left out {names}: same flip angle but part of the VFA set next to it "
                   "(add with --series if it is a phase)")
    return DceCandidate(series=members, confidence=0.9 if known else 0.6, reason=reason)


@dataclass(frozen=True)
class Exam:
    """An examined exam: its series with final roles, and the DCE candidates among them."""

    scan: ExamScan
    candidates: tuple[DceCandidate, ...]

    @property
    def series(self) -> tuple[ExamSeries, ...]:
        return self.scan.series


def examine(headers: list[SliceHeader], source: str = "", n_ignored_files: int = 0) -> Exam:
    scan = examine_headers(headers, source=source, n_ignored_files=n_ignored_files)
    final, families = _judge_volumes(scan.series)
    final = tuple(replace(s, part_tag=tag, reason=f"[{tag}] {s.reason}") if (tag := contrast_tag(s, final)) else s
                  for s in final)
    scan = ExamScan(source=scan.source, series=final, n_ignored_files=scan.n_ignored_files)
    candidates = tuple(sorted((_candidate(f, moved, final) for f, moved in families), key=lambda c: -c.confidence))
    return Exam(scan=scan, candidates=candidates)


def scan_exam(files: list[Path], strict: bool = False, source: str = "", progress=None, cancel=None) -> Exam:
    """Headers of ``files`` (no pixels), series, roles and DCE candidates (``progress`` / ``cancel``: see
    :func:`~tnbc_desktop.core.io.dicom_read.scan_headers`)."""
    headers, ignored = scan_headers(files, strict=strict, progress=progress, cancel=cancel)
    return examine(headers, source=source, n_ignored_files=ignored)


def _join_within(texts: list[str], limit: int) -> str:
    """``texts`` joined by '; ' while they fit in about ``limit`` characters, then '+N more'."""
    parts, used = [], 0
    for i, text in enumerate(texts):
        if used + len(text) > limit:
            parts.append(f"+{len(texts) - i} more")
            break
        parts.append(text)
        used += len(text) + 2
    return "; ".join(parts)


def table_summary(series: tuple[ExamSeries, ...], limit: int = MESSAGE_TABLE_CHARS) -> str:
    """The series table in one short line for an error message: 'label role (n images); ...'."""
    return _join_within([f"{s.label} {s.role.value} ({s.n_images} img)" for s in series], limit)


def ignored_note(ignored: tuple[ExamSeries, ...], limit: int = 300) -> str:
    """One note naming the series left out of the DCE and their roles (the reasons are in the series table)."""
    def role(s: ExamSeries) -> str:
        return "derived/subtraction/MIP" if s.role == SeriesRole.DERIVED else s.role.value

    return (f"ignored {len(ignored)} other series (see the exam's series table): "
            + _join_within([f"{s.label} {role(s)}" for s in ignored], limit))


def _chosen_series(exam: Exam, numbers: tuple[int, ...]) -> tuple[ExamSeries, ...]:
    known = {s.number for s in exam.series}
    missing = [n for n in numbers if n not in known]
    if missing:
        listed = ", ".join(str(n) for n in sorted(n for n in known if n is not None)[:20])
        raise DicomError(f"no series {', '.join(map(str, missing))} in the exam; its series are {listed}",
                         exam.scan.source)
    return tuple(s for s in exam.series if s.number in numbers and s.role not in (SeriesRole.DERIVED,))


def _one_contrast_per_series(exam: Exam, chosen: tuple[ExamSeries, ...]) -> tuple[ExamSeries, ...]:
    """The user's series, each kept to its DCE parts when it was split by TR/TE or image kind (a Dixon or
    multi-echo series); two such DCE parts of one series cannot be told apart by its number: an error."""
    kept: list[ExamSeries] = []
    for uid in dict.fromkeys(s.uid for s in chosen):
        parts = [s for s in chosen if s.uid == uid]
        dynamic = [s for s in parts if s.role == SeriesRole.DCE]
        contrasts = {s.contrast_key() for s in dynamic}
        if len(contrasts) > 1:
            tags = "; ".join(sorted({s.part_tag for s in dynamic}))
            name = f"{parts[0].number} '{parts[0].description[:28]}'"
            raise DicomError(f"series {name} holds {len(contrasts)} dynamic parts ({tags}) that a series number "
                             "cannot choose between; export the wanted one as its own series (or convert it to "
                             "NIfTI / NRRD) and load that", exam.scan.source)
        if dynamic and len({s.contrast_key() for s in parts}) > 1:
            parts = [s for s in parts if s.contrast_key() in contrasts]
        kept.extend(parts)
    return tuple(kept)


def _with_series_parts(exam: Exam, chosen: tuple[ExamSeries, ...]) -> tuple[ExamSeries, ...]:
    """The chosen series plus the other geometric parts of the same series and contrast (an odd image inside the
    DCE series is an error for the sorter to name, never a part to drop), derived and localizer parts excepted;
    parts of another TR/TE or image kind (the other echo or image of a Dixon series) are other images."""
    keys = {(s.uid, s.part) for s in chosen}
    contrasts = {(s.uid, s.contrast_key()) for s in chosen}
    extra = tuple(s for s in exam.series if (s.uid, s.contrast_key()) in contrasts and (s.uid, s.part) not in keys
                  and s.role not in (SeriesRole.DERIVED, SeriesRole.LOCALIZER))
    return chosen + extra


def select_dce(exam: Exam, series_numbers: tuple[int, ...] | None = None) -> DceSelection:
    """The DCE images of ``exam``: the user's series, else the only candidate (see module docstring)."""
    notes: list[str] = []
    if series_numbers:
        chosen = _chosen_series(exam, tuple(series_numbers))
        if not chosen:
            raise DicomError(f"series {', '.join(map(str, series_numbers))} hold only derived images",
                             exam.scan.source)
        chosen = _one_contrast_per_series(exam, chosen)
        notes.append(f"DCE from series {', '.join(map(str, sorted(set(series_numbers))))}, chosen by the user")
    elif len(exam.candidates) == 1:
        cand = exam.candidates[0]
        chosen = cand.series
        notes.append(f"DCE from series {cand.label}: {cand.reason}")
    elif exam.candidates:
        few = len(exam.candidates) <= 2
        listed = _join_within([f"{c.label} ({c.reason.split('; ')[0]})" if few and not c.series[0].part_tag else c.label
                               for c in exam.candidates], 240)
        numbers = [n for c in exam.candidates for n in c.numbers]
        how = "choose with --series N[,N...] or in Open exam..." + (
            "" if len(numbers) == len(set(numbers)) else " (not between parts of one series: export the part you "
                                                         "want as its own series)")
        raise DicomError(f"{len(exam.candidates)} series could be the DCE: {listed}; {how}", exam.scan.source)
    elif all(_is_single_volume(s) or s.role == SeriesRole.DERIVED for s in exam.series):
        return DceSelection(headers=tuple(exam.scan.headers), series=exam.series, notes=())
    else:
        raise DicomError(f"no DCE series found among {len(exam.series)} series: {table_summary(exam.series)}",
                         exam.scan.source)
    chosen = _with_series_parts(exam, chosen)
    used = {(s.uid, s.part) for s in chosen}
    ignored = tuple(s for s in exam.series if (s.uid, s.part) not in used)
    if ignored:
        notes.append(ignored_note(ignored))
    headers = tuple(h for s in chosen for h in s.headers)
    return DceSelection(headers=headers, series=chosen, notes=tuple(notes))
