"""Colour maps and value ranges for the kinetic parameter maps (PE, SER, WIS, WOS).

[D] choices, so the maps read as breast-MRI kinetic colour coding does (red = wash-out):
- WOS (signed %/min) uses a *diverging* map centred at 0: levels are symmetric, +-max(|1st|, |99th|
  percentile), so 0 (a flat late curve) is the neutral middle colour; negative (wash-out) is red, positive
  (persistent rise) blue (CET-D1, reversed).
- SER is drawn in three bands at the BI-RADS-style cut points 0.9 and 1.1: < 0.9 persistent (blue),
  0.9-1.1 plateau (light grey), > 1.1 wash-out (vermillion) - the same blue / neutral / red reading as the
  WOS map, and no band in the tumour outline's yellow; levels fixed at 0..2 so the bands never move.
- PE and WIS (non-negative, no natural centre) use viridis over the 1st-99th percentile.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg

from tnbc_desktop.core.palette import OKABE_ITO

SER_CUTS = (0.9, 1.1)
SER_LEVELS = (0.0, 2.0)
PLATEAU_GREY = (225, 225, 225)
SER_BAND_COLOURS = (OKABE_ITO["blue"], PLATEAU_GREY, OKABE_ITO["vermillion"])


@dataclass(frozen=True, eq=False)
class MapStyle:
    """How one map is drawn: a pyqtgraph ColorMap, its levels (low, high) and whether it is diverging."""

    colour_map: pg.ColorMap
    levels: tuple[float, float]
    diverging: bool = False


def ser_colour_map() -> pg.ColorMap:
    """Three flat bands over ``SER_LEVELS`` with edges at ``SER_CUTS`` (repeated stops make hard steps)."""
    lo, hi = SER_LEVELS
    a, b = ((c - lo) / (hi - lo) for c in SER_CUTS)
    c1, c2, c3 = SER_BAND_COLOURS
    return pg.ColorMap(pos=[0.0, a, a, b, b, 1.0], color=[c1, c1, c2, c2, c3, c3])


def wos_colour_map() -> pg.ColorMap:
    cmap = pg.colormap.get("CET-D1")
    cmap.reverse()
    return cmap


def map_style(name: str, values: np.ndarray) -> MapStyle:
    """The :class:`MapStyle` of kinetic map ``name`` ("PE", "SER", "WIS", "WOS") for its values (NaN outside)."""
    if name == "SER":
        return MapStyle(ser_colour_map(), SER_LEVELS)
    finite = np.asarray(values)[np.isfinite(values)]
    lo, hi = (np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0))
    if name == "WOS":
        half = max(abs(float(lo)), abs(float(hi)), 1e-6)
        return MapStyle(wos_colour_map(), (-half, half), diverging=True)
    hi = hi if hi > lo else lo + 1.0
    return MapStyle(pg.colormap.get("viridis"), (float(lo), float(hi)))
