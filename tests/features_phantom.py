"""A tiny DCE phantom for the feature tests (no dependency on other engineers' generators).

Tumour: an ellipsoid with three concentric habitats (outer = 1 ... core = 3 would be unrealistic; we use
core = 1 poorly perfused, shell = 3 highly perfused, middle = 2) and a 1-voxel-thick ring; six phases with
distinct enhancement per habitat plus Gaussian noise, all seeded.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from tnbc_desktop.core.features.extract import RegionMasks
from tnbc_desktop.core.study import DCEStudy, Geometry, PhaseInfo

TIMES = (0.0, 90.0, 180.0, 270.0, 360.0, 450.0)


def make_phantom(shape=(12, 28, 28), spacing=(2.0, 0.8, 0.8), n_phases=6, seed=0, radii_mm=(7.0, 6.0, 6.0)):
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape).astype(float)
    c = [(s - 1) / 2 for s in shape]
    r = np.sqrt(((z - c[0]) * spacing[0] / radii_mm[0]) ** 2 + ((y - c[1]) * spacing[1] / radii_mm[1]) ** 2
                + ((x - c[2]) * spacing[2] / radii_mm[2]) ** 2)
    tumour = r <= 1.0
    labels = np.zeros(shape, np.uint8)
    labels[tumour & (r < 0.45)] = 1
    labels[tumour & (r >= 0.45) & (r < 0.75)] = 2
    labels[tumour & (r >= 0.75)] = 3
    dist = ndimage.distance_transform_edt(~tumour, sampling=spacing)
    ring = (dist > 0) & (dist <= 3.0)
    times = TIMES[:n_phases] if n_phases <= len(TIMES) else tuple(90.0 * i for i in range(n_phases))
    amp = {0: 0.2, 1: 0.6, 2: 1.0, 3: 1.6}
    data = np.empty((n_phases,) + shape, np.float32)
    base = 100 + 10 * rng.standard_normal(shape)
    for p, t in enumerate(times):
        enh = np.zeros(shape)
        for lab, a in amp.items():
            sel = labels == lab
            kin = 0.02 if lab == 3 else 0.008
            enh[sel] = a * (1 - np.exp(-kin * t)) * (np.exp(-0.001 * t) if lab == 3 else 1.0)
        data[p] = (base * (1 + enh) + 3 * rng.standard_normal(shape)).astype(np.float32)
    geom = Geometry(shape=shape, spacing_mm=spacing, origin_mm=(-10.0, 5.0, 20.0))
    phases = tuple(PhaseInfo(index=i, time_s=t, source_tag="user") for i, t in enumerate(times))
    study = DCEStudy(data=data, phase_times_s=times, geometry=geom, phases=phases, layout="test",
                     timing_source="user", source="phantom")
    return study, RegionMasks(tumour=tumour, habitat_labels=labels, ring=ring)
