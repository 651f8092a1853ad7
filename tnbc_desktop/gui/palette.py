"""Colours of the app: the Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008, "Color Universal Design").

Habitats 1..3 (poorly / moderately / highly perfused) use blue / orange / reddish purple: at overlay opacity
on a grey image these stay distinct under deuteranopia, protanopia and tritanopia (orange next to vermillion,
tried first, blended into one salmon tone on screen). The ring is bluish green, the tumour outline yellow.
"""
from __future__ import annotations

import numpy as np

OKABE_ITO = {
    "black": (0, 0, 0),
    "orange": (230, 159, 0),
    "sky_blue": (86, 180, 233),
    "bluish_green": (0, 158, 115),
    "yellow": (240, 228, 66),
    "blue": (0, 114, 178),
    "vermillion": (213, 94, 0),
    "reddish_purple": (204, 121, 167),
}

HABITAT_NAMES = {1: "H1 poorly perfused", 2: "H2 moderately perfused", 3: "H3 highly perfused"}
HABITAT_COLOURS = {1: OKABE_ITO["blue"], 2: OKABE_ITO["orange"], 3: OKABE_ITO["reddish_purple"]}
RING_COLOUR = OKABE_ITO["bluish_green"]
OUTLINE_COLOUR = OKABE_ITO["yellow"]
TUMOUR_CURVE_COLOUR = (40, 40, 40)
CURSOR_CURVE_COLOUR = OKABE_ITO["sky_blue"]
GROUP_COLOURS = {"pCR": OKABE_ITO["bluish_green"], "non-pCR": OKABE_ITO["vermillion"]}


def habitat_lut() -> np.ndarray:
    """RGBA lookup table (4, 4) uint8 indexed by habitat label 0..3; label 0 is fully transparent."""
    lut = np.zeros((4, 4), dtype=np.uint8)
    for label, rgb in HABITAT_COLOURS.items():
        lut[label, :3] = rgb
        lut[label, 3] = 255
    return lut


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)
