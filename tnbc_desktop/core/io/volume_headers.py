"""NIfTI / NRRD headers checked against their data before SimpleITK reads them (no nibabel needed).

:func:`scan_volume_file` reads the file once, as a stream (gzip decompressed on the fly), and refuses:
a gzip stream that is damaged or truncated (bad CRC); a NIfTI header whose dimensions are not positive or
declare more voxels than the file holds (SimpleITK would pad with garbage); an NRRD whose raw data are shorter
than its ``sizes``; any image too large for the memory budget. It also counts the non-finite voxels of a float
NIfTI: SimpleITK's NIfTI reader turns NaN and infinity into 0 (its NRRD reader keeps them), and
:func:`restore_nonfinite` puts them back so that a mask of NaN is refused and a NaN voxel of a study is
counted as invalid rather than read as a real 0.
"""
from __future__ import annotations

import gzip
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tnbc_desktop.core.io.limits import check_memory
from tnbc_desktop.core.io.safe_files import format_size, open_regular
from tnbc_desktop.errors import GeometryError, InputError

_CHUNK = 1 << 22
# NIfTI datatype code -> numpy kind for float data (the only ones that can hold NaN)
_NIFTI_FLOATS = {16: "f4", 64: "f8"}


@dataclass(frozen=True)
class VolumeScan:
    """What the header pass learnt: float NIfTI data layout (dtype, voxel offset, count) and how many voxels
    hold NaN/infinity (0 when not a float NIfTI)."""

    dtype: str | None = None
    vox_offset: int = 0
    n_voxels: int = 0
    n_nonfinite: int = 0


def _nifti_header(head: bytes):
    """(endian, dims, datatype, bitpix, vox_offset) of a NIfTI-1/2 header, or None when not NIfTI."""
    for order in ("<", ">"):
        if len(head) >= 348 and struct.unpack(order + "i", head[:4])[0] == 348 and head[344:347] in (b"n+1",
                                                                                                    b"ni1"):
            dims = struct.unpack(order + "8h", head[40:56])
            datatype, bitpix = struct.unpack(order + "2h", head[70:74])
            offset = struct.unpack(order + "f", head[108:112])[0]
            _check_nifti1_spacing(head, order)
            return order, dims, datatype, bitpix, offset
        if len(head) >= 540 and struct.unpack(order + "i", head[:4])[0] == 540 and head[4:7] == b"n+2":
            datatype, bitpix = struct.unpack(order + "2h", head[12:16])
            dims = struct.unpack(order + "8q", head[16:80])
            offset = struct.unpack(order + "q", head[168:176])[0]
            return order, dims, datatype, bitpix, offset
    return None


def _check_nifti1_spacing(head: bytes, order: str) -> None:
    """The voxel size a NIfTI-1 header gives, checked where ITK would silently replace it (a pixdim of 0 or
    NaN becomes 1 mm, a negative one its absolute value): with no sform the pixdims are the spacing and must
    be positive and finite; an sform used instead must be a finite, non-singular matrix."""
    pixdim = struct.unpack(order + "8f", head[76:108])
    qform_code, sform_code = struct.unpack(order + "2h", head[252:256])
    if sform_code > 0:
        rows = np.array(struct.unpack(order + "12f", head[280:328]), dtype=float).reshape(3, 4)
        if not np.all(np.isfinite(rows)) or abs(np.linalg.det(rows[:, :3])) < 1e-12:
            raise _HeaderProblem("NIfTI sform matrix is not finite or is singular (a voxel size of 0)")
        return
    ndim = max(min(int(struct.unpack(order + "h", head[40:42])[0]), 3), 0)
    spacing = pixdim[1:1 + ndim]
    if not all(math.isfinite(v) and v > 0 for v in spacing):
        raise _HeaderProblem(f"NIfTI voxel size (pixdim) {' x '.join(f'{v:g}' for v in spacing)} mm is not a "
                             "positive finite spacing")


class _HeaderProblem(ValueError):
    """A header field that makes the image meaningless; becomes a GeometryError naming the file."""


def _check_nifti(p: Path, header, total: int) -> VolumeScan:
    order, dims, datatype, bitpix, offset = header
    ndim = int(dims[0])
    if not 1 <= ndim <= 7:
        raise InputError(f"NIfTI header gives {ndim} dimensions; 1 to 7 are valid", p)
    sizes = [int(d) for d in dims[1:1 + ndim]]
    if any(s <= 0 for s in sizes):
        raise InputError(f"NIfTI header dimensions {' x '.join(map(str, sizes))} are not all positive", p)
    if not math.isfinite(offset) or offset < 0 or bitpix <= 0:
        raise InputError(f"NIfTI header is invalid (voxel offset {offset}, {bitpix} bits per voxel)", p)
    n = math.prod(sizes)
    check_memory(4.0 * n, f"the image ({' x '.join(map(str, sizes))} voxels)", p)
    declared = n * bitpix // 8
    if total >= 0 and int(offset) + declared > total:
        raise InputError(f"NIfTI header declares {' x '.join(map(str, sizes))} voxels = {format_size(declared)}, "
                         f"but the file holds {format_size(max(total - int(offset), 0))} of voxel data "
                         "(header and data disagree)", p)
    kind = _NIFTI_FLOATS.get(int(datatype))
    return VolumeScan(dtype=(order + kind) if kind else None, vox_offset=int(offset), n_voxels=n)


