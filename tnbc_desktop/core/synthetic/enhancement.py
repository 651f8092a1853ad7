"""Signal-time curves of the synthetic study and Rician noise.

Curve model (per voxel): ``S(t) = S0 * (1 + A * (1 - exp(-k_in t)) * exp(-k_out t))`` with ``t`` in minutes
after the pre-contrast phase (t = 0 gives S0), ``A`` the dimensionless enhancement amplitude, ``k_in`` and
``k_out`` in 1/min. The habitat curves are chosen so that, with the kinetic parameters of SPEC section 2
(early = 90-180 s, late = last phase, relative slopes), the three habitats are well separated and PE rises
1 < 2 < 3 (about 60 %, 130 %, 235 % at 90 s):

============  ======  =====  =====  ==========================================
habitat        A      k_in   k_out  shape
============  ======  =====  =====  ==========================================
1 poorly      1.25    0.45   0.0    slow wash-in, persistent (SER ~0.5)
2 moderately  1.55    1.3    0.015  medium/fast wash-in, plateau (SER ~0.95)
3 highly      2.70    3.0    0.085  fast wash-in, wash-out (SER ~1.6)
============  ======  =====  =====  ==========================================
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CurveParams:
    """Parameters of one enhancement curve: amplitude ``a`` (fraction), rates ``k_in``/``k_out`` (1/min)."""

    a: float
    k_in: float
    k_out: float

    def relative_enhancement(self, times_s) -> np.ndarray:
        """(S(t) - S0) / S0 at the given times (seconds), shape (n_times,)."""
        return enhancement_fraction(self.a, self.k_in, self.k_out, np.asarray(times_s, float))


HABITAT_CURVES: dict[int, CurveParams] = {
    1: CurveParams(a=1.25, k_in=0.45, k_out=0.0),
    2: CurveParams(a=1.55, k_in=1.3, k_out=0.015),
    3: CurveParams(a=2.70, k_in=3.0, k_out=0.085),
}
# Background parenchymal enhancement (amplitude scaled per patient and by the fibroglandular fraction):
BPE_CURVE = CurveParams(a=1.0, k_in=0.35, k_out=0.0)
# Chest-wall muscle: mild plateau.
MUSCLE_CURVE = CurveParams(a=0.30, k_in=1.0, k_out=0.02)
# Peritumoral zone: mild, persistent (amplitude per patient, decaying with distance from the tumour).
RING_CURVE = CurveParams(a=1.0, k_in=0.6, k_out=0.0)


def enhancement_fraction(a, k_in, k_out, time_s) -> np.ndarray:
    """``A (1 - exp(-k_in t)) exp(-k_out t)`` with ``t = time_s / 60`` (minutes); broadcasts numpy inputs."""
    t_min = np.asarray(time_s, dtype=np.float64) / 60.0
    return np.asarray(a) * (1.0 - np.exp(-np.asarray(k_in) * t_min)) * np.exp(-np.asarray(k_out) * t_min)


class NoiseSource:
    """Standard-normal float32 fields of ``n`` values, cheap to draw many times.

    One buffer of ``n + n_fields * stride`` normals is drawn once; field ``i`` is the window starting at
    ``perm[i] * stride + r`` (a random permutation, one random ``r``). A voxel therefore gets a different,
    independent N(0, 1) value in every field, and within a field all values are distinct draws; a value recurs
    only in another field at a voxel a whole number of ``stride`` elements (slices) away. This cuts the cost of
    Rician noise several-fold for a 6-phase study. ``stride`` should be one slice (ny * nx).
    """

    def __init__(self, rng: np.random.Generator, n: int, n_fields: int, stride: int):
        self._n, stride = int(n), max(int(stride), 1)
        self._buffer = rng.standard_normal(self._n + (int(n_fields) + 1) * stride, dtype=np.float32)
        shift = int(rng.integers(stride))
        self._offsets = iter((rng.permutation(int(n_fields)) * stride + shift).tolist())

    def field(self, shape) -> np.ndarray:
        """A read-only N(0, 1) float32 view of ``shape`` (whose size must be ``n``)."""
        if int(np.prod(shape)) != self._n:
            raise ValueError("noise field size does not match the source")
        start = next(self._offsets)
        view = self._buffer[start:start + self._n].reshape(shape)
        view.flags.writeable = False
        return view


def add_rician_noise(clean: np.ndarray, sigma: float, noise: NoiseSource) -> np.ndarray:
    """Magnitude of (clean + sigma n1) + i sigma n2, n1/n2 ~ N(0, 1), in place on float32 ``clean`` (returned)."""
    if sigma <= 0:
        return clean
    s = np.float32(sigma)
    scratch = np.multiply(noise.field(clean.shape), s)
    clean += scratch
    np.square(clean, out=clean)
    np.multiply(noise.field(clean.shape), s, out=scratch)
    np.square(scratch, out=scratch)
    clean += scratch
    np.sqrt(clean, out=clean)
    return clean
