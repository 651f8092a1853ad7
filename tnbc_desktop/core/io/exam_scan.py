"""Exam scan: the series of a scanner / PACS export, each with a role and the reason for it (headers only).

A clinician's folder is an exam, not a DCE: localizer, T2, diffusion, subtractions, MIPs, sometimes a
variable-flip-angle T1 map lie next to the dynamic phases. As 3D Slicer's DICOM plugins do, this module only
*examines* (header facts, no pixels); :mod:`tnbc_desktop.core.io.exam_select` turns the examined series into
DCE candidates and picks one; the pixels are read afterwards for the chosen series only.

Steps of :func:`examine_headers`:
1. group images by SeriesInstanceUID; a series with images in 3 or more planes, or named / typed as a
   localizer, stays whole; any other series is split where derived-ness, orientation, matrix, pixel spacing,
   TR / TE or image kind differ (one :class:`ExamSeries` per part);
2. give each part a role, first rule that holds: ``derived`` (ImageType DERIVED / SUBTRACTION / MIP / MPR /
   ADC / TRACE, or a description naming one), ``localizer``, ``diffusion`` (a b-value > 0 in the public or a
   vendor's private tag, ImageType / contrast DIFFUSION, or a DWI/DTI name), ``other`` for phase images, then
   for a part with several images per slice position: ``vfa`` (FlipAngle varies, nothing temporal does),
   ``other`` for an EPI or ASL time series or one whose TE / TR / flip angle is not that of a T1-weighted
   gradient echo, else ``dce``;
3. parts with one image per position (one volume) are judged together (see exam_select): several with the same
   plane and sequence make a per-phase DCE; same plane and TR/TE with varying flip angles make a VFA set.

[D] T1-weighted gradient echo, as a DCE is acquired: TE <= 10 ms, TR <= 500 ms (2D preclinical FLASH runs to a
few hundred ms), flip angle <= 60 deg; a value the header does not give is not held against the series.

[D] A series is also split by (TR, TE) rounded to 0.1 ms (as :meth:`AcquisitionFacts.sequence_key`) and by
its ImageType values after the first two (the image kind: M / P, W / F / IP / OP, DIXON...). A Dixon or
multi-echo dynamic series holds in one SeriesInstanceUID several images per slice position and time point
that differ only there; kept whole it would look like one temporal series with twice the volumes, i.e. a DCE
with interleaved contrasts, a silently wrong answer. Split, each contrast is its own part (a candidate of its
own when it is a dynamic). The first two values (ORIGINAL / DERIVED, PRIMARY / SECONDARY) are left to the
derived rule.

[D] Phase images (an ImageType value after the first two of P, PHASE, PHASE_MAP, or starting P_ as in
Philips' P_FFE) are ``other``: signal enhancement is read from magnitude images; a scanner that saves
magnitude and phase in one dynamic series gives one DCE candidate, not two.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

import numpy as np

from tnbc_desktop.core.io.dicom_header import DERIVED_IMAGE_TYPES, SliceHeader, is_derived_image

_DERIVED_NAME = re.compile(r"(?i)(\bsub(traction|tracted)?\b|\bmip\b|\bmpr\b|\badc\b|\btrace\w?\b|\bmaxip\b)")
_LOCALIZER_NAME = re.compile(r"(?i)(locali[sz]er|\bloc\b|scout|survey|3[- ]?pl(ane)?\b|tri[- ]?pilot|\bpilot\b)")
_DIFFUSION_NAME = re.compile(r"(?i)(\bdwi|\bdti|diffusion|\bdiff\b|tensor|\bep_b|epi_dti|\bresolve\b)")
PHASE_TOKENS = ("P", "PHASE", "PHASE_MAP", "PHASE MAP")
_ASL_NAME = re.compile(r"(?i)(\basl|pcasl|pasl|\btgse|spin[ _-]?label)")
MAX_T1_TE_MS, MAX_T1_TR_MS, MAX_T1_FLIP_DEG = 10.0, 500.0, 60.0
NOT_DCE_SEQUENCE = "not a fast T1-weighted gradient echo (as a DCE is)"


class SeriesRole(str, Enum):
    DCE = "dce"
    LOCALIZER = "localizer"
    DERIVED = "derived"
    VFA = "vfa"
    DIFFUSION = "diffusion"
    OTHER = "other"


@dataclass(frozen=True)
class ExamSeries:
    """One series (or one geometric part of a series) of an exam, with its role and why.

    ``n_volumes``: images per slice position (None when positions are unknown); ``phase_key``: the tag that
    tells those images apart in time, when one does; ``conclusive``: the role rests on positive evidence (a
    tag or a name), not only on the series being too small to be a DCE; ``part_tag``: for a part of a series
    split by TR/TE or image kind, what tells it from the other parts (set by exam_select; shown in ``label``)."""

    uid: str
    part: int
    number: int | None
    description: str
    n_images: int
    plane: str
    matrix: tuple[int, int]
    spacing_mm: tuple[float, float] | None
    n_positions: int | None
    n_volumes: int | None
    phase_key: str | None
    flip_angles: tuple[float, ...]
    repetition_time_ms: float | None
    echo_time_ms: float | None
    role: SeriesRole
    reason: str
    conclusive: bool
    part_tag: str = ""
    headers: tuple[SliceHeader, ...] = field(default=(), repr=False, compare=False)

    @property
    def label(self) -> str:
        num = "?" if self.number is None else str(self.number)
        name = f"{num} '{self.description[:28]}'" if self.description else num
        return f"{name} [{self.part_tag}]" if self.part_tag else name

    @property
    def temporal(self) -> bool:
        return (self.n_volumes or 1) > 1

    @property
    def image_kind(self) -> str:
        """ImageType values after the first two ('M\\FFE', 'W\\DIXON'...); one per part (a split key)."""
        return "\\".join(self.headers[0].image_type[2:]) if self.headers else ""

    def sequence_key(self) -> tuple:
        return self.headers[0].acq.sequence_key() if self.headers else (None, None, None)

    def contrast_key(self) -> tuple:
        """(TR, TE, image kind): what tells apart the parts of one series acquired on the same grid."""
        return (*self.sequence_key()[1:], self.image_kind)

    def with_role(self, role: SeriesRole, reason: str, conclusive: bool = True) -> ExamSeries:
        return ExamSeries(**{**self.__dict__, "role": role, "reason": reason, "conclusive": conclusive})


@dataclass(frozen=True)
class ExamScan:
    """Every image series found under ``source``; ``n_ignored_files``: files that are not DICOM images."""

    source: str
    series: tuple[ExamSeries, ...]
    n_ignored_files: int = 0

    @property
    def headers(self) -> list[SliceHeader]:
        return [h for s in self.series for h in s.headers]


def plane_of(orientation) -> str:
    """'axial' / 'coronal' / 'sagittal' from the slice normal's main axis, 'oblique' when none dominates."""
    return "unknown" if orientation is None else _plane_of(tuple(orientation))


