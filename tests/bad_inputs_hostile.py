"""Bad-input corpus, hostile cases: impossible geometry and values, special files, resource limits, deep JSON,
unreadable messages, suspicious-but-loadable inputs that must carry a warning.

Special files are made for real (``os.mkfifo``); a loader that opens a FIFO blocks forever, so those actions
run in a thread with a time limit (:func:`_bounded`) and a stuck one is released by opening the FIFO's
writing end. Expected outcomes come from the loaders' contracts (``core.io.sanity``, ``core.io.safe_files``,
``core.io.limits``, ``core.io.volume_headers``, ``core.io.safe_json``) and from how the inputs were built.
"""
from __future__ import annotations

import gzip
import os
import shutil
import struct
import threading
from pathlib import Path

import numpy as np

from tests.bad_inputs import (SHAPE, TIMES, BadCase, Expect, _assert, _copy_tree, _edit, _load, _phase_files,
                              _study_ok, _write_bytes)
from tnbc_desktop.core.study import DCEStudy
from tnbc_desktop.errors import (BundleError, ClinicalInputError, DicomError, GeometryError,
                                 InputError, MaskError, MutationFileError, TimingError)

#: seconds a FIFO case may block before it counts as a hang (a refusal takes milliseconds)
HANG_LIMIT_S = 20.0
DEEP = 10_000


def _bounded(fn, fifo: Path | None = None):
    """Run ``fn`` in a thread; a call still blocked after HANG_LIMIT_S is a hang (AssertionError)."""
    def action():
        box: dict = {}

        def target():
            try:
                box["out"] = fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                box["err"] = exc
        t = threading.Thread(target=target, daemon=True)
        t.start()
        t.join(HANG_LIMIT_S)
        if t.is_alive():
            if fifo is not None:  # give the blocked reader a writer (then EOF) so the thread ends
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass
            raise AssertionError(f"still running after {HANG_LIMIT_S:g} s (hang)")
        if "err" in box:
            raise box["err"]
        return box.get("out")
    return action


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _deep_json() -> str:
    return "[" * DEEP + "]" * DEEP


def _nii(work: Path, array: np.ndarray, base, name="v.nii") -> Path:
    from tnbc_desktop.core.io.volumes import write_volume

    return write_volume(array, base.study.geometry, work / name)


def _patch_nii(path: Path, fmt: str, offset: int, *values) -> None:
    raw = bytearray(path.read_bytes())
    struct.pack_into("<" + fmt, raw, offset, *values)
    path.write_bytes(bytes(raw))


def _gz(path: Path) -> Path:
    out = path.with_name(path.name + ".gz")
    out.write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    return out


