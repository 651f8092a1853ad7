"""The intended-use gate: is this case inside what the model bundle was trained on?

A case's acquisition is summarised as an :class:`AcquisitionProfile` (phases, early-phase time, temporal
resolution, in-plane and slice spacing, slice count, tumour volume, species). A bundle records the
:class:`TrainingEnvelope` of its training patients (the range of each of these). :func:`check_intended_use`
compares the two:

- **hard limits** hold whatever the bundle: the method is defined for human breast DCE-MRI at clinical
  resolution. [D] The numbers are this app's choice, not the paper's: a pre-contrast and >= 2 post-contrast
  phases (the kinetic maps need an early and a late post-contrast phase); in-plane spacing 0.3-2.0 mm and slice
  spacing 0.5-6 mm (the span of clinical breast DCE protocols: ACR accreditation asks for <= 1 mm in-plane and
  <= 3 mm slices; 2 and 6 mm leave room for older and low-resolution protocols, while 0.3 mm and below are
  preclinical or specimen scanners); more than one slice (the peritumoral ring and 3D texture need a volume);
  a species, when the file states one (DICOM PatientSpeciesDescription), that is human;
- **soft limits**: each envelope quantity of the case within the training range widened by
  :data:`ENVELOPE_MARGIN` of the range's own value on each side. [D] 10 %: min-max of a training cohort is a
  narrow estimate of what the model tolerates (a 0.72 mm voxel where training had 0.70 mm, or a tumour a little
  larger than the largest training tumour, is the same protocol), yet a 40-phase study or a halved voxel size
  is far outside it.

Either kind of violation makes the case *outside intended use*: predictions are still computed and shown, but
never presented as a recommendation (see :mod:`tnbc_desktop.core.prediction_status`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

MIN_POST_CONTRAST_PHASES = 2          # [D] see the module docstring
INPLANE_SPACING_MM = (0.3, 2.0)       # [D]
SLICE_SPACING_MM = (0.5, 6.0)         # [D]
MIN_SLICES = 2                        # [D]
ENVELOPE_MARGIN = 0.10                # [D]
HUMAN_SPECIES = ("human", "homo sapiens", "homo sapiens sapiens")
# envelope quantity -> (label in messages, unit)
ENVELOPE_FIELDS = {
    "n_phases": ("number of phases", ""),
    "early_phase_time_s": ("early-phase time", " s"),
    "temporal_resolution_s": ("temporal resolution", " s"),
    "inplane_spacing_mm": ("in-plane spacing", " mm"),
    "slice_spacing_mm": ("slice spacing", " mm"),
    "tumour_volume_ml": ("tumour volume", " mL"),
}


def is_human(species: str) -> bool:
    """True for an empty species (files of human patients rarely state it) or a human one. [D]"""
    s = " ".join(str(species or "").strip().lower().replace("^", " ").split())
    return not s or s in HUMAN_SPECIES


@dataclass(frozen=True)
class AcquisitionProfile:
    """What the gate needs to know about one case. ``early_phase_time_s`` is the time of the phase the kinetic
    maps use as 'early' (None when no phase qualifies); ``temporal_resolution_s`` is the median interval between
    consecutive post-contrast phases (None with fewer than 2); spacings are the largest in-plane spacing and the
    slice spacing; ``species`` as the file states it ("" = not stated)."""

    n_phases: int
    early_phase_time_s: float | None
    temporal_resolution_s: float | None
    inplane_spacing_mm: float
    slice_spacing_mm: float
    n_slices: int
    tumour_volume_ml: float | None
    species: str = ""

    @classmethod
    def from_study(cls, study, tumour_volume_ml: float | None = None, kinetic_settings=None) -> "AcquisitionProfile":
        """Profile of a :class:`~tnbc_desktop.core.study.DCEStudy` (and its tumour volume, when known)."""
        from tnbc_desktop.core.kinetics import KineticSettings, select_early_late
        from tnbc_desktop.errors import TimingError

        times = [float(t) for t in study.phase_times_s]
        try:
            early = times[select_early_late(times, kinetic_settings or KineticSettings())[0]]
        except TimingError:
            early = None
        post = np.diff(times[1:]) if len(times) >= 3 else np.array([])
        # [D] values rounded to 1e-4 (s, mm, mL): a NIfTI header keeps spacing as float32, and the envelope of a
        # cohort must not depend on whether its studies were read from disk or made in memory
        dz, dy, dx = (round(float(s), 4) for s in study.geometry.spacing_mm)
        return cls(n_phases=len(times), early_phase_time_s=None if early is None else round(early, 4),
                   temporal_resolution_s=round(float(np.median(post)), 4) if post.size else None,
                   inplane_spacing_mm=max(dy, dx), slice_spacing_mm=dz, n_slices=int(study.geometry.shape[0]),
                   tumour_volume_ml=None if tumour_volume_ml is None else round(float(tumour_volume_ml), 4),
                   species=str(getattr(study.identity, "species", "") or ""))

    def value(self, name: str) -> float | None:
        v = getattr(self, name)
        return None if v is None else float(v)


@dataclass(frozen=True)
class TrainingEnvelope:
    """Range (low, high) of each quantity over the training patients; ``species`` seen in training."""

    ranges: Mapping[str, tuple[float, float]]
    species: tuple[str, ...] = ("human",)
    n_cases: int = 0

    @classmethod
    def from_profiles(cls, profiles: Iterable[AcquisitionProfile]) -> "TrainingEnvelope":
        profiles = list(profiles)
        ranges: dict[str, tuple[float, float]] = {}
        for name in ENVELOPE_FIELDS:
            values = [p.value(name) for p in profiles if p.value(name) is not None]
            if values:
                ranges[name] = (_round(min(values)), _round(max(values)))
        species = sorted({"human" if is_human(p.species) else p.species.strip() for p in profiles}) or ["human"]
        return cls(ranges, tuple(species), len(profiles))

    def to_dict(self) -> dict:
        """The bundle form: {"n_cases", "species", "<quantity>": {"min", "max"}, ...}."""
        out: dict = {"n_cases": int(self.n_cases), "species": list(self.species)}
        for name, (lo, hi) in self.ranges.items():
            out[name] = {"min": lo, "max": hi}
        return out

    @classmethod
    def from_dict(cls, d: Mapping | None) -> "TrainingEnvelope | None":
        if not d:
            return None
        ranges = {k: (float(d[k]["min"]), float(d[k]["max"])) for k in ENVELOPE_FIELDS if isinstance(d.get(k), Mapping)}
        return cls(ranges, tuple(str(s) for s in d.get("species") or ("human",)), int(d.get("n_cases", 0)))


@dataclass(frozen=True)
class IntendedUseCheck:
    """The gate's answer: ``ok`` when no hard or soft limit is broken; ``hard`` / ``soft`` hold the reasons."""

    ok: bool
    hard: tuple[str, ...] = ()
    soft: tuple[str, ...] = ()
    envelope_known: bool = True
    profile: AcquisitionProfile | None = field(default=None, compare=False)

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.hard + self.soft

    def to_json(self) -> dict:
        return {"ok": bool(self.ok), "reasons": list(self.reasons), "hard_limits": list(self.hard),
                "outside_training_envelope": list(self.soft), "envelope_known": bool(self.envelope_known)}


