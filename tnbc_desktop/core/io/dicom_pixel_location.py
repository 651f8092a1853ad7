"""Where a native image keeps its pixels, found by the header pass so the pixel pass reads just those bytes.

Only for an uncompressed, little-endian, single-frame greyscale image whose raw bytes are exactly what pydicom's
``pixel_array`` gives (:func:`native_dtype`); anything else is decoded by pydicom in the pixel pass. Used by both
header routes: pydicom's (the handle it leaves at the PixelData element) and the fast one
(:mod:`tnbc_desktop.core.io.dicom_raw_header`, the element's place from its walk).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from tnbc_desktop.core.io.dicom_acquisition import dicom_float

# Transfer syntaxes whose pixel data are stored raw, little endian, at a fixed place in the file
NATIVE_LITTLE_ENDIAN = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010) little endian


@dataclass(frozen=True)
class PixelLocation:
    """Where a native (uncompressed, little-endian, single-frame, greyscale) image keeps its pixels: byte
    ``offset`` of the PixelData value in the file and the numpy ``dtype`` of one pixel ('<u2', '<i2', 'u1',
    'i1'). Only set when reading those bytes gives exactly what pydicom's ``pixel_array`` gives."""

    offset: int
    dtype: str


def raw_us(ds, tag: int) -> int | None:
    """A single US value of a little-endian dataset read from the element's bytes, skipping pydicom's value
    conversion (~25 us per element); None if absent / not VM 1."""
    elem = ds.get_item(tag)
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        return struct.unpack("<H", value)[0] if len(value) == 2 else None
    return value if isinstance(value, int) else None


def native_dtype(ds) -> str | None:
    """numpy dtype of the raw pixels when pydicom's ``pixel_array`` would return them unchanged, else None.

    Only plain greyscale: 1 sample per pixel, MONOCHROME1/2 (pydicom does not invert MONOCHROME1), 8 or 16
    bits allocated AND stored (fewer stored bits need pydicom's masking / sign extension), one frame."""
    try:
        bits = raw_us(ds, 0x00280100)  # BitsAllocated
        frames = dicom_float(ds.get("NumberOfFrames"), 1)
        if (raw_us(ds, 0x00280002) != 1 or bits not in (8, 16) or raw_us(ds, 0x00280101) != bits
                or str(ds.get("PhotometricInterpretation", "")).strip() not in ("MONOCHROME1", "MONOCHROME2")
                or frames is None or int(round(frames)) != 1 or "PerFrameFunctionalGroupsSequence" in ds
                or str(ds.get("SOPClassUID", "")) == ENHANCED_MR):
            return None
        signed = {0: False, 1: True}[raw_us(ds, 0x00280103)]  # PixelRepresentation
    except (TypeError, ValueError, KeyError):
        return None
    return ("<" if bits == 16 else "") + ("i" if signed else "u") + str(bits // 8)


def pixel_location_at(ds, head: bytes, start: int, file_size: int) -> PixelLocation | None:
    """The :class:`PixelLocation` of ``ds`` whose pixel element starts at byte ``start`` of a file of
    ``file_size`` bytes, ``head`` being that element's first 8 (implicit VR) or 12 (explicit VR) bytes.

    Checked: transfer syntax implicit / explicit VR little endian and the dataset really encoded so; the
    element is (7FE0,0010) with VR OB/OW (explicit) and a defined length of exactly rows x columns x bytes;
    the file holds all of it (a short file goes to pydicom, which names the problem)."""
    try:
        ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
        if ts not in NATIVE_LITTLE_ENDIAN:
            return None
        implicit = ts == NATIVE_LITTLE_ENDIAN[0]
        if tuple(getattr(ds, "original_encoding", (None, None))) != (implicit, True):
            return None
        dtype = native_dtype(ds)
        if dtype is None:
            return None
        expected = int(ds.Rows) * int(ds.Columns) * np.dtype(dtype).itemsize
        if len(head) != (8 if implicit else 12) or head[:4] != _PIXEL_DATA_TAG:
            return None
        if implicit:
            (length,) = struct.unpack("<I", head[4:8])
        else:
            if head[4:6] not in (b"OB", b"OW"):
                return None
            (length,) = struct.unpack("<I", head[8:12])
        offset = start + len(head)
        if expected <= 0 or length != expected or file_size < offset + expected:
            return None
        return PixelLocation(offset=offset, dtype=dtype)
    except Exception:  # noqa: BLE001 - anything unusual: pydicom decodes this file in the pixel pass
        return None


def native_pixel_location(ds, handle, file_size: int) -> PixelLocation | None:
    """:func:`pixel_location_at` for ``ds`` just read with ``stop_before_pixels`` from ``handle``, which pydicom
    leaves at the start of the PixelData element."""
    implicit = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "")) == NATIVE_LITTLE_ENDIAN[0]
    start = handle.tell()
    return pixel_location_at(ds, handle.read(8 if implicit else 12), start, file_size)