@lru_cache(maxsize=1024)
def _plane_of(orientation: tuple) -> str:
    normal = np.cross(np.asarray(orientation[:3], float), np.asarray(orientation[3:], float))
    norm = np.linalg.norm(normal)
    if norm < 1e-6:
        return "unknown"
    normal = np.abs(normal / norm)
    axis = int(np.argmax(normal))
    if normal[axis] < 0.8:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _is_phase_image(h: SliceHeader) -> bool:
    return any(t in PHASE_TOKENS or t.startswith("P_") for t in h.image_type[2:])


def _names(hs) -> str:
    h = hs[0]
    return " ".join((h.series_description, h.acq.protocol_name, h.acq.sequence_name))


def _positions(hs) -> list[float] | None:
    ref = next((h.orientation for h in hs if h.orientation is not None), None)
    if ref is None or any(h.position is None for h in hs):
        return None
    normal = np.cross(np.asarray(ref[:3], float), np.asarray(ref[3:], float))
    if np.linalg.norm(normal) < 1e-6:
        return None
    normal /= np.linalg.norm(normal)
    positions = np.asarray([h.position for h in hs], float) @ normal
    return [round(float(v), 2) for v in positions]


PHASE_KEYS = ("TemporalPositionIdentifier", "TriggerTime", "AcquisitionTime", "ContentTime",
              "FrameAcquisitionDateTime", "AcquisitionNumber")


