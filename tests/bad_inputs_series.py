"""Bad-input corpus, series cases: missing/duplicate slices, orientation, mixed series, timing, volumes."""
from __future__ import annotations

import json
import shutil

import pydicom

from tests.bad_inputs import (TIMES, BadCase, Expect, _assert, _copy_tree, _edit, _load, _phase_files, _study_ok,
                              _write_bytes, make_study)
from tnbc_desktop.core.study import DCEStudy, Geometry
from tnbc_desktop.errors import DicomError, GeometryError, InputError, TimingError


# --------------------------------------------------------------------------------------------------- series
def _series_cases() -> list[BadCase]:
    cases: list[BadCase] = []

    def add(name, build, expect):
        cases.append(BadCase(f"series/{name}", "series", build, expect))

    def missing_slice(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        _phase_files(folder, 1)[3].unlink()
        return _load(folder)
    add("missing-slice-one-phase", missing_slice, Expect(GeometryError, "missing"))

    def missing_slice_all(work, base):  # the same slice missing in every phase: a gap, never a stretched volume
        folder = _copy_tree(base.per_phase, work / "study")
        for p in range(4):
            _phase_files(folder, p)[3].unlink()
        return _load(folder)
    add("missing-slice-all-phases", missing_slice_all, Expect(GeometryError, ("missing", "spacing")))

    def missing_slice_single_series(work, base):
        folder = _copy_tree(base.single_series, work / "study")
        victims = [f for f in sorted(folder.iterdir())
                   if pydicom.dcmread(f, stop_before_pixels=True).TemporalPositionIdentifier == 3]
        victims[2].unlink()
        return _load(folder)
    add("missing-slice-single-series", missing_slice_single_series, Expect(GeometryError, "missing"))

    def duplicate(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        src = _phase_files(folder, 1)[2]
        shutil.copy(src, src.with_name("copy_of_slice.dcm"))
        return _load(folder)
    add("duplicate-position", duplicate, Expect(GeometryError, "duplicate"))

    def duplicate_other_position(work, base):  # slice 2 rewritten with slice 3's position
        folder = _copy_tree(base.per_phase, work / "study")
        pos = pydicom.dcmread(_phase_files(folder, 1)[3]).ImagePositionPatient
        _edit(_phase_files(folder, 1)[2], lambda ds: setattr(ds, "ImagePositionPatient", pos))
        return _load(folder)
    add("duplicate-position-moved", duplicate_other_position, Expect(GeometryError, ("missing", "duplicate")))

    def mixed_orientation(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        _edit(_phase_files(folder, 2)[1], lambda ds: setattr(ds, "ImageOrientationPatient", [1, 0, 0, 0, 0, -1]))
        return _load(folder)
    add("mixed-orientation", mixed_orientation, Expect(GeometryError, "orientation"))

    def degenerate_orientation(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        for f in folder.rglob("*.dcm"):
            _edit(f, lambda ds: setattr(ds, "ImageOrientationPatient", [1, 0, 0, 1, 0, 0]))
        return _load(folder)
    add("degenerate-orientation", degenerate_orientation, Expect(GeometryError, "degenerate"))

    def no_position(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        _edit(_phase_files(folder, 0)[0], lambda ds: delattr(ds, "ImagePositionPatient"))
        return _load(folder)
    add("no-image-position", no_position, Expect(GeometryError, "ImagePositionPatient"))

    def two_studies_same_grid(work, base):
        from tnbc_desktop.core.io.dicom_write import write_dicom_study
        other, _ = make_study(name="OTHER^PATIENT", patient_id="OTHER-1")
        other = DCEStudy(**{**other.__dict__, "data": other.data * 1.5, "source": "other-study"})
        folder = _copy_tree(base.per_phase, work / "study")
        write_dicom_study(other, folder / "other", layout="per-phase")
        return _load(folder)
    add("two-studies-same-grid", two_studies_same_grid, Expect((GeometryError, TimingError, DicomError),
                                                                ("study", "series", "times", "time", "duplicate")))

    def two_series_other_grid(work, base):
        from tnbc_desktop.core.io.dicom_write import write_dicom_study
        other, _ = make_study(shape=(6, 24, 24))
        folder = _copy_tree(base.per_phase, work / "study")
        write_dicom_study(other, folder / "other", layout="per-phase")
        return _load(folder)
    add("two-series-other-matrix", two_series_other_grid, Expect(GeometryError, "matrix"))

    def unequal_matrix_phase(work, base):
        from tnbc_desktop.core.io.dicom_write import write_dicom_study
        small, _ = make_study(shape=(6, 16, 16))
        folder = _copy_tree(base.per_phase, work / "study")
        shutil.rmtree(folder / "phase_03")
        tmp = work / "small"
        write_dicom_study(small, tmp, layout="per-phase")
        shutil.copytree(tmp / "phase_03", folder / "phase_03")
        return _load(folder)
    add("phase-with-unequal-matrix", unequal_matrix_phase, Expect(GeometryError, "matrix"))

    def unequal_spacing_phase(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        for f in _phase_files(folder, 2):
            _edit(f, lambda ds: setattr(ds, "PixelSpacing", [0.8, 0.8]))
        return _load(folder)
    add("phase-with-unequal-pixel-spacing", unequal_spacing_phase, Expect(GeometryError, "spacing"))

    def strip_times(ds):
        for tag in ("SeriesTime", "AcquisitionTime", "ContentTime", "TriggerTime", "TemporalPositionIdentifier",
                    "AcquisitionDateTime"):
            if tag in ds:
                delattr(ds, tag)

    def no_timing(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        for f in folder.rglob("*.dcm"):
            _edit(f, strip_times)
        return _load(folder)
    add("no-timing", no_timing, Expect(TimingError, "no acquisition times"))

    def no_timing_user_times(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        for f in folder.rglob("*.dcm"):
            _edit(f, strip_times)
        return _load(folder, times=TIMES)
    add("no-timing-with-user-times", no_timing_user_times, Expect(check=_study_ok()))

    def no_timing_single(work, base):
        folder = _copy_tree(base.single_series, work / "study")
        for f in folder.iterdir():
            _edit(f, strip_times)
        return _load(folder)
    add("no-timing-single-series", no_timing_single, Expect(TimingError, "orders them in time"))

    def non_monotone(work, base):  # phase 2 acquired (by its time tags) before phase 1
        folder = _copy_tree(base.per_phase, work / "study")
        for f in _phase_files(folder, 2):
            def fn(ds):
                ds.AcquisitionTime = ds.ContentTime = "090100.000000"
            _edit(f, fn)
        return _load(folder)
    add("non-monotone-acquisition-times", non_monotone, Expect(TimingError, "not increasing"))

    def user_times_bad(work, base):
        return _load(base.per_phase, times=(0, 180, 90, 270))
    add("user-times-not-increasing", user_times_bad, Expect(TimingError, "increase"))

    def user_times_count(work, base):
        return _load(base.per_phase, times=(0, 90, 180))
    add("user-times-wrong-count", user_times_count, Expect(TimingError, "phase time"))

    def user_times_nan(work, base):
        return _load(base.per_phase, times=(0, float("nan"), 180, 270))
    add("user-times-nan", user_times_nan, Expect(TimingError, "finite"))

    def user_times_text(work, base):
        return _load(base.per_phase, times=("0", "ninety", "180", "270"))
    add("user-times-text", user_times_text, Expect(TimingError, "numbers"))

    def only_two_phases(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        shutil.rmtree(folder / "phase_02")
        shutil.rmtree(folder / "phase_03")
        return _load(folder)
    add("two-phases-only", only_two_phases, Expect(DicomError, "DCE"))

    def all_derived(work, base):
        folder = _copy_tree(base.per_phase, work / "study")
        for f in folder.rglob("*.dcm"):
            _edit(f, lambda ds: setattr(ds, "ImageType", ["DERIVED", "SECONDARY", "SUBTRACTION"]))
        return _load(folder)
    add("all-derived", all_derived, Expect(DicomError, "DERIVED"))

    def subtraction_extra(work, base):  # an extra SUBTRACTION series is dropped with a note
        folder = _copy_tree(base.per_phase, work / "study")
        shutil.copytree(folder / "phase_03", folder / "sub")
        for f in (folder / "sub").glob("*.dcm"):
            def fn(ds):
                ds.ImageType = ["DERIVED", "SECONDARY", "SUBTRACTION"]
                ds.SeriesInstanceUID = ds.SeriesInstanceUID + ".9"
                ds.SOPInstanceUID = ds.SOPInstanceUID + ".9"
            _edit(f, fn)

        return _load(folder)
    cases.append(BadCase("series/extra-subtraction-series-dropped", "series", subtraction_extra,
                         Expect(check=lambda s, b: (_study_ok()(s, b),
                                                    _assert(any("derived" in n.lower() for n in s.notes))))))

    # volumes
    def nifti_3d_only(work, base):
        from tnbc_desktop.core.io.volumes import write_volume
        p = work / "one.nii.gz"
        write_volume(base.study.data[0], base.study.geometry, p)
        return _load(p)
    add("nifti-3d-as-study", nifti_3d_only, Expect(InputError, "3D"))

    def nifti_sidecar_garbage(work, base):
        p = work / "study.nii.gz"
        shutil.copy(base.nifti, p)
        (work / "study.json").write_text("{not json", encoding="utf-8")
        return _load(p)
    add("nifti-sidecar-not-json", nifti_sidecar_garbage, Expect(TimingError, "sidecar"))

    def nifti_sidecar_decreasing(work, base):
        p = work / "study.nii.gz"
        shutil.copy(base.nifti, p)
        (work / "study.json").write_text(json.dumps({"phase_times_s": [0, 90, 60, 270]}), encoding="utf-8")
        return _load(p)
    add("nifti-sidecar-non-monotone", nifti_sidecar_decreasing, Expect(TimingError, "increase"))

    def nifti_no_sidecar(work, base):
        p = work / "study.nii.gz"
        shutil.copy(base.nifti, p)
        return _load(p)
    add("nifti-no-timing", nifti_no_sidecar, Expect(TimingError, "no acquisition times"))

    def nifti_ok(work, base):
        return _load(base.nifti)
    add("nifti-4d-valid", nifti_ok, Expect(check=_study_ok()))

    def per_phase_grid_mismatch(work, base):
        from tnbc_desktop.core.io.volumes import write_volume
        paths = []
        for k in range(4):
            g = base.study.geometry
            if k == 2:
                g = Geometry(shape=g.shape, spacing_mm=(2.0, 1.1, 1.1), origin_mm=g.origin_mm)
            p = work / f"phase{k}.nii.gz"
            write_volume(base.study.data[k], g, p)
            paths.append(p)
        return _load(paths, times=TIMES)
    add("nifti-per-phase-grid-mismatch", per_phase_grid_mismatch, Expect(GeometryError, "grid"))

    def nifti_garbage(work, base):
        return _load(_write_bytes(work, "study.nii.gz", b"\x1f\x8b" + bytes(100)))
    add("nifti-garbage", nifti_garbage, Expect(InputError, ("cannot be read", "damaged")))

    def nifti_truncated(work, base):
        return _load(_write_bytes(work, "study.nii.gz", base.nifti.read_bytes()[:400]))
    add("nifti-truncated", nifti_truncated, Expect(InputError, "truncated"))

    def mixed_kinds(work, base):
        return _load([base.nifti, _phase_files(base.per_phase, 0)[0]])
    add("nifti-and-dicom-mixed", mixed_kinds, Expect(InputError, "mixes"))

    def missing_path(work, base):
        return _load(work / "nowhere")
    add("path-does-not-exist", missing_path, Expect(InputError, "does not exist"))

    def empty_folder(work, base):
        (work / "empty").mkdir()
        return _load(work / "empty")
    add("empty-folder", empty_folder, Expect(DicomError, "empty"))
    return cases
