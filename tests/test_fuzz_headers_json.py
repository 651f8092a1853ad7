"""Mutation fuzzing of the NIfTI / NRRD header, manifest, model-bundle and JSON-sidecar readers (hypothesis).

Same rule as ``test_fuzz_loaders.py``: every mutated input loads or raises a
:class:`~tnbc_desktop.errors.TnbcError` subclass; any other exception (RecursionError, MemoryError,
struct.error, a raw SimpleITK RuntimeError...) is a bug. Each test runs under a memory cap (the soft
``RLIMIT_DATA`` of this process lowered to its current data size + 1 GB, restored afterwards: a header that
makes a loader allocate gigabytes fails the test with MemoryError) and a hang guard (SIGALRM after
:data:`HANG_GUARD_S` per example; a guard against endless loops, not a speed assertion).
"""
from __future__ import annotations

import contextlib
import json
import resource
import signal
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bad_inputs import make_study
from tests.builders import apply, make_test_bundle, mutations
from tnbc_desktop.errors import TnbcError

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
HANG_GUARD_S = 60
EXTRA_BYTES = 1024**3


class Hang(Exception):
    pass


def _data_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


@pytest.fixture(autouse=True)
def memory_cap():
    """Lower this process's soft data limit to what it uses now + 1 GB for the test, then restore it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    cap = _data_bytes() + EXTRA_BYTES
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    try:
        yield cap
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


@contextlib.contextmanager
def hang_guard():
    def alarm(signum, frame):
        raise Hang(f"still running after {HANG_GUARD_S} s")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(HANG_GUARD_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def only_typed_errors(fn):
    with hang_guard():
        try:
            return fn()
        except TnbcError as err:
            text = str(err)
            assert "\n" not in text and text.isprintable() and len(text) <= 358, text[:200]
            return None


# --------------------------------------------------------------------------------------------------- volumes
@pytest.fixture(scope="module")
def volume_files(tmp_path_factory):
    """A small 3D float32 NIfTI (plain), its gzip form, and an NRRD: (path, bytes) each."""
    from tnbc_desktop.core.io.volumes import write_volume

    study, tumour = make_study(shape=(3, 6, 6))
    root = tmp_path_factory.mktemp("fuzz_vol")
    nii = write_volume(study.data[0], study.geometry, root / "v.nii")
    nrrd = write_volume(tumour.astype(np.uint8), study.geometry, root / "m.nrrd")
    return {"nii": nii.read_bytes(), "nrrd": nrrd.read_bytes(), "geometry": study.geometry}


def _check_volume(out):
    if out is not None:
        arr, geometry = out
        assert arr.ndim in (3, 4) and all(s > 0 for s in geometry.spacing_mm)
        assert all(np.isfinite(geometry.origin_mm))


@FUZZ
@given(edits=mutations(size=352), gz=st.booleans())
def test_fuzz_nifti_header(volume_files, tmp_path, edits, gz):
    """Mutations inside the 348-byte header and the first voxels (dimensions, datatype, offsets, forms)."""
    import gzip

    from tnbc_desktop.core.io.volumes import read_volume

    data = apply(volume_files["nii"], edits)
    path = tmp_path / ("v.nii.gz" if gz else "v.nii")
    path.write_bytes(gzip.compress(data) if gz else data)
    _check_volume(only_typed_errors(lambda: read_volume(path)))


@FUZZ
@given(data=st.data(), field=st.sampled_from([(40, "h", 8), (70, "h", 2), (76, "f", 8), (108, "f", 3),
                                              (252, "h", 2), (280, "f", 12)]))
def test_fuzz_nifti_header_fields(volume_files, tmp_path, data, field):
    """Typed values written into the fields SimpleITK trusts (dim, datatype/bitpix, pixdim, vox_offset and
    scaling, qform/sform codes, sform rows): NaN, 0, negative and huge numbers included."""
    from tnbc_desktop.core.io.volumes import read_volume

    offset, kind, n = field
    element = st.integers(-2**15, 2**15 - 1) if kind == "h" else st.floats(width=32)
    vals = data.draw(st.lists(element, min_size=n, max_size=n))
    raw = bytearray(volume_files["nii"])
    struct.pack_into(f"<{n}{kind}", raw, offset, *vals)
    path = tmp_path / "v.nii"
    path.write_bytes(bytes(raw))
    _check_volume(only_typed_errors(lambda: read_volume(path)))


@FUZZ
@given(edits=mutations(size=300))
def test_fuzz_nrrd_header_as_mask(volume_files, tmp_path, edits):
    from tnbc_desktop.core.io.masks import load_mask

    path = tmp_path / "m.nrrd"
    path.write_bytes(apply(volume_files["nrrd"], edits))
    out = only_typed_errors(lambda: load_mask(path, volume_files["geometry"]))
    if out is not None:
        assert out.array.dtype == bool and out.array.shape == tuple(volume_files["geometry"].shape)


@FUZZ
@given(sizes=st.lists(st.integers(-5, 2**40), min_size=1, max_size=5),
       kind=st.sampled_from(["float", "uchar", "short", "double", "bogus"]),
       encoding=st.sampled_from(["raw", "gzip", "ascii"]))
def test_fuzz_nrrd_header_fields(volume_files, tmp_path, sizes, kind, encoding):
    from tnbc_desktop.core.io.volumes import read_volume

    header = (f"NRRD0004\ntype: {kind}\ndimension: {len(sizes)}\nsizes: {' '.join(map(str, sizes))}\n"
              f"encoding: {encoding}\n\n").encode()
    path = tmp_path / "v.nrrd"
    path.write_bytes(header + bytes(400))
    _check_volume(only_typed_errors(lambda: read_volume(path)))


# --------------------------------------------------------------------------------------------------- text/JSON
MANIFEST = ("patient_id,study,mask,phase_times_s,ki67_percent,lvi,pcr,split\n"
            'P1,p1,p1/mask.nii.gz,"0;90;180",35,absent,1,train\n'
            'P2,p2,,"0,60,120",,present,0,validation\n').encode()


@FUZZ
@given(edits=mutations(size=len(MANIFEST)), utf16=st.booleans())
def test_fuzz_manifest(tmp_path, edits, utf16):
    from tnbc_desktop.core.manifest import read_manifest

    data = apply(MANIFEST, edits)
    path = tmp_path / "manifest.csv"
    path.write_bytes(data.decode("latin-1").encode("utf-16") if utf16 else data)
    out = only_typed_errors(lambda: read_manifest(path, check_files=False))
    if out is not None:
        assert all(r.patient_id for r in out.rows)


@pytest.fixture(scope="module")
def bundle_text(tmp_path_factory) -> bytes:
    return make_test_bundle(tmp_path_factory.mktemp("fuzz_bundle") / "b.json").read_bytes()


@FUZZ
@given(edits=mutations(size=4000))
def test_fuzz_bundle_bytes(bundle_text, tmp_path, edits):
    from tnbc_desktop.core.bundle import load_bundle

    path = tmp_path / "b.json"
    path.write_bytes(apply(bundle_text, edits))
    only_typed_errors(lambda: load_bundle(path))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20)


def _paths(doc, prefix=()):
    """Every (key path) inside a JSON document, for replacing one subtree."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


