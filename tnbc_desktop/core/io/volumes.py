"""NIfTI / NRRD volumes through SimpleITK: read 3D/4D images with their geometry, write them atomically.

SimpleITK gives origin and direction in LPS (it converts NIfTI's RAS), so :class:`Geometry` is filled directly:
``spacing_mm`` (z, y, x) = reversed ITK spacing, arrays [z, y, x] (3D) or [t, z, y, x] (4D).
A 4D study may carry a JSON sidecar ``<stem>.json`` with ``{"phase_times_s": [...]}``. An NRRD whose extra axis
is a list/time axis (3D Slicer's MultiVolume or Sequences file) is read as [t, z, y, x] (:mod:`nrrd_frames`).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from tnbc_desktop.core.io.atomic import write_bytes_atomic, write_text_atomic
from tnbc_desktop.core.io.nrrd_frames import frames_first, has_frame_axis
from tnbc_desktop.core.io.safe_json import read_json
from tnbc_desktop.core.io.sanity import check_geometry
from tnbc_desktop.core.io.volume_headers import VolumeScan, restore_nonfinite, scan_volume_file
from tnbc_desktop.core.study import DCEStudy, Geometry
from tnbc_desktop.errors import InputError, OutputError, TimingError

VOLUME_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")


def is_volume_path(path: str | Path) -> bool:
    name = str(path).lower()
    return name.endswith(VOLUME_SUFFIXES)


def volume_stem(path: str | Path) -> str:
    """'study.nii.gz' -> 'study'."""
    name = Path(path).name
    for suffix in VOLUME_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def sidecar_path(path: str | Path) -> Path:
    return Path(path).with_name(volume_stem(path) + ".json")


def read_image(path: str | Path) -> sitk.Image:
    """SimpleITK image or :class:`InputError` naming the file."""
    return _read_image_scanned(path)[0]


def _read_image_scanned(path: str | Path) -> tuple[sitk.Image, VolumeScan]:
    """The image and what :func:`scan_volume_file` found. SimpleITK reads a truncated .gz or .nii without
    error (the missing voxels are left as garbage), so the file is first checked against its header."""
    p = Path(path)
    if not p.exists():
        raise InputError("does not exist", p)
    if p.is_dir():
        raise InputError("is a folder; expected a NIfTI or NRRD file", p)
    scan = scan_volume_file(p)
    try:
        return sitk.ReadImage(str(p)), scan
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown reason"
        raise InputError(f"cannot be read as a NIfTI/NRRD image ({first[:200]})", p) from None


def image_geometry(img: sitk.Image, source: str | Path) -> Geometry:
    """Geometry of the first three axes of a 3D or 4D image."""
    dim = img.GetDimension()
    if dim not in (3, 4):
        raise InputError(f"is a {dim}D image; expected 3D (one phase or a mask) or 4D (all phases)", source)
    size, spacing, origin = img.GetSize(), img.GetSpacing(), img.GetOrigin()
    d = np.asarray(img.GetDirection(), dtype=float).reshape(dim, dim)[:3, :3]
    return Geometry(shape=(int(size[2]), int(size[1]), int(size[0])),
                    spacing_mm=(round(float(spacing[2]), 6), round(float(spacing[1]), 6), round(float(spacing[0]), 6)),
                    origin_mm=(float(origin[0]), float(origin[1]), float(origin[2])),
                    direction=tuple(float(v) for v in d.ravel()))


def read_volume(path: str | Path) -> tuple[np.ndarray, Geometry]:
    """Array ([z, y, x] or [t, z, y, x], native dtype) and its 3D geometry."""
    img, scan = _read_image_scanned(path)
    if has_frame_axis(img):
        geometry = check_geometry(image_geometry(img, path), path)
        return frames_first(restore_nonfinite(sitk.GetArrayFromImage(img), path, scan)), geometry
    if img.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"has {img.GetNumberOfComponentsPerPixel()} components per voxel; expected a scalar "
                         "image", path)
    geometry = check_geometry(image_geometry(img, path), path)
    return restore_nonfinite(sitk.GetArrayFromImage(img), path, scan), geometry


def image_from_array(array: np.ndarray, geometry: Geometry) -> sitk.Image:
    """3D SimpleITK image from an array [z, y, x] on ``geometry``."""
    arr = np.asarray(array)
    if arr.ndim != 3 or tuple(arr.shape) != tuple(geometry.shape):
        raise ValueError(f"array shape {arr.shape} does not match geometry shape {geometry.shape}")
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(tuple(float(s) for s in geometry.spacing_mm[::-1]))
    img.SetOrigin(tuple(float(v) for v in geometry.origin_mm))
    img.SetDirection(tuple(float(v) for v in geometry.direction))
    return img


def _write_image_atomic(img: sitk.Image, path: Path) -> Path:
    """SimpleITK writes to a temp file in the target folder; its bytes then go through the atomic writer."""
    suffix = next((s for s in VOLUME_SUFFIXES if path.name.lower().endswith(s)), None)
    if suffix is None or suffix in (".nhdr", ".mhd"):
        raise OutputError("unsupported volume format; use .nii, .nii.gz, .nrrd or .mha", path)
    return write_bytes_atomic(path, encode_image(img, path, suffix, compress=True))


def encode_image(img: sitk.Image, path: Path, suffix: str, compress: bool) -> bytes:
    """The file bytes SimpleITK writes for ``img`` in format ``suffix`` (via a temp file beside ``path``;
    errors name ``path``)."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tnbc-vol-", suffix=suffix, dir=folder)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write here: {exc.strerror}", path) from None
    try:
        sitk.WriteImage(img, tmp, compress)
        return Path(tmp).read_bytes()
    except RuntimeError as exc:
        raise OutputError(f"could not be written: {str(exc).strip()[-200:]}", path) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_volume(array: np.ndarray, geometry: Geometry, path: str | Path) -> Path:
    """Write a 3D array [z, y, x] on ``geometry`` as NIfTI/NRRD/MHA (by suffix), atomically."""
    return _write_image_atomic(image_from_array(array, geometry), Path(path))


def write_study_nifti(study: DCEStudy, path: str | Path) -> Path:
    """Write the 4D study (float32 [t, z, y, x]) to ``path`` and ``<stem>.json`` with the phase times."""
    path = Path(path)
    phases = [image_from_array(np.asarray(p, dtype=np.float32), study.geometry) for p in study.data]
    img = sitk.JoinSeries(phases)  # 4th axis spacing 1, origin 0
    _write_image_atomic(img, path)
    sidecar = {"phase_times_s": [float(t) for t in study.phase_times_s], "timing_source": study.timing_source}
    write_text_atomic(sidecar_path(path), json.dumps(sidecar, indent=2))
    return path


def read_sidecar_times(path: str | Path) -> tuple[float, ...] | None:
    """Phase times from ``<stem>.json`` beside a volume, None when there is no sidecar."""
    side = sidecar_path(path)
    if not side.exists():
        return None
    payload = read_json(side, TimingError, what="sidecar")
    try:
        times = payload["phase_times_s"]
        return tuple(float(t) for t in times)
    except (KeyError, TypeError, ValueError):
        raise TimingError('sidecar must hold {"phase_times_s": [seconds, ...]} with numbers', side) from None
