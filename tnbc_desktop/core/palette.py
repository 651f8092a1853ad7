"""The one colour palette of the app, shared by the GUI, the PDF report, training figures and DICOM exports.

No Qt here: colours are RGB tuples of 0..255 ints; ``hex_colour`` gives "#rrggbb" for matplotlib / HTML.

[D] Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008, "Color Universal Design"). Habitats 1..3 (poorly /
moderately / highly perfused) are blue / orange / reddish purple: at overlay opacity on a grey image these stay
distinct under deuteranopia, protanopia and tritanopia (orange next to vermillion blended into one salmon tone).
The peritumoral ring is bluish green, the tumour outline yellow (the brightest Okabe-Ito colour, visible as a
thin line on any grey level).

[D] Outcome groups are never green/red: a predicted pCR is blue, non-pCR orange, and a probability whose CI
straddles the cutoff ("uncertain") is neutral grey, so no colour reads as good or bad news.
"""
from __future__ import annotations

RGB = tuple[int, int, int]

OKABE_ITO: dict[str, RGB] = {
    "black": (0, 0, 0),
    "orange": (230, 159, 0),
    "sky_blue": (86, 180, 233),
    "bluish_green": (0, 158, 115),
    "yellow": (240, 228, 66),
    "blue": (0, 114, 178),
    "vermillion": (213, 94, 0),
    "reddish_purple": (204, 121, 167),
}

HABITAT_LABELS = (1, 2, 3)
HABITAT_NAMES: dict[int, str] = {1: "H1 poorly perfused", 2: "H2 moderately perfused", 3: "H3 highly perfused"}
HABITAT_COLOURS: dict[int, RGB] = {1: OKABE_ITO["blue"], 2: OKABE_ITO["orange"], 3: OKABE_ITO["reddish_purple"]}
RING_COLOUR: RGB = OKABE_ITO["bluish_green"]
OUTLINE_COLOUR: RGB = OKABE_ITO["yellow"]

TUMOUR_CURVE_COLOUR: RGB = (40, 40, 40)
CURSOR_CURVE_COLOUR: RGB = OKABE_ITO["sky_blue"]
NEUTRAL_COLOUR: RGB = (110, 110, 110)
GROUP_COLOURS: dict[str, RGB] = {"pCR": OKABE_ITO["blue"], "non-pCR": OKABE_ITO["orange"],
                                 "uncertain": NEUTRAL_COLOUR}

# Curves of the regions, keyed as core.curves / CaseResult.curves name them.
CURVE_COLOURS: dict[str, RGB] = {"tumour": TUMOUR_CURVE_COLOUR, "H1": HABITAT_COLOURS[1],
                                 "H2": HABITAT_COLOURS[2], "H3": HABITAT_COLOURS[3], "ring": RING_COLOUR}


def hex_colour(rgb: RGB) -> str:
    """'#rrggbb' of an RGB 0..255 tuple."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def unit_rgb(rgb: RGB) -> tuple[float, float, float]:
    """The RGB tuple scaled to 0..1 (matplotlib's float colours)."""
    return tuple(c / 255.0 for c in rgb)  # type: ignore[return-value]


def group_colour(group: str | None) -> RGB:
    """Colour of an outcome group label ('pCR', 'non-pCR', 'uncertain'); neutral for anything else."""
    return GROUP_COLOURS.get(group or "", NEUTRAL_COLOUR)
