"""The pixel pass: decode the images of :class:`~tnbc_desktop.core.io.dicom_read.SliceHeader` records once each.

Native images (the header pass found their raw pixels, :class:`~tnbc_desktop.core.io.dicom_read.PixelLocation`)
are read with numpy in a few threads (file reads and numpy casts release the GIL), straight into the caller's
float32 array when one is given; everything else is decoded by pydicom. Both give the same values
(tests/test_speed_equivalence_dicom.py). Problems end in :class:`DicomError` naming the file.
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pydicom

from tnbc_desktop.core.io.dicom_acquisition import dicom_int
from tnbc_desktop.core.io.dicom_header import SliceHeader
from tnbc_desktop.errors import DicomError

_MAX_READ_THREADS = 4


def _decode_pixels(path: str) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
    except Exception as exc:
        raise DicomError(f"cannot be read ({type(exc).__name__}: {exc})", path) from None
    ts_uid = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    ts_name = f"{ts_uid.name} ({ts_uid})" if ts_uid else "unknown transfer syntax"
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise DicomError("has no pixel data (the file is probably truncated)", path)
    try:
        with warnings.catch_warnings():  # e.g. "excess padding removed": harmless, not for the user's console
            warnings.simplefilter("ignore")
            arr = ds.pixel_array
    except Exception as exc:
        raise DicomError(f"pixel data cannot be decoded (transfer syntax {ts_name}): {exc}", path) from None
    n_frames = dicom_int(ds.get("NumberOfFrames"), 1)
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] != n_frames:
        raise DicomError(f"pixel data has shape {arr.shape}, expected {n_frames} greyscale frame(s)", path)
    return arr


def _read_native(h: SliceHeader, dst: np.ndarray) -> bool:
    """Read the raw pixels of ``h`` (``h.pixels`` set) into float32 ``dst`` [rows, columns] with the rescale
    applied exactly as :func:`_rescaled` does; False if the file no longer holds them (then pydicom decides)."""
    loc = h.pixels
    raw = np.empty((h.rows, h.columns), dtype=loc.dtype)
    try:
        with open(h.path, "rb") as handle:
            handle.seek(loc.offset)
            n = handle.readinto(memoryview(raw).cast("B"))
    except (OSError, ValueError):
        return False
    if n != raw.nbytes:
        return False
    # same operations and float32 rounding as raw.astype(float32) * float32(slope) + float32(intercept)
    np.multiply(raw, np.float32(h.slope), out=dst, dtype=np.float32)
    np.add(dst, np.float32(h.intercept), out=dst)
    return True


def _rescaled(img: np.ndarray, h: SliceHeader) -> np.ndarray:
    return img.astype(np.float32) * np.float32(h.slope) + np.float32(h.intercept)


def read_slice_pixels(headers: list[SliceHeader], out: np.ndarray | None = None) -> list[np.ndarray]:
    """float32 [rows, columns] per header with rescale slope/intercept applied; each file is decoded once.

    ``out``: optional float32 array [len(headers), rows, columns] (e.g. one phase of the study) to decode into;
    the returned images are then its slices, so the study is not copied once more. Native images (see
    :class:`PixelLocation`) are read in a few threads; the others are decoded by pydicom in order. The first
    problem in header order raises :class:`DicomError`, as a one-by-one read would.
    """
    n = len(headers)
    for h in headers:
        if h.brief:  # its rescale values and the rest were not read: decoding it would give wrong numbers
            raise DicomError("is a derived image (subtraction, MIP, map) read for the series table only; it is "
                             "never a DCE phase", h.path)
    if out is not None:
        if out.dtype != np.float32 or out.ndim != 3 or out.shape[0] != n:
            raise ValueError(f"out must be float32 [{n}, rows, columns], got {out.dtype} {out.shape}")
        for h in headers:
            if (h.rows, h.columns) != out.shape[1:]:
                raise DicomError(f"image is {h.rows}x{h.columns}, the others are {out.shape[1]}x{out.shape[2]}",
                                 h.path)
    images: list[np.ndarray | None] = [None] * n

    def native(i: int) -> None:
        h = headers[i]
        dst = out[i] if out is not None else np.empty((h.rows, h.columns), np.float32)
        if _read_native(h, dst):
            images[i] = dst

    fast = [i for i, h in enumerate(headers) if h.pixels is not None and h.frame is None]
    workers = min(_MAX_READ_THREADS, os.cpu_count() or 1, len(fast))
    if workers > 1 and len(fast) >= 8:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dicom-read") as pool:
            list(pool.map(native, fast))
    else:
        for i in fast:
            native(i)
    cache: dict[str, np.ndarray] = {}
    for i, h in enumerate(headers):  # pydicom for the rest (and for native reads that failed), in order
        if images[i] is not None:
            continue
        if h.path not in cache:
            cache[h.path] = _decode_pixels(h.path)
        frames = cache[h.path]
        frame = 0 if h.frame is None else h.frame
        if frame >= frames.shape[0]:
            raise DicomError(f"frame {frame + 1} is missing from the pixel data", h.path)
        img = frames[frame]
        if img.shape != (h.rows, h.columns):
            raise DicomError(f"pixel data is {img.shape}, header says {h.rows}x{h.columns}", h.path)
        if out is not None:
            out[i] = _rescaled(img, h)
            images[i] = out[i]
        else:
            images[i] = _rescaled(img, h)
        if h.frame is None:
            cache.pop(h.path, None)
    return images  # type: ignore[return-value]