def _check_nrrd(p: Path, head: bytes, total: int) -> None:
    end = head.find(b"\n\n")
    fields = {}
    for line in head[: end if end >= 0 else len(head)].decode("latin-1").splitlines()[1:]:
        if ":" in line and not line.startswith("#"):
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.lstrip("=").strip()
    try:
        sizes = [int(v) for v in fields.get("sizes", "").split()]
    except ValueError:
        raise InputError(f"NRRD 'sizes' field is not a list of integers: {fields.get('sizes', '')[:60]!r}", p) \
            from None
    if not sizes:
        return  # SimpleITK refuses it with its own message
    if any(s <= 0 for s in sizes):
        raise InputError(f"NRRD sizes {' x '.join(map(str, sizes))} are not all positive", p)
    n = math.prod(sizes)
    check_memory(4.0 * n, f"the image ({' x '.join(map(str, sizes))} voxels)", p)
    itemsize = {"uchar": 1, "uint8": 1, "signed char": 1, "int8": 1, "short": 2, "int16": 2, "ushort": 2,
                "uint16": 2, "int": 4, "int32": 4, "uint": 4, "uint32": 4, "float": 4, "double": 8,
                "longlong": 8, "int64": 8, "ulonglong": 8, "uint64": 8}.get(fields.get("type", "").lower())
    if fields.get("encoding", "").lower() == "raw" and "data file" not in fields and "datafile" not in fields \
            and itemsize and total >= 0 and end >= 0 and end + 2 + n * itemsize > total:
        raise InputError(f"NRRD header declares {' x '.join(map(str, sizes))} voxels = "
                         f"{format_size(n * itemsize)}, but the file holds {format_size(total - end - 2)} of data", p)


def scan_volume_file(path: str | Path) -> VolumeScan:
    """Check a NIfTI / NRRD file against its header (see the module docstring); :class:`InputError` naming it."""
    p = Path(path)
    try:
        with open_regular(p) as handle:
            gz = handle.read(2) == b"\x1f\x8b"
            handle.seek(0)
            reader = gzip.GzipFile(fileobj=handle) if gz else handle
            head = reader.read(65536)
            try:
                nifti = _nifti_header(head)
            except _HeaderProblem as exc:
                raise GeometryError(str(exc), p) from None
            nrrd = head.startswith(b"NRRD")
            if nrrd:
                _check_nrrd(p, head, -1)
            scan = _check_nifti(p, nifti, -1) if nifti else VolumeScan()
            total, nonfinite = len(head), 0
            if scan.dtype:
                step = np.dtype(scan.dtype).itemsize
                left = scan.n_voxels * step  # voxel bytes not yet examined
                carry = head[scan.vox_offset:]
                skip = max(scan.vox_offset - len(head), 0)
                while skip:
                    got = len(reader.read(min(skip, _CHUNK)))
                    if not got:
                        break
                    skip, total = skip - got, total + got
                while left > 0:
                    usable = min(len(carry) // step * step, left)
                    if usable:
                        vals = np.frombuffer(carry, dtype=scan.dtype, count=usable // step)
                        nonfinite += int(np.count_nonzero(~np.isfinite(vals)))
                        carry, left = carry[usable:], left - usable
                    block = reader.read(_CHUNK)
                    if not block:
                        break
                    total += len(block)
                    carry += block
            while True:  # to the end: a gzip stream's CRC is checked there
                block = reader.read(_CHUNK)
                if not block:
                    break
                total += len(block)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"is damaged or truncated ({type(exc).__name__}: {exc})", p) from None
    if nifti:
        _check_nifti(p, nifti, total)
    if nrrd:
        _check_nrrd(p, head, total)
    return VolumeScan(scan.dtype, scan.vox_offset, scan.n_voxels, nonfinite)


def restore_nonfinite(array: np.ndarray, path: str | Path, scan: VolumeScan) -> np.ndarray:
    """Put back the NaN/inf voxels SimpleITK's NIfTI reader set to 0 (the file is read a second time, only
    when the scan found some). ``array`` is SimpleITK's array of the file ([t,] z, y, x: the file's order)."""
    if not scan.n_nonfinite or scan.dtype is None or array.size != scan.n_voxels:
        return array
    out = array.astype(np.float32 if array.dtype.itemsize <= 4 else np.float64, copy=True)
    flat = out.reshape(-1)
    step = np.dtype(scan.dtype).itemsize
    with open_regular(path) as handle:
        gz = handle.read(2) == b"\x1f\x8b"
        handle.seek(0)
        reader = gzip.GzipFile(fileobj=handle) if gz else handle
        reader.read(scan.vox_offset)
        done = 0
        while done < scan.n_voxels:
            raw = reader.read(min(_CHUNK, (scan.n_voxels - done) * step))
            if not raw:
                break
            vals = np.frombuffer(raw[: len(raw) // step * step], dtype=scan.dtype)
            bad = ~np.isfinite(vals)
            flat[done:done + vals.size][bad] = vals[bad]
            done += vals.size
    return out
