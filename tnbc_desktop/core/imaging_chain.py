"""The imaging chain, one function for every caller: study + mask + extraction settings -> kinetic maps,
habitats, peritumoral ring, MSI and radiomics features.

``analyze_case``, the ``features`` command, cohort extraction and training all call :func:`run_imaging_chain`,
so a feature value depends only on the inputs and the :class:`ExtractionSettings`, never on which front end
asked for it.

Kinetic settings: the maps are computed with ``settings.kinetic`` exactly, everywhere. [D] The habitat
model's own ``ser_clip`` (the training voxels' 99.5th percentile of |SER|) is *not* substituted for it:
training fitted the model on maps made with the extraction's kinetic settings and extracted its features from
habitats assigned on such maps, so those are the settings that reproduce the training features. (Substituting
it would change nothing in population habitats anyway: SER is winsorised to the model's percentiles before
the nearest-centroid step.) The slope mode must agree with the habitat model's; a bundle where they differ is
refused at load.

MSI is computed once, with ``settings.msi_connectivity``, and those values are the ``MSI_*`` features.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tnbc_desktop.core.bundle_settings import ExtractionSettings
from tnbc_desktop.core.features.extract import FeatureSet, RegionMasks
from tnbc_desktop.core.habitats import Habitats, HabitatModel
from tnbc_desktop.core.kinetics import KineticMaps
from tnbc_desktop.core.study import DCEStudy

StepFn = Callable[[str, Callable[[], Any]], Any]
CHAIN_STEPS = ("kinetic maps", "habitats", "peritumoral ring", "MSI", "features")


@dataclass(frozen=True, eq=False)
class ImagingChainResult:
    """Everything the chain made; arrays [z, y, x] on the study grid. ``feature_set`` is None when no feature
    was asked for."""

    kinetic_maps: KineticMaps
    habitats: Habitats
    ring: np.ndarray
    msi: dict[str, float]
    regions: RegionMasks
    feature_set: FeatureSet | None


def _run_directly(_step: str, fn: Callable[[], Any]) -> Any:
    return fn()


def run_imaging_chain(study: DCEStudy, mask: np.ndarray, settings: ExtractionSettings,
                      habitat_model: HabitatModel | dict | None, names: Sequence[str] | None = None, *,
                      step: StepFn | None = None, feature_progress=None, cancel=None,
                      n_jobs: int = 1) -> ImagingChainResult:
    """Run the chain on ``study`` with the boolean tumour ``mask`` [z, y, x] (on the study grid).

    ``habitat_model``: population model (or its dict); None = per-patient k-means. ``names``: feature names to
    extract (None = all; empty = none). ``step(name, fn)`` runs each step (the pipeline times and reports
    them; default: just call ``fn``); ``feature_progress`` / ``cancel`` / ``n_jobs`` go to the extraction.
    """
    from tnbc_desktop.core.features.extract import extract_features
    from tnbc_desktop.core.habitats import assign_habitats, per_patient_habitats
    from tnbc_desktop.core.kinetics import compute_kinetic_maps
    from tnbc_desktop.core.msi import msi_features
    from tnbc_desktop.core.regions import peritumoral_ring

    run = step or _run_directly
    if isinstance(habitat_model, dict):
        habitat_model = HabitatModel.from_dict(habitat_model)
    maps = run("kinetic maps", lambda: compute_kinetic_maps(study, mask, settings.kinetic))
    # cluster-quality diagnostics (silhouette) are for fitting, not needed per case
    habitats = run("habitats", lambda: assign_habitats(maps, habitat_model, diagnostics=False) if habitat_model
                   else per_patient_habitats(maps, diagnostics=False))
    ring = run("peritumoral ring", lambda: peritumoral_ring(mask, study.spacing_mm, settings.ring_width_mm))
    msi = run("MSI", lambda: msi_features(habitats.labels, study.geometry.voxel_volume_mm3,
                                          settings.msi_connectivity))
    regions = RegionMasks(tumour=mask, habitat_labels=habitats.labels, ring=ring)
    wanted = None if names is None else list(names)
    feature_set = run("features", lambda: None if wanted == [] else extract_features(
        study, regions, wanted, early_phase=int(maps.early_phase), params=settings.params,
        progress=feature_progress, cancel=cancel, n_jobs=n_jobs, msi=msi))
    return ImagingChainResult(maps, habitats, ring, dict(msi), regions, feature_set)