def phase_key_value(h: SliceHeader, key: str):
    if key == "TemporalPositionIdentifier":
        return h.temporal_position
    if key == "AcquisitionNumber":
        return h.acq.acquisition_number
    return h.times_s.get(key)


def _phase_key(hs, positions) -> str | None:
    """The first tag whose values tell apart the images at the busiest slice position."""
    if positions is None:
        return None
    by_pos = defaultdict(list)
    for h, s in zip(hs, positions):
        by_pos[s].append(h)
    group = max(by_pos.values(), key=len)
    if len(group) < 2:
        return None
    for key in PHASE_KEYS:
        values = [phase_key_value(h, key) for h in group]
        present = [v for v in values if v is not None]
        if len(set(present)) == len(present) >= len(values) - 1:
            return key if len(present) == len(values) else f"{key} (1 missing)"
    return None


def _is_t1_gradient_echo(fa, tr, te) -> tuple[bool, str]:
    problems = []
    if te is not None and te > MAX_T1_TE_MS:
        problems.append(f"TE {te:g} ms")
    if tr is not None and tr > MAX_T1_TR_MS:
        problems.append(f"TR {tr:g} ms")
    if fa is not None and fa > MAX_T1_FLIP_DEG:
        problems.append(f"flip angle {fa:g} deg")
    return not problems, ", ".join(problems)


def _most_common(values):
    present = [v for v in values if v is not None]
    return Counter(present).most_common(1)[0][0] if present else None


def _describe(uid: str, part: int, hs: list[SliceHeader]) -> ExamSeries:
    first = hs[0]
    positions = _positions(hs)
    n_positions = len(set(positions)) if positions is not None else None
    n_volumes = None if not n_positions else max(1, round(len(hs) / n_positions))
    spacing = first.pixel_spacing
    return ExamSeries(
        uid=uid, part=part, number=first.series_number, description=first.series_description, n_images=len(hs),
        plane=plane_of(first.orientation) if len({plane_of(h.orientation) for h in hs}) == 1 else "mixed",
        matrix=(first.rows, first.columns),
        spacing_mm=None if spacing is None else (round(spacing[0], 4), round(spacing[1], 4)),
        n_positions=n_positions, n_volumes=n_volumes, phase_key=_phase_key(hs, positions),
        flip_angles=tuple(sorted({h.acq.flip_angle for h in hs if h.acq.flip_angle is not None})),
        repetition_time_ms=_most_common(h.acq.repetition_time_ms for h in hs),
        echo_time_ms=_most_common(h.acq.echo_time_ms for h in hs),
        role=SeriesRole.OTHER, reason="", conclusive=False, headers=tuple(hs))


def _role(s: ExamSeries) -> ExamSeries:
    hs = s.headers
    derived = sorted({t for h in hs for t in h.image_type if t in DERIVED_IMAGE_TYPES})
    if derived:
        return s.with_role(SeriesRole.DERIVED, "derived/subtraction/MIP: ImageType " + "\\".join(derived))
    names = _names(hs)
    if _DERIVED_NAME.search(s.description):
        return s.with_role(SeriesRole.DERIVED, f"derived/subtraction/MIP: description '{s.description[:40]}'")
    if any("LOCALIZER" in h.image_type for h in hs):
        return s.with_role(SeriesRole.LOCALIZER, "ImageType LOCALIZER")
    if s.plane == "mixed" and len({plane_of(h.orientation) for h in hs}) >= 3:
        return s.with_role(SeriesRole.LOCALIZER, "images in 3 planes in one series")
    if _LOCALIZER_NAME.search(s.description):
        return s.with_role(SeriesRole.LOCALIZER, f"description '{s.description[:40]}'")
    b = max((h.acq.b_value for h in hs if h.acq.b_value is not None), default=None)
    if b is not None and b > 0:
        return s.with_role(SeriesRole.DIFFUSION, f"b-value {b:g} s/mm2")
    if any("DIFFUSION" in h.image_type or h.acq.acquisition_contrast.upper() == "DIFFUSION" for h in hs):
        return s.with_role(SeriesRole.DIFFUSION, "ImageType / contrast DIFFUSION")
    if _DIFFUSION_NAME.search(names):
        return s.with_role(SeriesRole.DIFFUSION, "diffusion sequence by name")
    if any(_is_phase_image(h) for h in hs):
        return s.with_role(SeriesRole.OTHER, f"phase images (ImageType {s.image_kind[:24]}), not magnitude")
    if not s.temporal and len({h.temporal_position for h in hs} - {None}) < 2:
        return s.with_role(SeriesRole.OTHER, "one volume", conclusive=False)  # judged with the other volumes
    return _temporal_role(s, names)