@FUZZ
@given(data=st.data())
def test_fuzz_bundle_resealed(bundle_text, tmp_path, data):
    """One subtree of a valid bundle replaced by arbitrary JSON and the content hash recomputed, so the
    schema and consistency checks (not the hash) must refuse it or accept a still-valid bundle."""
    from tnbc_desktop.core.bundle import content_sha256, load_bundle

    doc = json.loads(bundle_text)
    paths = [p for p in _paths(doc) if p and p[0] != "sha256"]
    where = data.draw(st.sampled_from(paths))
    value = data.draw(JSON_VALUES)
    node = doc
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    doc["sha256"] = content_sha256(doc)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc))
    only_typed_errors(lambda: load_bundle(path))


@FUZZ
@given(payload=st.one_of(JSON_VALUES.map(json.dumps), st.text(max_size=200)),
       depth=st.sampled_from([0, 1, 63, 64, 65, 3000]))
def test_fuzz_json_sidecars(tmp_path, payload, depth):
    """The small JSON files next to the inputs: the 4D study's phase-time sidecar and the pathology JSON."""
    from tnbc_desktop.core.io.clinical import read_clinical_json
    from tnbc_desktop.core.io.volumes import read_sidecar_times

    text = "[" * depth + payload + "]" * depth
    (tmp_path / "s.json").write_text(text, encoding="utf-8")
    times = only_typed_errors(lambda: read_sidecar_times(tmp_path / "s.nii.gz"))
    if times is not None:
        assert all(isinstance(t, float) for t in times)
    (tmp_path / "c.json").write_text(text, encoding="utf-8")
    only_typed_errors(lambda: read_clinical_json(tmp_path / "c.json"))
