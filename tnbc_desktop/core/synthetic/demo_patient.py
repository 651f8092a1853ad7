"""The one synthetic demo patient shown by ``tnbc-desktop demo`` and the GUI's "Open demo patient".

Its tumour size matches the synthetic training cohort of the demo bundle (``make_cohort``'s default
``tumour_volume_ml``), so the demo prediction sits inside the bundle's training range instead of raising
out-of-range warnings; the crop keeps the realistic default shape (48x192x192 at 0.7x0.7x2 mm).
"""
from __future__ import annotations

from tnbc_desktop.core.synthetic.cohort import COHORT_TUMOUR_ML
from tnbc_desktop.core.synthetic.patient import SyntheticPatient, make_patient

DEMO_SEED = 20240746  # fixed: the demo patient is the same on every machine


def make_demo_patient(seed: int = DEMO_SEED, **overrides) -> SyntheticPatient:
    """The demo patient (``overrides`` go to :func:`make_patient`, e.g. a small ``shape`` in tests)."""
    kwargs = {"tumour_volume_ml": COHORT_TUMOUR_ML, **overrides}
    return make_patient(seed, **kwargs)
