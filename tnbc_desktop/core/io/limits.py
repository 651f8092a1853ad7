"""Limits checked before any image array is made: the size a header declares against the bytes the file
holds and against a memory budget, with both sizes in the refusal.

A DICOM header claiming 60000 x 60000 pixels, or a NIfTI header whose dimensions exceed its data, is refused
here instead of ending in numpy's allocation error (or in an image padded with garbage).
"""
from __future__ import annotations

import math
import os

from tnbc_desktop.core.io.dicom_acquisition import dicom_float
from tnbc_desktop.core.io.safe_files import format_size
from tnbc_desktop.errors import DicomError, InputError, TnbcError

#: [D] share of the machine's physical memory one study may take as float32 (the study is held once, plus
#: kinetic maps and feature crops of a similar order): half leaves room for the rest of the app.
MEMORY_SHARE = 0.5
_FALLBACK_BUDGET = 8 * 1024**3

# transfer syntaxes whose pixel data are stored uncompressed, so their size is known exactly
_UNCOMPRESSED = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2")


def memory_budget_bytes() -> int:
    """Bytes one study's arrays may take: :data:`MEMORY_SHARE` of physical memory, and of the process's
    address-space or data limit when one is set (``ulimit -v`` / ``-d``)."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        physical = _FALLBACK_BUDGET * 2
    budget = int(physical * MEMORY_SHARE)
    try:
        import resource

        for limit in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
            soft, _ = resource.getrlimit(limit)
            if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
                budget = min(budget, int(soft * MEMORY_SHARE))
    except (ImportError, ValueError, OSError):
        pass
    return max(budget, 1)


def check_memory(n_bytes: float, what: str, source, error: type[TnbcError] = InputError) -> None:
    """Refuse an array of ``n_bytes`` larger than the memory budget, naming both sizes."""
    budget = memory_budget_bytes()
    if not math.isfinite(n_bytes) or n_bytes > budget:
        raise error(f"{what} would need {format_size(n_bytes)} of memory, over the {format_size(budget)} this "
                    "machine allows for one study; refusing to load it", source)


def check_study_array(shape, source, error: type[TnbcError] = InputError) -> None:
    """The float32 study array [phase, z, y, x] of ``shape`` fits the memory budget."""
    n = math.prod(int(s) for s in shape)
    check_memory(4.0 * n, f"the study ({' x '.join(str(int(s)) for s in shape)} voxels as float32)", source,
                 error)


def _us(ds, name: str, default: int) -> int:
    try:
        value = dicom_float(ds.get(name))
        return default if value is None else int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def check_dicom_declared_pixels(ds, remaining: int, path) -> None:
    """Rows x Columns x frames x samples x bytes a header declares: positive, within the memory budget as
    float32, and (uncompressed transfer syntaxes) held by the file after the header. ``remaining``: bytes of
    the file from the PixelData element on (0 when the file has none)."""
    if "Rows" not in ds or "Columns" not in ds:
        return  # not an image: the header pass decides
    rows, cols = _us(ds, "Rows", 0), _us(ds, "Columns", 0)
    frames = _us(ds, "NumberOfFrames", 1)
    samples = _us(ds, "SamplesPerPixel", 1)
    bits = _us(ds, "BitsAllocated", 16)
    if rows <= 0 or cols <= 0 or frames <= 0 or samples <= 0 or bits <= 0:
        raise DicomError(f"declares an image of {rows} x {cols} pixels, {frames} frame(s), {samples} sample(s) "
                         f"of {bits} bits; every size must be positive", path)
    pixels = rows * cols * frames * samples
    declared = math.ceil(pixels * bits / 8)
    sizes = f"{rows} x {cols} pixels x {frames} frame(s) x {bits // 8 or 1} byte(s)"
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    # uncompressed (the decoder checks a compressed stream); no pixel data at all: the pixel pass says so
    if (not ts or ts in _UNCOMPRESSED) and 0 < remaining < declared:
        raise DicomError(f"declares {sizes} = {format_size(declared)} of pixel data, but the file holds only "
                         f"{format_size(remaining)} after its header (truncated or a false header)", path)
    check_memory(4.0 * pixels, f"the image ({sizes})", path, DicomError)
