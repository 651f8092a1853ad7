"""NRRD files whose extra axis holds the phases: 3D Slicer's MultiVolume (``kinds: list domain domain domain``,
frame times in ``MultiVolume.FrameLabels``) and Sequences ``.seq.nrrd`` (``kinds: domain domain domain list``).

SimpleITK reads both as a 3D image with one component per frame (its metadata ``NRRD_kinds[pixel]`` keeps the
axis kind); :func:`frames_first` turns that into [t, z, y, x]. Frame times come from the MultiVolume header keys,
read from the NRRD text header: ``MultiVolume.FrameLabels`` (comma-separated) in
``MultiVolume.FrameIdentifyingDICOMTagUnits``. [D] Without a unit, milliseconds are assumed (Slicer's
MultiVolume importer labels DCE frames by TriggerTime, in ms). Frames told apart by something other than time
(FlipAngle: a variable-flip-angle set; EchoTime...) are not a DCE study and are refused.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from tnbc_desktop.core.io.safe_files import open_regular
from tnbc_desktop.errors import InputError, TimingError

FRAME_KINDS = ("list", "time")
_TIME_TAGS = ("TriggerTime", "AcquisitionTime", "ContentTime", "FrameTime", "Time", "")
_UNIT_SCALE = {"ms": 1e-3, "msec": 1e-3, "millisecond": 1e-3, "milliseconds": 1e-3, "s": 1.0, "sec": 1.0,
               "second": 1.0, "seconds": 1.0, "min": 60.0, "minute": 60.0, "minutes": 60.0}
_MAX_HEADER_BYTES = 1 << 16


def has_frame_axis(img: sitk.Image) -> bool:
    """The image's components are frames (a list/time axis of an NRRD), not e.g. RGB or vector components."""
    if img.GetNumberOfComponentsPerPixel() < 2 or not img.HasMetaDataKey("NRRD_kinds[pixel]"):
        return False
    return img.GetMetaData("NRRD_kinds[pixel]").strip().lower() in FRAME_KINDS


def frames_first(array: np.ndarray) -> np.ndarray:
    """SimpleITK's [z, y, x, frame] array -> contiguous [frame, z, y, x]."""
    return np.ascontiguousarray(np.moveaxis(array, -1, 0))


def nrrd_header_fields(path: str | Path) -> dict[str, str]:
    """Key/value lines (``key: value`` and ``key:=value``) of an NRRD text header (at most 64 KB read)."""
    with open_regular(path) as handle:
        head = handle.read(_MAX_HEADER_BYTES)
    if not head.startswith(b"NRRD"):
        return {}
    text = head.split(b"\n\n", 1)[0].decode("latin-1")
    fields: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        if line.startswith("#"):
            continue
        for sep in (":=", ": "):
            if sep in line:
                key, value = line.split(sep, 1)
                fields.setdefault(key.strip(), value.strip())
                break
    return fields


def multivolume_times(path: str | Path, n_frames: int) -> tuple[float, ...] | None:
    """Frame times in seconds from the MultiVolume header keys; None when the file has none."""
    fields = nrrd_header_fields(path)
    labels = fields.get("MultiVolume.FrameLabels")
    if labels is None:
        return None
    tag = fields.get("MultiVolume.FrameIdentifyingDICOMTagName", "")
    if tag not in _TIME_TAGS:
        raise InputError(f"is a MultiVolume whose frames are told apart by {tag[:40]}, not by time: not a DCE "
                         "study", path)
    unit = fields.get("MultiVolume.FrameIdentifyingDICOMTagUnits", "").strip().lower() or "ms"
    if unit not in _UNIT_SCALE:
        raise TimingError(f"MultiVolume.FrameIdentifyingDICOMTagUnits '{unit[:20]}' is not a time unit", path)
    try:
        values = [float(v) for v in labels.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise TimingError("MultiVolume.FrameLabels must be comma-separated numbers", path) from None
    if len(values) != n_frames:
        raise TimingError(f"MultiVolume.FrameLabels has {len(values)} value(s) for {n_frames} frames", path)
    return tuple(v * _UNIT_SCALE[unit] for v in values)