# --------------------------------------------------------------------------------------------------- cases
def _special_file_cases(add) -> None:
    def folder_fifo(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        fifo = _fifo(folder / "phase_01" / "zz_pipe")
        return _bounded(_load(folder), fifo)
    add("special/fifo-in-study-folder", folder_fifo, Expect(check=_ignored_one))

    def folder_devzero(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        os.symlink("/dev/null", folder / "phase_02" / "zz_null.dcm")
        return _load(folder)
    add("special/symlink-to-device-in-study-folder", folder_devzero, Expect(check=_ignored_one))

    def named_fifo(work, base):
        fifo = _fifo(work / "slice.dcm")
        return _bounded(_load([fifo]), fifo)
    add("special/fifo-named-as-dicom", named_fifo, Expect(DicomError, "FIFO"))

    def fifo_mask(work, base):
        from tnbc_desktop.core.io.masks import load_mask
        fifo = _fifo(work / "mask.nii.gz")
        return _bounded(lambda: load_mask(fifo, base.study.geometry), fifo)
    add("special/fifo-as-mask", fifo_mask, Expect(MaskError, "FIFO"))

    def fifo_nifti(work, base):
        fifo = _fifo(work / "study.nii.gz")
        return _bounded(_load(fifo), fifo)
    add("special/fifo-as-nifti-study", fifo_nifti, Expect(InputError, "FIFO"))

    def fifo_sidecar(work, base):
        p = work / "study.nii.gz"
        shutil.copy(base.nifti, p)
        fifo = _fifo(work / "study.json")
        return _bounded(_load(p), fifo)
    add("special/fifo-as-sidecar", fifo_sidecar, Expect(TimingError, "FIFO"))

    def fifo_maf(work, base):
        from tnbc_desktop.core.io.mutations import read_mutation_panel
        fifo = _fifo(work / "panel.maf")
        return _bounded(lambda: read_mutation_panel(fifo), fifo)
    add("special/fifo-as-maf", fifo_maf, Expect(MutationFileError, "FIFO"))

    def fifo_manifest(work, base):
        from tnbc_desktop.core.manifest import read_manifest
        fifo = _fifo(work / "manifest.csv")
        return _bounded(lambda: read_manifest(fifo), fifo)
    add("special/fifo-as-manifest", fifo_manifest, Expect(InputError, "FIFO"))

    def fifo_bundle(work, base):
        from tnbc_desktop.core.bundle import load_bundle
        fifo = _fifo(work / "bundle.json")
        return _bounded(lambda: load_bundle(fifo), fifo)
    add("special/fifo-as-bundle", fifo_bundle, Expect(BundleError, "FIFO"))

    def fifo_clinical(work, base):
        from tnbc_desktop.core.io.clinical import read_clinical_json
        fifo = _fifo(work / "pathology.json")
        return _bounded(lambda: read_clinical_json(fifo), fifo)
    add("special/fifo-as-clinical-json", fifo_clinical, Expect(ClinicalInputError, "FIFO"))


def _ignored_one(study, base) -> None:
    _study_ok()(study, base)
    _assert(any("ignored 1 file" in n for n in study.notes), f"special file not noted as ignored: {study.notes}")


def _json_cases(add) -> None:
    def bundle(work, base):
        from tnbc_desktop.core.bundle import load_bundle
        p = _write_bytes(work, "bundle.json", _deep_json().encode())
        return lambda: load_bundle(p)
    add("json/bundle-nested-10000", bundle, Expect(BundleError, "nested"))

    def sidecar(work, base):
        p = work / "study.nii.gz"
        shutil.copy(base.nifti, p)
        _write_bytes(work, "study.json", ('{"phase_times_s": ' + _deep_json() + "}").encode())
        return _load(p)
    add("json/sidecar-nested-10000", sidecar, Expect(TimingError, "nested"))

    def clinical(work, base):
        from tnbc_desktop.core.io.clinical import read_clinical_json
        p = _write_bytes(work, "pathology.json", ('{"ki67_percent": ' + _deep_json() + "}").encode())
        return lambda: read_clinical_json(p)
    add("json/clinical-nested-10000", clinical, Expect(ClinicalInputError, "nested"))

    def session(work, base):
        from tnbc_desktop.gui.session import SessionStore
        store = SessionStore(work)
        _write_bytes(work, store.path.name, _deep_json().encode())
        return lambda: store.load()

    def session_check(out, base):  # a corrupt session file: defaults and a plain message, never a crash
        state, problem = out
        _assert(problem is not None and "nested" in problem, f"problem: {problem!r}")
    add("json/session-nested-10000", session, Expect(check=session_check))

    def recent(work, base):
        from tnbc_desktop.gui.session import RECENT_FILE, SessionStore
        _write_bytes(work, RECENT_FILE, _deep_json().encode())
        return lambda: SessionStore(work).recent_cases()
    add("json/recent-cases-nested-10000", recent, Expect(check=lambda out, b: _assert(out == [], f"{out!r}")))

    def habitat_model(work, base):
        from tnbc_desktop.cli.cohort import read_habitat_model
        p = _write_bytes(work, "habitat.json", _deep_json().encode())
        return lambda: read_habitat_model(str(p))
    add("json/habitat-model-nested-10000", habitat_model, Expect(InputError, "nested"))

    def nan_constant(work, base):
        from tnbc_desktop.core.bundle import load_bundle
        p = _write_bytes(work, "bundle.json", b'{"schema_version": NaN}')
        return lambda: load_bundle(p)
    add("json/bundle-nan-constant", nan_constant, Expect(BundleError, ("NaN", "JSON")))


def _geometry_cases(add) -> None:
    def every_file(name, fn, expect):
        def build(work, base):
            folder = _copy_tree(base.per_phase, work / "study")
            for f in folder.rglob("*.dcm"):
                _edit(f, fn)
            return _load(folder)
        add(f"geometry/{name}", build, expect)

    def one_phase(name, fn, expect, phase=1):
        def build(work, base):
            folder = _copy_tree(base.per_phase, work / "study")
            for f in _phase_files(folder, phase):
                _edit(f, fn)
            return _load(folder)
        add(f"geometry/{name}", build, expect)

    every_file("pixel-spacing-zero", lambda ds: setattr(ds, "PixelSpacing", [0, 0]),
               Expect(GeometryError, "PixelSpacing"))
    every_file("pixel-spacing-negative", lambda ds: setattr(ds, "PixelSpacing", [-0.7, -0.7]),
               Expect(GeometryError, "PixelSpacing"))
    every_file("pixel-spacing-nan", lambda ds: setattr(ds, "PixelSpacing", ["NaN", "NaN"]),
               Expect(GeometryError, "PixelSpacing"))
    every_file("position-infinite", lambda ds: setattr(ds, "ImagePositionPatient", [0, "inf", 0]),
               Expect(GeometryError, "ImagePositionPatient"))
    every_file("orientation-nan", lambda ds: setattr(ds, "ImageOrientationPatient", [1, 0, 0, 0, "NaN", 0]),
               Expect(GeometryError, "ImageOrientationPatient"))
    every_file("rescale-slope-nan", lambda ds: setattr(ds, "RescaleSlope", "NaN"), Expect(DicomError, "Rescale"))
    one_phase("rescale-slope-nan-one-phase", lambda ds: setattr(ds, "RescaleSlope", "NaN"),
              Expect(DicomError, "Rescale"))
    one_phase("rescale-intercept-infinite", lambda ds: setattr(ds, "RescaleIntercept", "-inf"),
              Expect(DicomError, "Rescale"))
    one_phase("rescale-slope-zero", lambda ds: setattr(ds, "RescaleSlope", 0), Expect(DicomError, "RescaleSlope"))

    def rows_60000(ds):
        ds.Rows = ds.Columns = 60000
    every_file("declared-60000x60000", rows_60000, Expect(DicomError, "60000 x 60000"))
    one_phase("declared-larger-than-file", lambda ds: setattr(ds, "Rows", 64), Expect(
        (DicomError, GeometryError), ("holds only", "matrix")))

    def nii_patch(name, patches, expect, gz=True):
        def build(work, base):
            p = _nii(work, base.study.data[0], base)
            for fmt, offset, values in patches:
                _patch_nii(p, fmt, offset, *values)
            paths = [_gz(p) if gz else p]
            for k in (1, 2, 3):
                paths.append(_nii(work, base.study.data[k], base, f"p{k}.nii.gz"))
            return _load(paths, times=TIMES)
        add(f"geometry/{name}", build, expect)

    # NIfTI-1 header fields: dim[3] (int16 at 46), pixdim[1] (float32 at 80)
    nii_patch("nifti-header-exceeds-data", [("h", 46, (SHAPE[0] + 4,))], Expect(InputError, "header"))
    # with qform_code = sform_code = 0 (int16 at 252, 254) the pixdims are the voxel size; ITK reads 0 / NaN as 1
    no_forms = ("hh", 252, (0, 0))
    nii_patch("nifti-pixdim-zero", [no_forms, ("f", 80, (0.0,))], Expect(GeometryError, "spacing"))
    nii_patch("nifti-pixdim-nan", [no_forms, ("f", 80, (float("nan"),))], Expect(GeometryError, "spacing"))
    nii_patch("nifti-pixdim-negative", [no_forms, ("f", 80, (-1.0,))], Expect(GeometryError, "spacing"))
    nii_patch("nifti-sform-singular", [("4f", 280, (0.0, 0.0, 0.0, 0.0))], Expect(GeometryError, "sform"))
    nii_patch("nifti-dim-zero", [("h", 46, (0,))], Expect(InputError, ("positive", "3D")), gz=False)


def _value_cases(add) -> None:
    def nifti_study(name, fn, expect):
        def build(work, base):
            from tnbc_desktop.core.io.volumes import write_study_nifti
            data = fn(base.study.data.copy(), base.tumour)
            write_study_nifti(DCEStudy(**{**base.study.__dict__, "data": data}), work / "study.nii.gz")
            return _load(work / "study.nii.gz")
        add(f"values/{name}", build, expect)

    def phase_nan(d, t):
        d[1] = np.nan
        return d
    nifti_study("nifti-phase-all-nan", phase_nan, Expect(InputError, ("phase 2", "no finite")))

    def phase_flat(d, t):
        d[2] = 100.0
        return d
    nifti_study("nifti-phase-flat", phase_flat, Expect(check=lambda s, b: _assert(
        any("phase 3" in w and "flat" in w for w in getattr(s, "warnings", ())), "no flat-phase warning")))

    def nan_voxels(d, t):
        idx = np.argwhere(t)[:7]
        for z, y, x in idx:
            d[1, z, y, x] = np.nan
        return d

    def nan_kept(study, base):  # SimpleITK's NIfTI reader gives 0 for NaN: the loader must keep NaN
        _assert(int(np.isnan(study.data[1]).sum()) == 7, f"{int(np.isnan(study.data[1]).sum())} NaN kept, not 7")
        _assert(any("phase 2" in w and "NaN" in w for w in getattr(study, "warnings", ())), "no NaN warning")
    nifti_study("nifti-nan-voxels-kept", nan_voxels, Expect(check=nan_kept))

    def huge_times(work, base):
        return _load(base.per_phase, times=(0.0, 1e306, 1e307, 1e308))
    add("values/phase-times-1e308", huge_times, Expect(check=lambda s, b: _assert(
        any("phase times" in w for w in getattr(s, "warnings", ())), "no timing warning")))

    def mask_case(name, make, expect, suffix=".nii.gz"):
        def build(work, base):
            from tnbc_desktop.core.io.masks import load_mask
            from tnbc_desktop.core.io.volumes import write_volume
            p = write_volume(make(base), base.study.geometry, work / f"mask{suffix}")
            return lambda: load_mask(p, base.study.geometry)
        add(f"values/{name}", build, expect)

    def nan_in_tumour(base):
        m = base.tumour.astype(np.float32)
        m[tuple(np.argwhere(base.tumour)[0])] = np.nan
        return m
    mask_case("nifti-mask-nan", nan_in_tumour, Expect(MaskError, "NaN"))
    mask_case("nrrd-mask-nan", nan_in_tumour, Expect(MaskError, "NaN"), suffix=".nrrd")

    def inf_outside(base):
        m = base.tumour.astype(np.float32)
        m[0, 0, 0] = np.inf
        return m
    mask_case("nifti-mask-inf", inf_outside, Expect(MaskError, "infinite"))
    mask_case("whole-image-mask", lambda b: np.ones(SHAPE, np.uint8), Expect(check=lambda m, b: _assert(
        any("covers 100 %" in w for w in getattr(m, "warnings", ())), "no whole-image warning")))


def _message_cases(add) -> None:
    def manifest(name, data: bytes, word):
        def build(work, base):
            from tnbc_desktop.core.manifest import read_manifest
            p = _write_bytes(work, "manifest.csv", data)
            return lambda: read_manifest(p)
        add(f"messages/{name}", build, Expect(InputError, word))

    header = ",".join(f"column_name_{i:05d}" for i in range(6000))  # ~100,000 characters
    manifest("manifest-100k-header", (header + "\n1,2\n").encode(), "6000 columns, first")
    manifest("manifest-utf16", "patient_id,study\nP1,\x1b[31mred\n".encode("utf-16"), "lacks required")
    manifest("manifest-control-characters", b"patient\x1b[2J_id,st\x07udy\nP1,x\n", "lacks required")

    def dicom_description(work, base):  # control characters in a header value that ends up in a message
        folder = _copy_tree(base.per_phase, work / "study")
        for f in _phase_files(folder, 2):
            def fn(ds):
                ds.SeriesDescription = "bad\x1b[31m\r\nname"
                ds.PixelSpacing = [0.8, 0.8]
            _edit(f, fn)
        return _load(folder)
    add("messages/dicom-description-control-characters", dicom_description, Expect(GeometryError, "spacing"))

    def long_study_list(work, base):
        paths = [work / f"{'x' * 200}_{i}.dcm" for i in range(500)]
        return _load(paths)
    add("messages/500-missing-files", long_study_list, Expect(InputError, "does not exist"))


def hostile_cases() -> list[BadCase]:
    cases: list[BadCase] = []

    def add(name, build, expect):
        cases.append(BadCase(name, "hostile-" + name.split("/")[0], build, expect))

    _special_file_cases(add)
    _json_cases(add)
    _geometry_cases(add)
    _value_cases(add)
    _message_cases(add)
    return cases
