"""One synthetic patient: DCE study, masks, ground-truth habitats, pathology, mutations, outcome (SPEC 14).

``make_patient(seed)`` is deterministic: the seed feeds three independent random streams (biology, anatomy,
noise), so passing an explicit ``biology`` leaves the anatomy and noise of that seed unchanged.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid

from tnbc_desktop.core.io.atomic import write_text_atomic
from tnbc_desktop.core.study import DCEStudy, Geometry, Mask, PatientIdentity, PhaseInfo
from tnbc_desktop.core.synthetic import anatomy
from tnbc_desktop.core.synthetic.biology import PatientBiology, sample_biology
from tnbc_desktop.core.synthetic.enhancement import (BPE_CURVE, HABITAT_CURVES, MUSCLE_CURVE, RING_CURVE,
                                                      NoiseSource, add_rician_noise, enhancement_fraction)
from tnbc_desktop.core.synthetic.maf import maf_rows, write_maf
from tnbc_desktop.errors import InputError

CANARY = "ZZCANARY"
DEFAULT_SHAPE = (48, 192, 192)
DEFAULT_SPACING_MM = (2.0, 0.7, 0.7)
DEFAULT_PHASE_TIMES_S = (0.0, 90.0, 180.0, 270.0, 360.0, 450.0)
LAYOUTS = ("per-phase", "single-series", "pre-post", "enhanced", "nifti")  # DICOM layouts of core.io.dicom_write
RING_DECAY_MM = 2.0       # peritumoral enhancement falls as exp(-d / 2 mm): ~14 % of the edge value at 4 mm
VOXEL_JITTER_SD = 0.15    # log-normal per-voxel jitter of A and k_in inside the tumour


@dataclass(frozen=True, eq=False)
class SyntheticPatient:
    """A synthetic case with its ground truth; arrays [z, y, x] on ``study.geometry``."""

    study: DCEStudy
    mask: Mask
    mask_reader2: Mask
    habitat_truth: np.ndarray   # uint8: 0 outside the tumour, 1 poorly / 2 moderately / 3 highly perfused
    ki67_percent: float
    lvi: bool
    maf_rows: list[dict]
    sample_id: str
    truth: dict
    biology: PatientBiology = field(default_factory=PatientBiology)
    seed: int = 0


@dataclass(frozen=True)
class PatientFiles:
    """Paths written by :func:`write_patient` (``study`` is a DICOM folder or ``study.nii.gz``)."""

    root: Path
    study: Path
    mask: Path
    mask_reader2: Path
    habitats_truth: Path
    maf: Path
    clinical: Path
    truth: Path


def phase_times_for(n_phases: int, spacing_s: float = 90.0) -> tuple[float, ...]:
    """Pre-contrast at 0 s plus ``n_phases - 1`` post-contrast phases every ``spacing_s`` seconds (3..8 phases)."""
    if not 3 <= int(n_phases) <= 8:
        raise InputError(f"a synthetic study has 3 to 8 phases, not {n_phases}")
    return tuple(float(spacing_s * i) for i in range(int(n_phases)))


def synthetic_identity(seed: int) -> PatientIdentity:
    """Fake identifiers, each (except the dates) containing the canary string."""
    rng = np.random.default_rng([seed, 7])
    birth = f"{int(rng.integers(1950, 1990))}{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}"
    return PatientIdentity(patient_name=f"{CANARY}^SYNTHETIC^{seed}", patient_id=f"{CANARY}-{seed}",
                           birth_date=birth, study_date="20240115", accession_number=f"{CANARY}{seed:08d}",
                           institution=f"{CANARY} Synthetic Breast Centre")


def _validate(shape, spacing_mm, phase_times_s, snr) -> None:
    if len(shape) != 3 or min(shape) < 8:
        raise InputError(f"synthetic shape must be three sizes of at least 8 voxels (z, y, x), got {shape}")
    if len(spacing_mm) != 3 or min(spacing_mm) <= 0:
        raise InputError(f"synthetic spacing must be three positive sizes in mm, got {spacing_mm}")
    t = np.asarray(phase_times_s, float)
    if t.size < 3 or t[0] != 0 or np.any(np.diff(t) <= 0):
        raise InputError("synthetic phase times must start at 0 s and increase, with at least 3 phases")
    if not snr > 0:
        raise InputError(f"SNR must be positive, got {snr}")


def make_patient(seed: int, shape=DEFAULT_SHAPE, spacing_mm=DEFAULT_SPACING_MM,
                 phase_times_s=DEFAULT_PHASE_TIMES_S, snr: float = 30.0, biology: PatientBiology | None = None,
                 tumour_volume_ml: float | None = None) -> SyntheticPatient:
    """Build one synthetic patient deterministically from ``seed``.

    ``shape`` (z, y, x) voxels and ``spacing_mm`` (z, y, x) give the crop; the tumour keeps its physical size
    (``tumour_volume_ml``, default from the biology: about 20 ml = ~20,000 voxels at the default grid) and is
    shrunk only to fit small crops. ``snr`` = fibroglandular S0 / noise sigma (Rician noise).
    """
    shape = tuple(int(s) for s in shape)
    spacing_mm = tuple(float(s) for s in spacing_mm)
    times = tuple(float(t) for t in phase_times_s)
    _validate(shape, spacing_mm, times, snr)
    bio_ss, anat_ss, noise_ss = np.random.SeedSequence(int(seed)).spawn(3)
    if biology is None:
        biology = sample_biology(np.random.default_rng(bio_ss), tumour_volume_ml)
    elif tumour_volume_ml is not None:
        biology = dataclasses.replace(biology, tumour_volume_ml=float(tumour_volume_ml))
    anat_rng, noise_rng = np.random.default_rng(anat_ss), np.random.default_rng(noise_ss)

    bg = anatomy.make_background(shape, spacing_mm, anat_rng, biology.bpe_amplitude)
    tum = anatomy.make_tumour(shape, spacing_mm, anat_rng, biology.tumour_volume_ml, biology.habitat_fractions,
                              biology.habitat_mixing)
    local = _local_tissue(bg, tum, biology, anat_rng)
    sigma = anatomy.S0_FIBROGLANDULAR / float(snr)
    data = np.empty((len(times),) + shape, dtype=np.float32)
    noise = NoiseSource(noise_rng, int(np.prod(shape)), 2 * len(times), stride=shape[1] * shape[2])
    for i, t in enumerate(times):
        phase = data[i]
        np.multiply(bg.bpe_amplitude, np.float32(BPE_CURVE.relative_enhancement([t])[0]), out=phase)
        phase += 1.0
        phase *= bg.s0
        phase[bg.muscle] = anatomy.S0_MUSCLE * (1.0 + MUSCLE_CURVE.relative_enhancement([t])[0])
        phase[tum.box] = _local_signal(local, t)
        add_rician_noise(phase, sigma, noise)
        np.rint(phase, out=phase)  # scanner units are integers (lets writers store int16 losslessly)

    geometry = Geometry(shape=shape, spacing_mm=spacing_mm,
                        origin_mm=tuple(round(-0.5 * n * s, 2) for n, s in zip(shape[::-1], spacing_mm[::-1])))
    identity = synthetic_identity(seed)
    phases = tuple(PhaseInfo(index=i, time_s=t, source_tag="synthetic", series_number=i + 1,
                             series_description=f"DCE phase {i + 1} ({t:g} s)", n_slices=shape[0])
                   for i, t in enumerate(times))
    study = DCEStudy(data=data, phase_times_s=times, geometry=geometry, phases=phases, layout="synthetic",
                     timing_source="synthetic", source=f"synthetic patient seed {seed}",
                     study_uid=generate_uid(entropy_srcs=["tnbc-desktop synthetic study", str(seed)]),
                     identity=identity, notes=("synthetic data, not a real patient",))
    mask_arr, mask2_arr, hab = (np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(shape, np.uint8))
    mask_arr[tum.box], mask2_arr[tum.box], hab[tum.box] = tum.mask, tum.mask_reader2, tum.habitats
    sample_id = f"{CANARY}-{seed}-T1"
    counts = np.bincount(tum.habitats[tum.mask], minlength=4)[1:4]
    truth = {
        "seed": int(seed), "synthetic": True,
        "true_pcr_probability": biology.pcr_probability, "pcr": biology.pcr,
        "dfs_months": biology.dfs_months, "dfs_event": biology.dfs_event,
        "habitat_fractions": [float(c / counts.sum()) for c in counts],
        "tumour_voxels": int(tum.mask.sum()), "snr": float(snr), "noise_sigma": float(sigma),
        "phase_times_s": list(times), "shape": list(shape), "spacing_mm": list(spacing_mm),
        "habitat_curves": {str(h): dataclasses.asdict(c) for h, c in HABITAT_CURVES.items()},
        "latent": biology.to_dict(),
    }
    return SyntheticPatient(
        study=study,
        mask=Mask(array=mask_arr, geometry=geometry, source="synthetic tumour mask (reader 1)"),
        mask_reader2=Mask(array=mask2_arr, geometry=geometry, source="synthetic tumour mask (reader 2)"),
        habitat_truth=hab, ki67_percent=biology.ki67_percent, lvi=biology.lvi,
        maf_rows=maf_rows(biology, sample_id, int(seed)), sample_id=sample_id, truth=truth, biology=biology,
        seed=int(seed))


@dataclass(frozen=True)
class _LocalTissue:
    s0: np.ndarray          # float32 pre-contrast signal in the tumour box
    bpe: np.ndarray         # background enhancement amplitude
    ring: np.ndarray        # peritumoral amplitude (0 inside the tumour and far away)
    inside: np.ndarray      # bool tumour
    a: np.ndarray           # per tumour voxel (1D, order of inside) amplitudes
    k_in: np.ndarray
    k_out: np.ndarray


def _local_tissue(bg: anatomy.Background, tum: anatomy.TumourLayout, bio: PatientBiology,
                  rng: np.random.Generator) -> _LocalTissue:
    s0 = bg.s0[tum.box].copy()
    bpe = bg.bpe_amplitude[tum.box].copy()
    near = tum.distance_mm <= anatomy.RING_MARGIN_MM
    air_near = near & (s0 <= 0)
    s0[air_near] = anatomy.S0_FAT  # the breast always surrounds the tumour and its peritumoral zone
    bpe[air_near] = 0.04
    ring = np.where(near & ~tum.mask, bio.peritumoral_amplitude * np.exp(-tum.distance_mm / RING_DECAY_MM), 0.0)
    s0[tum.mask] = anatomy.S0_TUMOUR
    labels = tum.habitats[tum.mask]
    n = labels.size
    a = np.array([0.0] + [HABITAT_CURVES[h].a for h in (1, 2, 3)])[labels] * bio.perfusion_scale
    k_in = np.array([0.0] + [HABITAT_CURVES[h].k_in for h in (1, 2, 3)])[labels] * bio.wash_in_scale
    k_out = np.array([0.0] + [HABITAT_CURVES[h].k_out for h in (1, 2, 3)])[labels]
    a = a * np.exp(rng.normal(0.0, VOXEL_JITTER_SD, n))
    k_in = k_in * np.exp(rng.normal(0.0, VOXEL_JITTER_SD, n))
    k_out = np.maximum(k_out + rng.normal(0.0, 0.006, n), -0.01)
    return _LocalTissue(s0=s0, bpe=bpe, ring=ring.astype(np.float32), inside=tum.mask, a=a, k_in=k_in, k_out=k_out)


def _local_signal(loc: _LocalTissue, t: float) -> np.ndarray:
    """Noise-free signal of the tumour box at time ``t`` (s)."""
    e = loc.bpe * BPE_CURVE.relative_enhancement([t])[0] + loc.ring * RING_CURVE.relative_enhancement([t])[0]
    e[loc.inside] = enhancement_fraction(loc.a, loc.k_in, loc.k_out, t)
    return (loc.s0 * (1.0 + e)).astype(np.float32)


def write_patient(patient: SyntheticPatient, out_dir: str | Path, layout: str = "per-phase",
                  compresslevel: int = 1) -> PatientFiles:
    """Write the patient's files into ``out_dir`` (created if needed); every file is written atomically.

    ``layout``: "per-phase" (DICOM, one series per phase), "single-series" (DICOM, all phases in one series
    with TemporalPositionIdentifier/TriggerTime), "pre-post" or "enhanced" (see ``core.io.dicom_write``) - all
    in ``out_dir/study/`` - or "nifti" (``study.nii.gz``, int16, with the ``study.json`` sidecar of phase times).
    Masks and the habitat truth are ``.nii.gz`` on the study grid; ``compresslevel`` (0-9) is the gzip level of
    the NIfTI study (0 = stored, fastest).
    """
    from tnbc_desktop.core.synthetic.fast_nifti import write_study_gz, write_volume_gz

    if layout not in LAYOUTS:
        raise InputError(f"unknown synthetic layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    if layout == "nifti":
        study_path = write_study_gz(patient.study, root / "study.nii.gz", compresslevel=compresslevel)
    else:
        from tnbc_desktop.core.io.dicom_write import write_dicom_study

        study_path = root / "study"
        study_path.mkdir(exist_ok=True)
        write_dicom_study(patient.study, study_path, layout=layout)
    geom = patient.study.geometry
    mask = write_volume_gz(patient.mask.array.astype(np.uint8), geom, root / "mask.nii.gz")
    mask2 = write_volume_gz(patient.mask_reader2.array.astype(np.uint8), geom, root / "mask_reader2.nii.gz")
    hab = write_volume_gz(patient.habitat_truth, geom, root / "habitats_truth.nii.gz")
    maf = write_maf(patient.maf_rows, root / "mutations.maf")
    clinical = write_text_atomic(root / "clinical.json", json.dumps(
        {"ki67_percent": patient.ki67_percent, "lvi": "present" if patient.lvi else "absent",
         "sample": patient.sample_id}, indent=2))
    truth = write_text_atomic(root / "truth.json", json.dumps(patient.truth, indent=2))
    return PatientFiles(root=root, study=Path(study_path), mask=mask, mask_reader2=mask2, habitats_truth=hab,
                        maf=maf, clinical=Path(clinical), truth=Path(truth))
