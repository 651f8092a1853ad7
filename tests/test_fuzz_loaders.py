"""Mutation fuzzing of the DICOM and MAF loaders (hypothesis): byte flips, truncations, insertions, overwrites.

Like pydicom's own fuzz harness, the only accepted failure is the app's error type: every mutated input must
load or raise a :class:`~tnbc_desktop.errors.TnbcError` subclass; any other exception is a bug. Bounded:
``max_examples`` per test and no deadline (shared CI machine), about 30 s in total.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bad_inputs import MAF_HEADER, make_study, maf_line
from tests.builders import apply, mutations
from tnbc_desktop.core.io.mutations import read_mutation_panel
from tnbc_desktop.core.io.study_loader import load_study
from tnbc_desktop.core.study import DCEStudy
from tnbc_desktop.errors import TnbcError

FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def dicom_template(tmp_path_factory) -> Path:
    """A valid 3-phase x 2-slice per-phase DICOM study of 8x8 pixels (6 files of ~1 kB)."""
    from tnbc_desktop.core.io.dicom_write import write_dicom_study

    study, _ = make_study(shape=(2, 8, 8), times=(0.0, 90.0, 180.0))
    root = tmp_path_factory.mktemp("fuzz_dicom")
    write_dicom_study(study, root / "study", layout="per-phase")
    return root / "study"


@pytest.fixture(scope="module")
def single_series_template(tmp_path_factory) -> Path:
    from tnbc_desktop.core.io.dicom_write import write_dicom_study

    study, _ = make_study(shape=(2, 8, 8), times=(0.0, 90.0, 180.0))
    root = tmp_path_factory.mktemp("fuzz_single")
    write_dicom_study(study, root / "study", layout="single-series")
    return root / "study"


def _fuzz_folder(template: Path, work: Path, victim_index: int, edits) -> Path:
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(template, work)
    files = sorted(p for p in work.rglob("*") if p.is_file())
    victim = files[victim_index % len(files)]
    victim.write_bytes(apply(victim.read_bytes(), edits))
    return work


def _only_typed_errors(fn):
    try:
        out = fn()
    except TnbcError:
        return None
    return out


@FUZZ
@given(victim=st.integers(0, 5), edits=mutations(size=1200))
def test_fuzz_dicom_folder(dicom_template, tmp_path, victim, edits):
    out = _only_typed_errors(lambda: load_study(_fuzz_folder(dicom_template, tmp_path / "s", victim, edits)))
    if out is not None:  # a damaged file was accepted: the study must still be whole and finite-shaped
        assert isinstance(out, DCEStudy) and out.data.shape[0] >= 3 and out.data.dtype == np.float32


@FUZZ
@given(victim=st.integers(0, 5), edits=mutations(size=1200))
def test_fuzz_dicom_single_series(single_series_template, tmp_path, victim, edits):
    out = _only_typed_errors(lambda: load_study(_fuzz_folder(single_series_template, tmp_path / "s", victim,
                                                               edits)))
    if out is not None:
        assert isinstance(out, DCEStudy) and out.data.shape[0] >= 3


@FUZZ
@given(edits=mutations(size=1200))
def test_fuzz_dicom_named_file(dicom_template, tmp_path, edits):
    """A file the user names (strict): same rule."""
    src = sorted(dicom_template.rglob("*.dcm"))[0]
    target = tmp_path / "one.dcm"
    target.write_bytes(apply(src.read_bytes(), edits))
    _only_typed_errors(lambda: load_study([target]))


MAF_TEXT = ("#version 2.4\n" + MAF_HEADER + "\n" + maf_line() + "\n" + maf_line("MED23", vaf="0.10", start=200)
            + "\n" + maf_line("TP53", vaf="0.5", start=300, vclass="Nonsense_Mutation") + "\n").encode()


@FUZZ
@given(edits=mutations(size=len(MAF_TEXT)), gz=st.booleans())
def test_fuzz_maf(tmp_path, edits, gz):
    import gzip

    data = apply(MAF_TEXT, edits)
    path = tmp_path / ("p.maf.gz" if gz else "p.maf")
    path.write_bytes(gzip.compress(data) if gz else data)
    panel = _only_typed_errors(lambda: read_mutation_panel(path))
    if panel is not None and panel.vaf_sum is not None:
        assert np.isfinite(panel.vaf_sum) and panel.vaf_sum >= 0


@FUZZ
@given(edits=mutations(size=len(MAF_TEXT)))
def test_fuzz_maf_gzip_bytes(tmp_path, edits):
    """Mutations of the compressed bytes (damaged gzip stream)."""
    import gzip

    path = tmp_path / "p.maf.gz"
    path.write_bytes(apply(gzip.compress(MAF_TEXT), edits))
    _only_typed_errors(lambda: read_mutation_panel(path))