def _temporal_role(s: ExamSeries, names: str) -> ExamSeries:
    hs = s.headers
    tag_varies = any(len({phase_key_value(h, k) for h in hs} - {None}) > 1
                     for k in ("TemporalPositionIdentifier", "TriggerTime"))
    if len(s.flip_angles) > 1 and not tag_varies:
        return s.with_role(SeriesRole.VFA, f"flip angle varies ({s.flip_angles[0]:g}-{s.flip_angles[-1]:g} deg), "
                                           "nothing temporal does: a T1 map, not a dynamic study")
    if any("ASL" in h.image_type for h in hs) or _ASL_NAME.search(names):
        return s.with_role(SeriesRole.OTHER, "arterial spin labelling time series, not a DCE")
    if any(h.acq.echo_planar for h in hs):
        return s.with_role(SeriesRole.OTHER, "EPI time series (fMRI/perfusion), not a T1-weighted DCE")
    ok, problems = _is_t1_gradient_echo(_most_common(h.acq.flip_angle for h in hs), s.repetition_time_ms,
                                        s.echo_time_ms)
    if not ok:
        return s.with_role(SeriesRole.OTHER, f"time series but {problems}: {NOT_DCE_SEQUENCE}")
    key = s.phase_key or "no phase tag"
    return s.with_role(SeriesRole.DCE, f"{s.n_volumes} volumes per slice position ({key}), T1-weighted")


def contrast_tag(s: ExamSeries, series) -> str:
    """What tells part ``s`` apart from the parts of its series (among ``series``) of another TR/TE or image
    kind, e.g. 'TE 2.4 ms, images W\\DIXON'; '' for a series that was not split that way."""
    siblings = [o for o in series if o.uid == s.uid and o.contrast_key() != s.contrast_key()]
    if not siblings:
        return ""
    tr, te, kind = s.contrast_key()
    tags = []
    if any(o.contrast_key()[1] != te for o in siblings):
        tags.append("TE ?" if te is None else f"TE {te:g} ms")
    if any(o.contrast_key()[0] != tr for o in siblings):
        tags.append("TR ?" if tr is None else f"TR {tr:g} ms")
    if any(o.contrast_key()[2] != kind for o in siblings):
        tags.append(f"images {kind[:20] or '-'}")
    return ", ".join(tags)


def _split_keys(h: SliceHeader) -> tuple:
    ori = None if h.orientation is None else tuple(round(v, 3) for v in h.orientation)
    spacing = None if h.pixel_spacing is None else tuple(round(v, 4) for v in h.pixel_spacing)
    return (is_derived_image(h.image_type), ori, h.rows, h.columns, spacing, h.acq.sequence_key()[1:], h.image_type[2:])


def examine_headers(headers: list[SliceHeader], source: str = "", n_ignored_files: int = 0) -> ExamScan:
    """Series and roles of ``headers`` (steps 1-2 of the module docstring)."""
    by_uid: dict[str, list[SliceHeader]] = defaultdict(list)
    for h in headers:
        by_uid[h.series_uid].append(h)
    parts: list[ExamSeries] = []
    for uid, hs in by_uid.items():
        whole = _describe(uid, 0, hs)
        if _role(whole).role == SeriesRole.LOCALIZER:
            parts.append(_role(whole))
            continue
        groups: dict[tuple, list[SliceHeader]] = defaultdict(list)
        for h in hs:
            groups[_split_keys(h)].append(h)
        ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), repr(kv[0])))  # same order every run
        for i, (_, group) in enumerate(ordered):
            parts.append(_role(_describe(uid, i, group)))
    parts.sort(key=lambda s: (s.number if s.number is not None else 10**9, s.uid, s.part))
    return ExamScan(source=source, series=tuple(parts), n_ignored_files=n_ignored_files)
