"""The inputs and the result of one case analysis (frozen; the GUI, CLI and report all read these).

:class:`CaseInputs` is what the user gives (paths and pathology values); :class:`CaseResult` is what
:func:`tnbc_desktop.core.pipeline.analyze_case` returns. Upstream stage outputs (kinetic maps, habitats,
feature set, mutation panel, predictions) are kept as the objects their modules return; the small summaries
the report needs (curves, QC, bundle card, survival groups) are this module's own dataclasses so the report
depends on one stable shape.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tnbc_desktop.core.segmentation.provenance import MaskProvenance
from tnbc_desktop.core.study import DCEStudy, Mask
from tnbc_desktop.core.tumour_reading import TumourReading

REPORT_MODELS = ("model3", "prm", "gprm")
MODEL_LABELS = {"model1": "Model 1", "model2": "Model 2", "model3": "Model 3", "prm": "PRM", "gprm": "GPRM"}


@dataclass(frozen=True)
class CaseInputs:
    """Everything the user supplies for one case.

    ``study_source``: DICOM folder, DICOM file list, 4D NIfTI/NRRD or list of 3D files per phase;
    ``mask_path`` / ``mask_label``: the tumour mask; ``phase_times_s``: seconds from pre-contrast, only when
    the files carry no timing; ``maf_path`` + ``sample``: mutation panel; ``ki67`` (percent, text or number)
    and ``lvi`` ("present" / "absent" / "unknown"); ``bundle_path``: the model bundle (None = shipped demo);
    ``deidentify``: report without identifiers and dates; ``mask_provenance``: how the mask was made (file,
    semi-automatic with seed/box/threshold, or edited; None = the file ``mask_path``); ``series``: DICOM series
    numbers to build the DCE from (None: the exam scan's choice); ``allow_mixed_study``: accept phases whose
    StudyInstanceUID or FrameOfReferenceUID differ (never another patient).
    """

    study_source: str | Path | tuple[Path, ...]
    mask_path: str | Path
    mask_label: int | None = None
    phase_times_s: tuple[float, ...] | None = None
    maf_path: str | Path | None = None
    sample: str | None = None
    ki67: str | float | None = None
    lvi: str | bool | None = None
    bundle_path: str | Path | None = None
    deidentify: bool = False
    case_label: str = ""
    mask_provenance: MaskProvenance | None = None
    series: tuple[int, ...] | None = None
    allow_mixed_study: bool = False

    def mask_origin(self) -> str:
        """One line saying where the mask came from (``mask_provenance``, else the mask file)."""
        if self.mask_provenance is not None:
            return self.mask_provenance.describe()
        if self.mask_path:
            return MaskProvenance.from_file(self.mask_path).describe()
        return "in memory (no provenance recorded)"

    def study_paths(self) -> list[Path]:
        """The study input as a list of paths (one folder/file or several files)."""
        src = self.study_source
        if isinstance(src, (list, tuple)):
            return [Path(p) for p in src]
        return [Path(src)]

    def input_files(self) -> dict[str, list[Path]]:
        """Named input paths (for hashing in the case history); a mask never saved to a file has none."""
        out: dict[str, list[Path]] = {"study": self.study_paths()}
        if self.mask_path:
            out["mask"] = [Path(self.mask_path)]
        if self.maf_path:
            out["maf"] = [Path(self.maf_path)]
        return out


@dataclass(frozen=True)
class CurveSummary:
    """Mean enhancement curve of one region: ``times_s`` and ``mean`` / ``sd`` per phase (scanner units)."""

    region: str
    times_s: tuple[float, ...]
    mean: tuple[float, ...]
    sd: tuple[float, ...]
    n_voxels: int
    curve_type: str = ""     # persistent / plateau / washout
    initial_rise: str = ""   # slow / medium / fast


@dataclass(frozen=True)
class SurvivalGroup:
    """The patient's predicted group placed on the bundle's reference Kaplan-Meier DFS curves.

    ``dfs`` maps a landmark in years (1, 3, 5) to (survival, ci_low, ci_high, n_at_risk); a value is None
    when the reference curve does not reach that time. ``curves`` holds every group's reference curve
    (group -> dict with ``time_months``, ``survival``, ``ci_low``, ``ci_high``) for plotting.
    """

    model: str
    group: str
    dfs: dict[int, tuple[float | None, float | None, float | None, int | None]]
    curves: dict[str, dict[str, list[float]]]
    logrank_p: float | None = None
    source: str = ""


@dataclass(frozen=True)
class ModelPerformance:
    """One row of the model card's performance table (AUC with 95 % CI, calibration, cutoff)."""

    model: str
    auc_train: tuple[float | None, float | None, float | None] = (None, None, None)
    auc_validation: tuple[float | None, float | None, float | None] = (None, None, None)
    calibration_intercept: float | None = None
    calibration_slope: float | None = None
    brier: float | None = None
    cutoff: float | None = None
    sensitivity: float | None = None
    specificity: float | None = None


@dataclass(frozen=True)
class BundleInfo:
    """What the report prints about the model bundle (its card)."""

    name: str
    version: str
    sha256: str
    is_demo: bool
    intended_use: str = ""
    outcome: str = "pCR = ypT0/is ypN0"
    training_cohort: str = ""
    performance: tuple[ModelPerformance, ...] = ()
    notes: tuple[str, ...] = ()
    path: str = ""
    full_feature_count: int | None = None  # names of a full extraction with the bundle's parameter file
    not_trainable: tuple[tuple[str, str], ...] = ()  # (model, what its training cohort lacked)

    @classmethod
    def from_bundle(cls, bundle: Any) -> "BundleInfo":
        """Summary of a loaded :class:`tnbc_desktop.core.bundle.ModelBundle` (its card and performance)."""
        doc = getattr(bundle, "document", {}) or {}
        card = dict(getattr(bundle, "card", {}) or {})
        tc = card.get("training_cohort") or {}
        cohort = ", ".join(s for s in (
            f"n={tc['n']}" if tc.get("n") is not None else "",
            f"validation n={tc['n_validation']}" if tc.get("n_validation") is not None else "",
            f"pCR rate {100 * float(tc['pcr_rate']):.1f}%" if tc.get("pcr_rate") is not None else "",
            str(tc.get("source") or ""), str(tc.get("dates") or "")) if s)
        perf = []
        for name, spec in (getattr(bundle, "models", {}) or {}).items():
            p = getattr(spec, "performance", {}) or {}
            tr, va = p.get("training") or {}, p.get("validation") or {}
            perf.append(ModelPerformance(
                model=name, auc_train=_auc(tr), auc_validation=_auc(va),
                calibration_intercept=va.get("calibration_intercept", tr.get("calibration_intercept")),
                calibration_slope=va.get("calibration_slope", tr.get("calibration_slope")),
                brier=va.get("brier", tr.get("brier")), cutoff=getattr(spec, "cutoff", None),
                sensitivity=va.get("sensitivity", tr.get("sensitivity")),
                specificity=va.get("specificity", tr.get("specificity"))))
        notes = tuple(str(n) for n in (card.get("notice"),) if n)
        return cls(name=str(getattr(bundle, "name", "")), version=str(getattr(bundle, "version", "")),
                   sha256=str(getattr(bundle, "sha256", "")), is_demo=bool(getattr(bundle, "is_demo", False)),
                   intended_use=str(doc.get("intended_use", "")), outcome=str(card.get("outcome") or "pCR"),
                   training_cohort=cohort, performance=tuple(perf), notes=notes,
                   path=str(getattr(bundle, "source", "")),
                   not_trainable=tuple((getattr(bundle, "not_trainable", None) or {}).items()),
                   full_feature_count=_full_feature_count(bundle))


def _full_feature_count(bundle: Any) -> int | None:
    settings = getattr(bundle, "settings", None)
    if settings is None:
        return None
    from tnbc_desktop.core.features.extract import feature_count

    return feature_count(settings.params)


def _auc(perf: dict) -> tuple[float | None, float | None, float | None]:
    ci = perf.get("auc_ci") or (None, None)
    return (perf.get("auc"), ci[0] if len(ci) > 0 else None, ci[1] if len(ci) > 1 else None)


@dataclass(frozen=True)
class QualityChecks:
    """Imaging and input QC shown on page 2 of the report."""

    phase_times_s: tuple[float, ...]
    timing_source: str
    registration: str = "off"
    early_phase: int | None = None
    late_phase: int | None = None
    habitat_mode: str = ""
    habitat_fractions: tuple[float, ...] = ()
    habitat_volumes_ml: tuple[float, ...] = ()
    n_invalid_voxels: int = 0
    n_ser_clipped: int = 0
    mask_resampled: bool = False
    mask_volume_ml: float = 0.0
    mask_provenance: str = ""
    ring_volume_ml: float = 0.0
    out_of_range: tuple[str, ...] = ()
    not_computable: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class CaseResult:
    """Everything one analysis produced. Arrays are [z, y, x] on the study grid."""

    inputs: CaseInputs
    study: DCEStudy
    mask: Mask
    kinetic_maps: Any
    habitats: Any
    ring: np.ndarray
    msi: dict[str, float]
    features: dict[str, float]
    mutation_panel: Any
    pathology: Any
    predictions: dict[str, Any]
    survival_groups: dict[str, SurvivalGroup]
    curves: dict[str, CurveSummary]
    qc: QualityChecks
    bundle: BundleInfo
    timings_s: dict[str, float]
    warnings: tuple[str, ...] = ()
    created_utc: str = ""
    app_version: str = ""
    feature_set: Any = None
    reading: TumourReading | None = None  # longest diameters and curve types, as a radiologist reads them
    intended_use: Any = None  # core.intended_use.IntendedUseCheck (None: not checked)

    @property
    def habitat_labels(self) -> np.ndarray:
        return np.asarray(self.habitats.labels)

    @property
    def habitat_fractions(self) -> tuple[float, ...]:
        return tuple(float(f) for f in np.asarray(self.habitats.fractions, dtype=float))

    def prediction(self, model: str) -> Any | None:
        return self.predictions.get(model)


def as_float_tuple(values: Sequence[float] | np.ndarray | None) -> tuple[float, ...]:
    """Plain-float tuple (empty for None)."""
    if values is None:
        return ()
    return tuple(float(v) for v in np.asarray(values, dtype=float).ravel())
