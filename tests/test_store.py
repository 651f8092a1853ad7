"""Case history (SQLite): rows round-trip, newest first, identifiers only when allowed, input hashes."""
from __future__ import annotations

import hashlib
import json
import sqlite3

from tests.builders import CANARY, fake_case_result
from tnbc_desktop.core.case import CaseInputs
from tnbc_desktop.core.store import CaseStore, input_hashes, path_sha256
from tnbc_desktop.paths import user_data_dir


def test_record_and_list_without_identifiers(tmp_path):
    store = CaseStore()
    assert store.path.parent == user_data_dir()
    res = fake_case_result()
    first = store.record(res, report_path=tmp_path / "a.pdf")
    second = store.record(res)
    rows = store.list()
    assert [r["id"] for r in rows] == [second, first]
    row = rows[1]
    assert row["bundle_sha256"] == "ab" * 32
    assert row["predictions"]["model3"]["probability"] == 0.35
    m3 = row["predictions"]["model3"]
    assert m3["point_estimate_group"] == "pCR"
    assert m3["group"] == ("uncertain" if m3["ci_low"] < m3["cutoff"] < m3["ci_high"] else "pCR")
    assert row["identifiers"] is None
    assert row["report_path"].endswith("a.pdf")
    raw = b"".join(store.path.read_bytes() for _ in [0])
    assert CANARY.encode() not in raw  # nothing identifying on disk by default
    assert len(store.list(limit=1)) == 1


def test_identifiers_stored_only_when_allowed(tmp_path):
    store = CaseStore(tmp_path / "h.sqlite3")
    store.record(fake_case_result(), store_identifiers=True)
    row = store.list()[0]
    assert row["identifiers"]["patient_id"] == f"{CANARY}-0001"
    with sqlite3.connect(store.path) as con:
        assert con.execute("SELECT COUNT(*) FROM analyses").fetchone()[0] == 1


def test_input_hashes_of_files_and_folder(tmp_path):
    """File hash = hashlib.sha256 of its bytes; folder hash changes when a file is added."""
    study = tmp_path / "study"
    study.mkdir()
    (study / "a.dcm").write_bytes(b"abc")
    mask = tmp_path / "m.nii.gz"
    mask.write_bytes(b"mask-bytes")
    h = input_hashes(CaseInputs(study_source=study, mask_path=mask))
    assert h["mask"] == hashlib.sha256(b"mask-bytes").hexdigest()
    before = h["study"]
    (study / "b.dcm").write_bytes(b"x")
    assert path_sha256(study) != before
    json.dumps(h)


def test_mask_never_saved_is_recorded_as_such_and_report_attached_later(tmp_path):
    import pytest

    from tnbc_desktop.errors import OutputError

    study = tmp_path / "s.nii.gz"
    study.write_bytes(b"study")
    h = input_hashes(CaseInputs(study_source=study, mask_path=""))
    assert h["mask"].startswith("not saved to a file") and h["study"] == hashlib.sha256(b"study").hexdigest()
    store = CaseStore(tmp_path / "h.sqlite3")
    row = store.record(fake_case_result())
    assert store.list()[0]["report_path"] is None
    store.set_report_path(row, tmp_path / "later.pdf")
    assert store.list()[0]["report_path"] == str(tmp_path / "later.pdf")
    with pytest.raises(OutputError, match="no analysis #999"):
        store.set_report_path(999, tmp_path / "x.pdf")
