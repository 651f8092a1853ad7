"""Quick gzip NIfTI writing for synthetic data (many small files in a cohort).

SimpleITK's own NIfTI compression is slow (~0.3 s for a 6 MB volume). Here SimpleITK writes an uncompressed
``.nii`` to a temp file and Python's zlib (level 1, or 0 = stored) compresses it; the result is an ordinary
``.nii.gz`` that every reader accepts. Geometry goes through the app's ``image_from_array`` so it is the same
as ``core.io.volumes.write_volume``; bytes go through the atomic writer.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from tnbc_desktop.core.io.atomic import write_bytes_atomic, write_text_atomic
from tnbc_desktop.core.io.volumes import encode_image, image_from_array, sidecar_path
from tnbc_desktop.core.study import DCEStudy, Geometry


def _write_gz(img: sitk.Image, path: Path, compresslevel: int = 1) -> Path:
    """Uncompressed NIfTI from SimpleITK, gzipped here at ``compresslevel`` (SimpleITK's own gzip is slow)."""
    raw = encode_image(img, path, ".nii", compress=False)
    return write_bytes_atomic(path, gzip.compress(raw, compresslevel=compresslevel, mtime=0))


def write_volume_gz(array: np.ndarray, geometry: Geometry, path: str | Path) -> Path:
    """Write a 3D array [z, y, x] as ``.nii.gz`` (native dtype; bool -> uint8), atomically."""
    return _write_gz(image_from_array(array, geometry), Path(path))


def write_study_gz(study: DCEStudy, path: str | Path, dtype=np.int16, compresslevel: int = 1) -> Path:
    """Write the 4D study as ``.nii.gz`` in ``dtype`` (values must be integers in range, as synthetic data are)
    plus the ``<stem>.json`` sidecar with the phase times (same format as ``write_study_nifti``).
    ``compresslevel`` 0 stores without compression (noisy images shrink only ~30 % and compressing costs most of
    a small cohort patient's time)."""
    path = Path(path)
    info = np.iinfo(dtype)
    data = np.clip(np.rint(study.data), info.min, info.max).astype(dtype)
    img = sitk.JoinSeries([image_from_array(p, study.geometry) for p in data])
    _write_gz(img, path, compresslevel)
    sidecar = {"phase_times_s": [float(t) for t in study.phase_times_s], "timing_source": study.timing_source}
    write_text_atomic(sidecar_path(path), json.dumps(sidecar, indent=2))
    return path
