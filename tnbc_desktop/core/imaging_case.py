"""The imaging half of one case for cohort extraction and training: study + mask files -> features.

``extract_case_features`` = load study and mask -> the imaging chain ``analyze_case`` runs
(:func:`tnbc_desktop.core.imaging_chain.run_imaging_chain`) with the given extraction settings (default: the
shipped parameter file, default kinetic settings with the habitat model's slope mode, 5 mm ring, 2D-8 MSI -
what a bundle trained from these features records) and the population habitat model; all 11,238 features or
only ``names``. ``patient_voxel_features`` = the (N, 4) WIS/WOS/SER/PE voxel table used to fit the habitat
model, optionally subsampled reproducibly per patient so a cluster ships at most ``max_voxels`` rows per patient.
"""
from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np


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


def extract_case_features(study_path: Path, mask_path: Path, habitat_model, names: Sequence[str] | None = None,
                          phase_times_s: Sequence[float] | None = None, *, mask_label: int | None = None,
                          settings=None):
    """FeatureSet of one patient (full extraction when ``names`` is None).

    ``habitat_model``: the population model (``HabitatModel`` or its dict). ``settings``: the
    :class:`~tnbc_desktop.core.bundle_settings.ExtractionSettings` (default: see the module docstring).
    """
    from tnbc_desktop.core.bundle_settings import default_extraction
    from tnbc_desktop.core.habitats import HabitatModel
    from tnbc_desktop.core.imaging_chain import run_imaging_chain

    model = habitat_model if isinstance(habitat_model, HabitatModel) else HabitatModel.from_dict(habitat_model)
    study, mask = _load(study_path, mask_path, phase_times_s, mask_label)
    chosen = settings or default_extraction(slopes=model.slopes)
    return run_imaging_chain(study, mask.array, chosen, model, names).feature_set
