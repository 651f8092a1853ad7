"""NIfTI / NRRD volumes and volume studies (4D file + sidecar, one 3D file per phase)."""
from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from tests.builders import random_study as make_study
from tnbc_desktop.core.io.study_loader import load_study
from tnbc_desktop.core.io.volumes import read_volume, sidecar_path, write_study_nifti, write_volume
from tnbc_desktop.core.study import Geometry
from tnbc_desktop.errors import GeometryError, InputError, TimingError


def test_write_volume_geometry_matches_nibabel_affine(tmp_path):
    """Independent oracle: nibabel's RAS affine. LPS origin = (-a[0,3], -a[1,3], a[2,3]); column norms of the
    affine's 3x3 block are the (x, y, z) spacings."""
    geometry = Geometry(shape=(5, 7, 9), spacing_mm=(3.0, 0.5, 0.75), origin_mm=(10.0, -20.0, 5.0))
    array = np.arange(5 * 7 * 9, dtype=np.int16).reshape(5, 7, 9)
    path = write_volume(array, geometry, tmp_path / "v.nii.gz")
    img = nib.load(str(path))
    a = img.affine
    assert (-a[0, 3], -a[1, 3], a[2, 3]) == pytest.approx(geometry.origin_mm)
    assert np.linalg.norm(a[:3, :3], axis=0) == pytest.approx([0.75, 0.5, 3.0])
    np.testing.assert_array_equal(np.asarray(img.dataobj).transpose(2, 1, 0), array)  # nibabel is (x, y, z)
    back, g = read_volume(path)
    np.testing.assert_array_equal(back, array)
    assert g.same_grid(geometry)


@pytest.mark.parametrize("name, layout", [("study.nii.gz", "nifti-4d"), ("study.nrrd", "nrrd-4d")])
def test_4d_study_round_trip_with_sidecar(tmp_path, name, layout):
    study = make_study()
    path = write_study_nifti(study, tmp_path / name)
    assert json.loads(sidecar_path(path).read_text())["phase_times_s"] == list(study.phase_times_s)
    loaded = load_study(path)
    assert loaded.layout == layout and loaded.timing_source == "sidecar"
    np.testing.assert_array_equal(loaded.data, study.data)
    assert loaded.phase_times_s == study.phase_times_s
    assert loaded.geometry.same_grid(study.geometry)


def test_4d_without_sidecar_needs_times(tmp_path):
    path = write_study_nifti(make_study(), tmp_path / "s.nii.gz")
    sidecar_path(path).unlink()
    with pytest.raises(TimingError, match="no acquisition times"):
        load_study(path)
    assert load_study(path, phase_times_s=[0, 1, 2, 3]).timing_source == "user"


def test_bad_sidecar_is_a_timing_error(tmp_path):
    path = write_study_nifti(make_study(), tmp_path / "s.nii.gz")
    sidecar_path(path).write_text("{not json")
    with pytest.raises(TimingError, match="JSON"):
        load_study(path)
    sidecar_path(path).write_text('{"phase_times_s": [0, 10]}')
    with pytest.raises(TimingError, match="2 phase time"):
        load_study(path)


def test_per_phase_3d_files(tmp_path):
    study = make_study()
    paths = [write_volume(p, study.geometry, tmp_path / f"phase{i}.nrrd") for i, p in enumerate(study.data)]
    loaded = load_study(paths, phase_times_s=study.phase_times_s)
    assert loaded.layout == "nrrd-per-phase"
    np.testing.assert_array_equal(loaded.data, study.data)
    with pytest.raises(TimingError):
        load_study(paths)


def test_per_phase_files_on_different_grids_are_refused(tmp_path):
    study = make_study()
    paths = [write_volume(p, study.geometry, tmp_path / f"phase{i}.nii") for i, p in enumerate(study.data)]
    other = Geometry(study.geometry.shape, (2.0, 0.7, 0.8), study.geometry.origin_mm, study.geometry.direction)
    write_volume(study.data[2], other, paths[2])
    with pytest.raises(GeometryError, match="grid differs"):
        load_study(paths, phase_times_s=study.phase_times_s)


def test_single_3d_file_and_garbage_are_input_errors(tmp_path):
    study = make_study()
    path = write_volume(study.data[0], study.geometry, tmp_path / "one.nii.gz")
    with pytest.raises(InputError, match="single 3D volume"):
        load_study(path)
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"this is not a nifti file")
    with pytest.raises(InputError, match="cannot be read"):
        load_study(bad)
