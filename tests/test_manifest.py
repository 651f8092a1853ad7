"""Manifest validation lists every problem by row."""
from __future__ import annotations

import pytest

from tnbc_desktop.core.manifest import read_manifest
from tnbc_desktop.errors import InputError


def _write(tmp_path, text):
    p = tmp_path / "manifest.csv"
    p.write_text(text)
    return p


def test_valid_manifest_resolves_relative_paths(tmp_path):
    (tmp_path / "p1").mkdir()
    (tmp_path / "p1" / "mask.nii.gz").write_bytes(b"x")
    m = read_manifest(_write(tmp_path, "patient_id,study,mask,phase_times_s,pcr,dfs_months,dfs_event,split\n"
                                       "P1,p1,p1/mask.nii.gz,\"0;90;180\",1,30.5,0,train\n"))
    row = m.rows[0]
    assert row.study == tmp_path / "p1" and row.mask == tmp_path / "p1" / "mask.nii.gz"
    assert row.phase_times_s == (0.0, 90.0, 180.0) and row.pcr == 1 and row.dfs_months == 30.5
    assert m.by_split("train") == (row,)


def test_every_problem_is_listed_by_row(tmp_path):
    (tmp_path / "p1").mkdir()
    p = _write(tmp_path, "patient_id,study,pcr,split,phase_times_s\n"
                         "P1,p1,maybe,train,\n"
                         "P1,missing_dir,1,test,\"0;90;60\"\n")
    with pytest.raises(InputError) as info:
        read_manifest(p, require=("pcr",))
    msg = "\n".join(info.value.details)
    assert "\n" not in str(info.value) and "row 1: pcr must be 0/1" in str(info.value)
    assert "row 1: pcr must be 0/1" in msg
    assert "row 2: patient_id 'P1' appears twice" in msg
    assert "row 2: study not found: missing_dir" in msg
    assert "row 2: split must be one of" in msg
    assert "row 2: phase_times_s: phase times must increase" in msg


def test_missing_columns_named(tmp_path):
    with pytest.raises(InputError, match="lacks required column.*study"):
        read_manifest(_write(tmp_path, "patient_id,mask\nP1,x\n"))
