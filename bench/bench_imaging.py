"""Benchmark of the imaging core on one synthetic patient (6 phases, 48x192x192, ~20k-voxel tumour).

Times kinetic maps + population habitats + 5 mm ring + MSI (target: well under 1 s together), each against a
naive baseline measured in the same run: full-volume kinetic maps, full-volume distance transform, and a
Python-loop MSI. Prints best-of-N seconds and ratios. Run: ``python bench/bench_imaging.py``.
"""
from __future__ import annotations

import itertools
import time

import numpy as np
from scipy import ndimage

from tnbc_desktop.core.habitats import assign_habitats, fit_habitat_model, per_patient_habitats
from tnbc_desktop.core.kinetics import KineticSettings, compute_kinetic_maps, kinetic_values, select_early_late
from tnbc_desktop.core.msi import msi_features, msi_matrix
from tnbc_desktop.core.regions import peritumoral_ring

SHAPE = (48, 192, 192)
REPEATS = 3


def best_of(fn, repeats=REPEATS):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def naive_full_volume_maps(study, mask):
    """Baseline: every map computed over the whole volume, then masked."""
    early, late = select_early_late(study.phase_times_s)
    t = np.asarray(study.phase_times_s) / 60.0
    s0 = study.data[0].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        vals = kinetic_values(np.where(s0 > 0, s0, np.nan), study.data[early], study.data[late],
                              t[0], t[early], t[late])
    return [np.where(mask, v, np.nan).astype(np.float32) for v in vals[:4]]


def naive_ring(mask, spacing, width=5.0):
    """Baseline: distance transform of the full volume."""
    d = ndimage.distance_transform_edt(~mask, sampling=spacing)
    return (d > 0) & (d <= width)


def loop_msi_matrix(lab):
    """Baseline: Python loop over tumour voxels and their 8 in-plane neighbours."""
    m = np.zeros((4, 4), np.int64)
    nz, ny, nx = lab.shape
    offs = [(dy, dx) for dy, dx in itertools.product((-1, 0, 1), repeat=2) if (dy, dx) != (0, 0)]
    for z, y, x in zip(*np.nonzero(lab)):
        c = lab[z, y, x]
        for dy, dx in offs:
            yy, xx = y + dy, x + dx
            m[c, lab[z, yy, xx] if (0 <= yy < ny and 0 <= xx < nx) else 0] += 1
    m[0, 0] = 0
    m[0, :] = m[:, 0]
    return m


def main() -> None:
    from tnbc_desktop.core.synthetic import make_patient

    train = [make_patient(seed=s, shape=SHAPE) for s in (201, 202)]
    patient = make_patient(seed=7, shape=SHAPE)
    study, mask = patient.study, patient.mask.array
    spacing = study.geometry.spacing_mm
    print(f"study {study.data.shape} float32, tumour {int(mask.sum())} voxels, spacing {spacing} mm")

    t_fit, model = best_of(lambda: fit_habitat_model(
        [compute_kinetic_maps(p.study, p.mask.array).voxel_features()[0] for p in train]), repeats=1)
    t_maps, maps = best_of(lambda: compute_kinetic_maps(study, mask, KineticSettings()))
    t_maps_naive, _ = best_of(lambda: naive_full_volume_maps(study, mask))
    t_hab, hab = best_of(lambda: assign_habitats(maps, model, diagnostics=False))
    t_hab_diag, _ = best_of(lambda: assign_habitats(maps, model, diagnostics=True))
    t_pp, _ = best_of(lambda: per_patient_habitats(maps, diagnostics=False))
    t_ring, ring = best_of(lambda: peritumoral_ring(mask, spacing, 5.0))
    t_ring_naive, ring_naive = best_of(lambda: naive_ring(mask, spacing))
    assert np.array_equal(ring, ring_naive)
    vol = study.geometry.voxel_volume_mm3
    t_msi, _ = best_of(lambda: msi_features(hab.labels, vol))
    t_msi_loop, m_loop = best_of(lambda: loop_msi_matrix(hab.labels), repeats=1)
    assert np.array_equal(m_loop, msi_matrix(hab.labels))

    rows = [("kinetic maps (mask gather)", t_maps, "full-volume maps", t_maps_naive),
            ("habitats (assign, no diag)", t_hab, "with CH + silhouette", t_hab_diag),
            ("habitats (assign, no diag)", t_hab, "per-patient k-means n_init=10", t_pp),
            ("ring 5 mm (cropped EDT)", t_ring, "full-volume EDT", t_ring_naive),
            ("MSI 22 features (bincount)", t_msi, "Python-loop MSI", t_msi_loop)]
    print(f"{'step':30s} {'s':>8s}   {'baseline':30s} {'s':>8s} {'ratio':>8s}")
    for name, t, base_name, tb in rows:
        print(f"{name:30s} {t:8.4f}   {base_name:30s} {tb:8.4f} {tb / t:8.1f}x")
    total = t_maps + t_hab + t_ring + t_msi
    total_naive = t_maps_naive + t_hab + t_ring_naive + t_msi_loop
    print(f"{'TOTAL maps+habitats+ring+MSI':30s} {total:8.4f}   {'naive total':30s} {total_naive:8.4f} "
          f"{total_naive / total:8.1f}x")
    print(f"(habitat model fit on 2 patients, n_init=50, not in the total: {t_fit:.2f} s; "
          f"fractions {np.round(hab.fractions, 3).tolist()})")


if __name__ == "__main__":
    main()
