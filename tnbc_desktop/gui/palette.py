"""GUI view of the app's one palette (tnbc_desktop.core.palette): RGB tuples plus Qt/pyqtgraph helpers.

The colours themselves live in core so that the PDF report, training figures and DICOM exports use the very
same values as the screen.
"""
from __future__ import annotations

import numpy as np

from tnbc_desktop.core.palette import (  # noqa: F401  (re-exported for the GUI modules)
    CURSOR_CURVE_COLOUR,
    CURVE_COLOURS,
    GROUP_COLOURS,
    HABITAT_COLOURS,
    HABITAT_NAMES,
    NEUTRAL_COLOUR,
    OKABE_ITO,
    OUTLINE_COLOUR,
    RING_COLOUR,
    TUMOUR_CURVE_COLOUR,
    group_colour,
    hex_colour,
)


def habitat_lut() -> np.ndarray:
    """RGBA lookup table (4, 4) uint8 indexed by habitat label 0..3; label 0 is fully transparent."""
    lut = np.zeros((4, 4), dtype=np.uint8)
    for label, rgb in HABITAT_COLOURS.items():
        lut[label, :3] = rgb
        lut[label, 3] = 255
    return lut
