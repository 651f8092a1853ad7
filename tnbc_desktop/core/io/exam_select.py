"""From an examined exam to the DCE: candidates with a confidence and a reason, then the choice.

Steps of :func:`examine` (after :func:`tnbc_desktop.core.io.exam_scan.examine_headers` has given each series
its own role):
1. one-volume series are judged together, in families of the same plane and sequence (flip angle, TR, TE):
   a family is a per-phase DCE when it holds a dynamic series (then its one-volume series are extra phases, e.g.
   a pre-contrast series) or at least 3 volumes of a T1-weighted gradient echo; one-volume series of the same
   plane and TR/TE whose flip angles differ, with nothing temporal, are a variable-flip-angle (VFA) set;
2. every DCE family is a candidate (:class:`DceCandidate`); [D] confidence 0.9 when flip angle, TR and TE are
   recorded and fit a T1-weighted gradient echo, 0.6 when the header leaves them out.

:func:`select_dce` then takes the series the user named, else the only candidate; several candidates and no
choice is an error listing them; none is an error showing the series table ("no DCE series found") unless
nothing in the folder is positively something else (a curated folder of too few phases, say), where the
images go to the sorter as they are, so that its own message (missing phase, derived images...) is given.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tnbc_desktop.core.io.dicom_read import SliceHeader, scan_headers
from tnbc_desktop.core.io.exam_scan import (NOT_DCE_SEQUENCE, ExamScan, ExamSeries, SeriesRole,
                                            _is_t1_gradient_echo, examine_headers)
from tnbc_desktop.errors import DicomError

MIN_PHASES = 3
MESSAGE_TABLE_CHARS = 220


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


def _judge_volumes(series: tuple[ExamSeries, ...]) -> tuple[tuple[ExamSeries, ...], list[tuple[ExamSeries, ...]]]:
    """Step 1-2: final roles of one-volume series, and the DCE families."""
    families: dict[tuple, list[ExamSeries]] = defaultdict(list)
    for s in series:
        if s.role == SeriesRole.DCE or _is_single_volume(s):
            families[(s.plane, s.sequence_key())].append(s)
    new_role: dict[int, ExamSeries] = {}
    dce_families: list[tuple[ExamSeries, ...]] = []
    leftovers: list[ExamSeries] = []
    for (plane, (fa, tr, te)), members in families.items():
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
            dce_families.append(tuple(family))
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


def _candidate(family: tuple[ExamSeries, ...], final: tuple[ExamSeries, ...]) -> DceCandidate:
    keys = {(s.uid, s.part) for s in family}
    members = tuple(s for s in final if (s.uid, s.part) in keys)
    fa, tr, te = members[0].sequence_key()
    known = None not in (fa, tr, te)
    volumes = sum(s.n_volumes or 1 for s in members)
    layout = "one dynamic series" if len(members) == 1 else f"{len(members)} series of one sequence"
    seq = f"FA {fa:g} deg, TR {tr:g} ms, TE {te:g} ms" if known else "sequence parameters not recorded"
    return DceCandidate(series=members, confidence=0.9 if known else 0.6,
                        reason=f"{layout}, {volumes} volumes per slice position, {seq}")


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
    scan = ExamScan(source=scan.source, series=final, n_ignored_files=scan.n_ignored_files)
    candidates = tuple(sorted((_candidate(f, final) for f in families), key=lambda c: -c.confidence))
    return Exam(scan=scan, candidates=candidates)


def scan_exam(files: list[Path], strict: bool = False, source: str = "") -> Exam:
    """Headers of ``files`` (no pixels), series, roles and DCE candidates."""
    headers, ignored = scan_headers(files, strict=strict)
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


def _with_series_parts(exam: Exam, chosen: tuple[ExamSeries, ...]) -> tuple[ExamSeries, ...]:
    """The chosen series plus the other geometric parts of the same series (an odd image inside the DCE series
    is an error for the sorter to name, never a part to drop), derived and localizer parts excepted."""
    uids = {s.uid for s in chosen}
    keys = {(s.uid, s.part) for s in chosen}
    extra = tuple(s for s in exam.series if s.uid in uids and (s.uid, s.part) not in keys
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
        notes.append(f"DCE from series {', '.join(map(str, sorted(set(series_numbers))))}, chosen by the user")
    elif len(exam.candidates) == 1:
        cand = exam.candidates[0]
        chosen = cand.series
        notes.append(f"DCE from series {cand.label}: {cand.reason}")
    elif exam.candidates:
        listed = "; ".join(f"{c.label} ({c.reason})" for c in exam.candidates[:4])
        raise DicomError(f"{len(exam.candidates)} series could be the DCE: {listed[:240]}; choose with "
                         "--series N[,N...] or in Open exam...", exam.scan.source)
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
