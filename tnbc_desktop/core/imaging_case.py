"""The imaging half of one case, shared by cohort extraction and training: study + mask -> features.

``extract_case_features`` = load study and mask -> kinetic maps (default settings with the habitat model's
slope mode: what ``analyze_case`` uses with a bundle's default ``extraction.kinetic_settings``) -> population
habitats -> peritumoral ring -> radiomics + MSI + kinetic features (all 11,238, or only
``names``). ``patient_voxel_features`` = the (N, 4) WIS/WOS/SER/PE voxel table used to fit the habitat model,
optionally subsampled reproducibly per patient so a cluster ships at most ``max_voxels`` rows per patient.
"""
from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DEFAULT_RING_WIDTH_MM = 5.0


def _load(study_path: Path, mask_path: Path, phase_times_s: Sequence[float] | None, mask_label: int | None):
    from tnbc_desktop.core.io.masks import load_mask
    from tnbc_desktop.core.io.study_loader import load_study
    from tnbc_desktop.core.manifest import study_source

    study = load_study(study_source(study_path), phase_times_s=phase_times_s)
    mask = load_mask(Path(mask_path), study.geometry, label=mask_label)
    return study, mask


def subsample_voxels(features: np.ndarray, key: str, max_voxels: int | None, seed: int = 0) -> np.ndarray:
    """At most ``max_voxels`` rows of ``features`` (N, 4), chosen by a generator seeded from ``(seed, key)``.

    The choice depends only on the patient key and the seed, never on which worker or in which order
    patients run, so a cluster fit is reproducible. Row order is kept.
    """
    if max_voxels is None or len(features) <= max_voxels:
        return features
    rng = np.random.default_rng([int(seed), zlib.crc32(key.encode("utf-8"))])
    take = np.sort(rng.choice(len(features), size=int(max_voxels), replace=False))
    return features[take]


def patient_voxel_features(study_path: Path, mask_path: Path, phase_times_s: Sequence[float] | None = None, *,
                           mask_label: int | None = None, max_voxels: int | None = None, key: str = "",
                           seed: int = 0) -> np.ndarray:
    """(N, 4) float64 array of the valid tumour voxels' (WIS, WOS, SER, PE), default kinetic settings.

    With ``max_voxels``: a reproducible random subset (see :func:`subsample_voxels`, keyed by ``key``).
    """
    from tnbc_desktop.core.kinetics import compute_kinetic_maps

    study, mask = _load(study_path, mask_path, phase_times_s, mask_label)
    feats, _ = compute_kinetic_maps(study, mask.array).voxel_features()
    return subsample_voxels(feats, key or str(study_path), max_voxels, seed)


def extract_case_features(study_path: Path, mask_path: Path, habitat_model: dict,
                          names: Sequence[str] | None = None, phase_times_s: Sequence[float] | None = None, *,
                          mask_label: int | None = None, ring_width_mm: float = DEFAULT_RING_WIDTH_MM,
                          params=None, kinetic_settings=None):
    """FeatureSet of one patient (full extraction when ``names`` is None).

    ``habitat_model``: the population model as a dict (``HabitatModel.to_dict()``). ``kinetic_settings``: a
    ``KineticSettings`` (default: defaults with the model's slope mode). ``params``: a ``RadiomicsParams``
    (default: the shipped file).
    """
    from tnbc_desktop.core.features.extract import RegionMasks, extract_features
    from tnbc_desktop.core.habitats import HabitatModel, assign_habitats
    from tnbc_desktop.core.kinetics import KineticSettings, compute_kinetic_maps
    from tnbc_desktop.core.regions import peritumoral_ring

    model = HabitatModel.from_dict(habitat_model)
    study, mask = _load(study_path, mask_path, phase_times_s, mask_label)
    maps = compute_kinetic_maps(study, mask.array, kinetic_settings or KineticSettings(slopes=model.slopes))
    habitats = assign_habitats(maps, model, diagnostics=False)
    ring = peritumoral_ring(mask.array, study.spacing_mm, float(ring_width_mm))
    regions = RegionMasks(tumour=mask.array, habitat_labels=habitats.labels, ring=ring)
    return extract_features(study, regions, names=names, early_phase=maps.early_phase, params=params)
