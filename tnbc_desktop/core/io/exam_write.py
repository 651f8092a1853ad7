"""Write a synthetic whole-exam export around a DCE study, as a scanner or PACS exports one (tests, benches).

Besides the DCE (any :data:`~tnbc_desktop.core.io.dicom_write.LAYOUTS` layout, written by
:func:`~tnbc_desktop.core.io.dicom_write.write_dicom_study` exactly as in a DCE-only folder) the exam holds:
series 1 a 3-plane localizer (one series, 3 images per plane, no LOCALIZER token: GE style), series 2 an axial
T2 (another matrix, TR 4000 / TE 85), series 3 an EPI diffusion series (b 0 and 800 in DiffusionBValue),
series 500 a subtraction (last phase minus pre-contrast, DERIVED\\SECONDARY\\SUBTRACTION) and series 501 its
MIPs (DERIVED\\SECONDARY\\MIP). Every series shares the patient, study and frame of reference of the DCE.
:func:`write_vfa_series` adds a variable-flip-angle T1-mapping set (one series per flip angle);
:func:`relabel_contrast` and :func:`add_contrast_copy` turn a written series into a Dixon / multi-echo /
magnitude-and-phase one (several images per slice position and time point, told apart by ImageType or TE).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from tnbc_desktop.core.io.atomic import write_with_atomic
from tnbc_desktop.core.io.dicom_write import (MR_IMAGE, MRSequence, _BASE_CLOCK_S, _ds_str, _study_common, _tm,
                                              _Writer, write_dicom_study)
from tnbc_desktop.core.study import DCEStudy

DCE_SERIES = {"per-phase": "100+", "single-series": "200", "pre-post": "300,301", "enhanced": "400"}


@dataclass(frozen=True)
class WrittenExam:
    """Where the exam went and the role each extra series number must get."""

    folder: Path
    dce_folder: Path
    roles: tuple[tuple[int, str], ...]  # (series number, expected role) of the non-DCE series


class _ExtraSeries:
    """Writes non-DCE series with the DCE's patient, study and frame of reference."""

    def __init__(self, study: DCEStudy, out_dir: Path):
        self.w = _Writer(study, out_dir)
        self.rng = np.random.default_rng(7)

    def image(self, number: int, index: int, description: str, image_type, position, orientation, spacing,
              shape, clock_s: float, sequence: MRSequence | None, folder: str, pixels=None, extra=None, volume=0):
        w = self.w
        ds = _study_common(w.study, w.study_uid, w.frame_uid)
        ds.Rows, ds.Columns = int(shape[0]), int(shape[1])
        ds.ImageType = list(image_type)
        ds.SeriesInstanceUID = w.uid("exam-series", number)
        ds.SeriesNumber = number
        ds.SeriesDescription = description
        ds.SOPInstanceUID = w.uid("exam-sop", number, index)
        ds.InstanceNumber = index + 1
        ds.ImagePositionPatient = [_ds_str(v) for v in position]
        ds.ImageOrientationPatient = [_ds_str(v) for v in orientation]
        ds.PixelSpacing = [_ds_str(spacing[0]), _ds_str(spacing[1])]
        ds.SliceThickness = _ds_str(3.0)
        ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = _tm(clock_s)
        if sequence is not None:
            sequence.apply(ds)
        if pixels is None:
            pixels = self.rng.integers(0, 4000, size=shape, dtype=np.uint16)
        ds.PixelData = np.ascontiguousarray(pixels, dtype=np.uint16).tobytes()
        if extra is not None:
            extra(ds, volume)
        w.save(ds, MR_IMAGE, w.out_dir / folder / f"IM_{index + 1:04d}.dcm")

    def axial_stack(self, number, description, image_type, n_slices, shape, sequence, clock_s, folder,
                    extra=None, volumes=1):
        g = self.w.study.geometry
        extent = np.asarray(g.shape[1:]) * np.asarray(g.spacing_mm[1:])
        spacing = extent / np.asarray(shape)
        orientation = (*self.w.row_dir, *self.w.col_dir)
        for v in range(volumes):
            for z in range(n_slices):
                pos = self.w.origin + z * (g.shape[0] * g.spacing_mm[0] / n_slices) * self.w.normal
                ds_index = v * n_slices + z
                self.image(number, ds_index, description, image_type, pos, orientation, spacing, shape,
                           clock_s + v, sequence, folder, extra=extra, volume=v)


def _localizer(x: _ExtraSeries) -> None:
    planes = {"axial": (1, 0, 0, 0, 1, 0), "coronal": (1, 0, 0, 0, 0, -1), "sagittal": (0, 1, 0, 0, 0, -1)}
    index = 0
    for name, ori in planes.items():
        normal = np.cross(ori[:3], ori[3:])
        for k in range(3):
            pos = np.asarray(x.w.origin) + (k - 1) * 10.0 * normal
            x.image(1, index, "3-plane loc", ("ORIGINAL", "PRIMARY", "OTHER"), pos, ori, (4.0, 4.0), (32, 32),
                    _BASE_CLOCK_S - 500, MRSequence(30.0, 8.0, 1.6, "GR"), "loc")
            index += 1


def _diffusion_extra(ds, volume: int) -> None:
    ds.DiffusionBValue = float((0, 800)[volume])
    ds.ScanningSequence = ["EP", "SE"]