def _round(v: float) -> float:
    return float(f"{float(v):.6g}")


def _fmt(v: float, unit: str) -> str:
    return f"{v:.4g}{unit}"


def hard_limit_reasons(p: AcquisitionProfile) -> list[str]:
    """Reasons the case breaks a hard limit (see the module docstring)."""
    out = []
    if not is_human(p.species):
        out.append(f"species is '{p.species.strip()[:60]}' (PatientSpeciesDescription), not human")
    n_post = p.n_phases - 1
    if n_post < MIN_POST_CONTRAST_PHASES:
        out.append(f"{n_post} post-contrast phase(s); at least {MIN_POST_CONTRAST_PHASES} are needed")
    lo, hi = INPLANE_SPACING_MM
    if not lo <= p.inplane_spacing_mm <= hi:
        out.append(f"in-plane spacing {_fmt(p.inplane_spacing_mm, ' mm')} is outside {lo:g}-{hi:g} mm")
    lo, hi = SLICE_SPACING_MM
    if p.n_slices >= MIN_SLICES and not lo <= p.slice_spacing_mm <= hi:
        out.append(f"slice spacing {_fmt(p.slice_spacing_mm, ' mm')} is outside {lo:g}-{hi:g} mm")
    if p.n_slices < MIN_SLICES:
        out.append("a single slice; the method needs a 3D volume")
    return out


def envelope_reasons(p: AcquisitionProfile, env: TrainingEnvelope) -> list[str]:
    """Reasons the case lies outside the training envelope (widened by ENVELOPE_MARGIN)."""
    out = []
    for name, (lo, hi) in env.ranges.items():
        v = p.value(name)
        label, unit = ENVELOPE_FIELDS[name]
        if v is None:
            continue
        if not (lo * (1 - ENVELOPE_MARGIN) <= v <= hi * (1 + ENVELOPE_MARGIN)) or not math.isfinite(v):
            span = _fmt(lo, unit) if lo == hi else f"{lo:.4g}-{_fmt(hi, unit)}"
            out.append(f"{label} {_fmt(v, unit)} is outside the training data ({span})")
    return out


def check_intended_use(profile: AcquisitionProfile, envelope: TrainingEnvelope | None) -> IntendedUseCheck:
    """Hard limits always; soft limits against ``envelope`` (None: the bundle records none, and that is said)."""
    hard = tuple(hard_limit_reasons(profile))
    soft = tuple(envelope_reasons(profile, envelope)) if envelope is not None else ()
    return IntendedUseCheck(ok=not hard and not soft, hard=hard, soft=soft, envelope_known=envelope is not None,
                            profile=profile)


__all__ = ["AcquisitionProfile", "TrainingEnvelope", "IntendedUseCheck", "check_intended_use",
           "hard_limit_reasons", "envelope_reasons", "is_human", "ENVELOPE_FIELDS", "ENVELOPE_MARGIN",
           "INPLANE_SPACING_MM", "SLICE_SPACING_MM", "MIN_POST_CONTRAST_PHASES", "MIN_SLICES"]
