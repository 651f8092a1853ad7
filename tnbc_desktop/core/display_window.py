"""Default display windows (grey-level ranges) for DCE images, subtractions and MIPs, and their presets.

Default [D]: computed on the *early* post-contrast phase, where the lesion is brightest, from
- the breast/body: voxels above the Otsu threshold of a subsample (SimpleITK; air and the dark background
  fall below it), whose ``BODY_UPPER_PERCENTILE`` sets the top of the window, and
- the lesion when a mask is known: the top is raised to ``LESION_HEADROOM`` x its ``LESION_UPPER_PERCENTILE``,
  so the enhancing lesion is never drawn saturated (one flat white), whatever fraction of the volume it fills.
The bottom is the ``LOWER_PERCENTILE`` of the whole subsample (the background is black). Subtractions and MIPs
start at 0 [D]: negative differences are noise or motion and stay black.

A single percentile over all phases (the previous default) put the top at the body's bright fat and
saturated the lesion on DICOM data; the presets keep such alternatives one click away.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tnbc_desktop.core.regions import bounding_box

BODY_UPPER_PERCENTILE = 99.9
LESION_UPPER_PERCENTILE = 99.5
LESION_HEADROOM = 1.05
LOWER_PERCENTILE = 1.0
SUBSAMPLE = 2  # every 2nd voxel along each axis: the percentiles of a 1/8 sample are stable to a few %


@dataclass(frozen=True)
class DisplayWindow:
    """A grey-level range as (level, width), the convention of W/L readouts."""

    level: float
    width: float

    @classmethod
    def from_range(cls, low: float, high: float) -> "DisplayWindow":
        high = high if high > low else low + 1.0
        return cls(level=(float(low) + float(high)) / 2.0, width=float(high) - float(low))

    @property
    def low(self) -> float:
        return self.level - self.width / 2.0

    @property
    def high(self) -> float:
        return self.level + self.width / 2.0


def otsu_threshold(values: np.ndarray) -> float:
    """Otsu threshold of an array of any shape (SimpleITK's filter, 256 bins)."""
    import SimpleITK as sitk

    arr = np.ascontiguousarray(values, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, None, :]
    f = sitk.OtsuThresholdImageFilter()
    f.SetInsideValue(0)
    f.SetOutsideValue(1)
    f.SetNumberOfHistogramBins(256)
    f.Execute(sitk.GetImageFromArray(arr))
    return float(f.GetThreshold())


def lesion_values(volume: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
    """Values of ``volume`` [z, y, x] inside a bool ``mask`` (read on its bounding box), or None."""
    if mask is None:
        return None
    box = bounding_box(mask)
    if box is None:
        return None
    return np.asarray(volume[box])[np.asarray(mask[box], dtype=bool)]


def body_window(sample: np.ndarray, floor: float | None = None) -> DisplayWindow:
    """The lesion-independent part of the default (module docstring) of an image ``sample`` (any shape;
    typically a subsample of the early phase, of a subtraction or a MIP); ``floor`` fixes the bottom."""
    finite = np.asarray(sample, dtype=np.float32)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return DisplayWindow.from_range(0.0, 1.0)
    low = float(np.percentile(finite, LOWER_PERCENTILE)) if floor is None else float(floor)
    body = finite[finite > otsu_threshold(finite)] if np.ptp(finite) > 0 else finite
    return DisplayWindow.from_range(low, float(np.percentile(body if body.size else finite, BODY_UPPER_PERCENTILE)))


def with_lesion(window: DisplayWindow, lesion: np.ndarray | None) -> DisplayWindow:
    """``window`` with its top raised, if need be, above the ``lesion``'s values (module docstring)."""
    if lesion is None:
        return window
    les = np.asarray(lesion, dtype=np.float64)
    les = les[np.isfinite(les)]
    if les.size == 0:
        return window
    top = max(window.high, LESION_HEADROOM * float(np.percentile(les, LESION_UPPER_PERCENTILE)))
    return DisplayWindow.from_range(window.low, top)


def default_window(sample: np.ndarray, lesion: np.ndarray | None = None,
                   floor: float | None = None) -> DisplayWindow:
    """The default window (module docstring): :func:`body_window` raised by :func:`with_lesion`."""
    return with_lesion(body_window(sample, floor), lesion)


def image_sample(volume: np.ndarray) -> np.ndarray:
    """A regular 1/8 subsample of a 3D volume (a strided view: no copy of the volume)."""
    return np.asarray(volume)[::SUBSAMPLE, ::SUBSAMPLE, ::SUBSAMPLE]


def window_presets(sample: np.ndarray, lesion: np.ndarray | None, default: DisplayWindow) -> dict[str, DisplayWindow]:
    """Named presets shown beside the default: the full range, the lesion's own range (1st-99.5th
    percentile, for its internal texture) and a bright-tissue window (body 50th to 99.99th percentile)."""
    finite = np.asarray(sample, dtype=np.float32)
    finite = finite[np.isfinite(finite)]
    out = {"Default (breast)": default}
    if finite.size == 0:
        return out
    out["Full range"] = DisplayWindow.from_range(float(finite.min()), float(finite.max()))
    if lesion is not None and np.size(lesion):
        lo, hi = np.percentile(lesion, [1.0, 99.5])
        out["Lesion"] = DisplayWindow.from_range(float(lo), float(hi))
    body = finite[finite > otsu_threshold(finite)] if np.ptp(finite) > 0 else finite
    lo, hi = np.percentile(body if body.size else finite, [50.0, 99.99])
    out["Bright tissue"] = DisplayWindow.from_range(float(lo), float(hi))
    return out