def _derived(x: _ExtraSeries, study: DCEStudy, all_subtractions: bool) -> list[int]:
    """Subtraction (last phase - phase 0, or every post-contrast phase - phase 0) on the DCE grid, and 3 MIP
    images of the last; returns the series numbers written."""
    w = x.w
    orientation = (*w.row_dir, *w.col_dir)
    posts = range(1, study.data.shape[0]) if all_subtractions else [study.data.shape[0] - 1]
    numbers = []
    for k, p in enumerate(posts):
        sub = np.clip(study.data[p] - study.data[0], 0, None)
        scale = 60000.0 / max(float(sub.max()), 1e-6)
        number = 500 if k == len(posts) - 1 else 502 + k
        for z in range(study.geometry.shape[0]):
            x.image(number, z, f"SUB {p}-pre", ("DERIVED", "SECONDARY", "SUBTRACTION"), w.position(z),
                    orientation, (w.dy, w.dx), study.geometry.shape[1:], _BASE_CLOCK_S + 900 + k, None,
                    f"sub{p}", pixels=np.rint(sub[z] * scale))
        numbers.append(number)
    mip = np.rint(sub.max(axis=0) * scale)
    for k in range(3):
        x.image(501, k, "MIP SUB", ("DERIVED", "SECONDARY", "MIP"), w.position(0), orientation, (w.dy, w.dx),
                study.geometry.shape[1:], _BASE_CLOCK_S + 901, None, "mip", pixels=mip)
    return numbers + [501]


def write_exam(study: DCEStudy, out_dir: str | Path, dce_layout: str = "per-phase",
               sequence: MRSequence | None = None, other_slices: int = 4, all_subtractions: bool = False
               ) -> WrittenExam:
    """Write the whole-exam export of ``study`` under ``out_dir`` (DCE in ``out_dir/dce``). ``other_slices``:
    slices of the T2 and of each diffusion volume; ``all_subtractions``: one subtraction series per
    post-contrast phase (as many scanners export), else only the last."""
    sequence = MRSequence() if sequence is None else sequence
    out = Path(out_dir)
    write_dicom_study(study, out / "dce", layout=dce_layout, sequence=sequence)
    x = _ExtraSeries(study, out)
    _localizer(x)
    x.axial_stack(2, "Ax T2 FS", ("ORIGINAL", "PRIMARY", "OTHER"), other_slices, (20, 16),
                  MRSequence(90.0, 4000.0, 85.0, "SE"), _BASE_CLOCK_S - 400, "t2")
    x.axial_stack(3, "Ax DWI b0 b800", ("ORIGINAL", "PRIMARY", "OTHER"), other_slices, (16, 16),
                  MRSequence(90.0, 5000.0, 70.0, "EP\\SE"), _BASE_CLOCK_S - 300, "dwi", extra=_diffusion_extra,
                  volumes=2)
    derived = _derived(x, study, all_subtractions)
    roles = ((1, "localizer"), (2, "other"), (3, "diffusion")) + tuple((n, "derived") for n in derived)
    return WrittenExam(folder=out, dce_folder=out / "dce", roles=roles)


def write_vfa_series(study: DCEStudy, out_dir: str | Path, flip_angles=(3, 6, 9, 15, 24, 35),
                     repetition_time_ms: float = 4.5, echo_time_ms: float = 2.1, first_number: int = 10) -> list[int]:
    """One single-volume series per flip angle on the DCE grid (a VFA T1 map); returns the series numbers."""
    x = _ExtraSeries(study, Path(out_dir))
    w = x.w
    orientation = (*w.row_dir, *w.col_dir)
    numbers = []
    for k, fa in enumerate(flip_angles):
        number = first_number + k
        for z in range(study.geometry.shape[0]):
            x.image(number, z, f"T1 map FA{fa:g}", ("ORIGINAL", "PRIMARY", "OTHER"), w.position(z), orientation,
                    (w.dy, w.dx), study.geometry.shape[1:], _BASE_CLOCK_S - 200 + 10 * k,
                    MRSequence(float(fa), repetition_time_ms, echo_time_ms, "GR"), f"vfa_{fa:g}")
        numbers.append(number)
    return numbers


def _edit_files(files, fn) -> list[Path]:
    written = []
    for f in files:
        ds = pydicom.dcmread(f)
        target = fn(ds, Path(f))
        write_with_atomic(target, lambda handle, ds=ds: pydicom.dcmwrite(handle, ds, enforce_file_format=True))
        written.append(target)
    return written


def _set_contrast(ds, image_type, echo_time_ms) -> None:
    if image_type is not None:
        ds.ImageType = list(image_type)
    if echo_time_ms is not None:
        ds.EchoTime = _ds_str(float(echo_time_ms))


def relabel_contrast(files, image_type=None, echo_time_ms: float | None = None) -> list[Path]:
    """Give the images in ``files`` another ImageType and/or EchoTime in place (pixels unchanged): e.g. the
    water images of a Dixon series, or the first echo of a multi-echo one."""
    def edit(ds, path):
        _set_contrast(ds, image_type, echo_time_ms)
        return path
    return _edit_files(files, edit)


def add_contrast_copy(files, suffix: str, image_type=None, echo_time_ms: float | None = None,
                      seed: int = 11) -> list[Path]:
    """A second contrast in the same series, as a Dixon or multi-echo scanner exports one: for each image in
    ``files`` a copy ``<name>_<suffix>`` with its own SOPInstanceUID and InstanceNumber, the given ImageType /
    EchoTime and other pixels (same slice position, temporal position and times)."""
    rng = np.random.default_rng(seed)

    def edit(ds, path):
        _set_contrast(ds, image_type, echo_time_ms)
        ds.SOPInstanceUID = generate_uid(entropy_srcs=[ds.SOPInstanceUID, suffix])
        ds.InstanceNumber = int(ds.get("InstanceNumber", 0) or 0) + 100000
        ds.PixelData = rng.integers(0, 4000, size=(ds.Rows, ds.Columns), dtype=np.uint16).tobytes()
        return path.with_name(f"{path.name}_{suffix}")
    return _edit_files(files, edit)
