"""Model bundle: schema, SHA-256 identity, refusal of tampered / non-JSON / unknown-feature / oversized files."""
from __future__ import annotations

import hashlib
import json
import pickle

import pytest

from tnbc_desktop.cli import main as cli_main
from tnbc_desktop.core.bundle import (DEMO_NOTICE, content_sha256, is_known_feature_name,
                                      load_bundle, save_bundle)
from tnbc_desktop.errors import BundleError
from tests.builders import M1, M2, example_bundle_dict







@pytest.fixture
def bundle_path(tmp_path):
    return save_bundle(example_bundle_dict(), tmp_path / "b.json")


def test_roundtrip_and_identity(bundle_path):
    """The stored sha256 is the SHA-256 of the canonical JSON (independently recomputed here with hashlib)."""
    b = load_bundle(bundle_path)
    doc = json.loads(bundle_path.read_text())
    body = {k: v for k, v in doc.items() if k != "sha256"}
    expect = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                            .encode()).hexdigest()
    assert b.sha256 == doc["sha256"] == expect == content_sha256(doc)
    assert b.file_sha256 == hashlib.sha256(bundle_path.read_bytes()).hexdigest()
    assert set(b.models) == {"model1", "model2", "model3", "prm", "gprm"}
    assert b.is_demo and b.card["notice"] == DEMO_NOTICE
    assert b.required_features() == M1 + M2
    assert b.habitat_model["feature_order"] == ["WIS", "WOS", "SER", "PE"]


def _rewrite(path, mutate, rehash=False):
    doc = json.loads(path.read_text())
    mutate(doc)
    if rehash:
        doc["sha256"] = content_sha256(doc)
    path.write_text(json.dumps(doc))
    return path


def test_tampered_coefficient_refused(bundle_path):
    _rewrite(bundle_path, lambda d: d["models"]["model3"]["coefficients"].__setitem__(0, 0.71))
    with pytest.raises(BundleError, match="hash mismatch"):
        load_bundle(bundle_path)


def test_wrong_schema_refused(bundle_path):
    _rewrite(bundle_path, lambda d: d["models"].pop("gprm"), rehash=True)
    with pytest.raises(BundleError, match="schema"):
        load_bundle(bundle_path)


def test_wrong_schema_version_refused(bundle_path):
    _rewrite(bundle_path, lambda d: d.__setitem__("schema_version", "9.9"), rehash=True)
    with pytest.raises(BundleError, match="schema version"):
        load_bundle(bundle_path)


def test_unknown_feature_name_refused(bundle_path):
    _rewrite(bundle_path, lambda d: d["models"]["model1"]["features"].__setitem__(0, "tumour_magic_score"),
             rehash=True)
    with pytest.raises(BundleError, match="tumour_magic_score"):
        load_bundle(bundle_path)


def test_length_mismatch_refused(bundle_path):
    _rewrite(bundle_path, lambda d: d["models"]["model2"]["coefficients"].append(1.0), rehash=True)
    with pytest.raises(BundleError, match="coefficients"):
        load_bundle(bundle_path)


def test_not_json_refused(tmp_path):
    p = tmp_path / "b.json"
    p.write_bytes(b"\x00\x01 not json")
    with pytest.raises(BundleError, match="not a valid JSON"):
        load_bundle(p)


class _Boom:
    """Unpickling this object would create a marker file (proof that pickle is never used)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("suffix", [".pkl", ".json"])
def test_pickle_never_opened(tmp_path, suffix):
    marker = tmp_path / "UNPICKLED"
    p = tmp_path / f"model{suffix}"
    p.write_bytes(pickle.dumps(_Boom(str(marker))))
    with pytest.raises(BundleError):
        load_bundle(p)
    assert not marker.exists()


def test_size_limit(bundle_path):
    with pytest.raises(BundleError, match="limit"):
        load_bundle(bundle_path, max_bytes=100)


def test_save_refuses_invalid(tmp_path):
    d = example_bundle_dict()
    d["models"]["model1"]["features"][0] = "bogus"
    with pytest.raises(BundleError):
        save_bundle(d, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("name,ok", [
    ("H1__wavelet-LLH_glcm_Contrast", True), ("ring__original_shape_Sphericity", True),
    ("kin_kurt__log-sigma-2-0-mm-3D_firstorder_Mean", True), ("MSInorm_H2H3", True), ("MSI_contrast", True),
    ("vaf_sum", True), ("H4__original_glcm_Contrast", False), ("kin_mode__original_glcm_Idm", False),
    ("H1_original_glcm_Contrast", False), ("H1__original_texture_Contrast", False)])
def test_feature_name_scheme(name, ok):
    assert is_known_feature_name(name) is ok


def test_cli_verify_and_show(bundle_path, tmp_path, capsys):
    assert cli_main(["bundle", "verify", str(bundle_path)]) == 0
    assert "OK" in capsys.readouterr().out
    assert cli_main(["bundle", "show", str(bundle_path)]) == 0
    out = capsys.readouterr().out
    assert "model3" in out and DEMO_NOTICE in out
    bad = _rewrite(bundle_path, lambda d: d["models"]["prm"].__setitem__("intercept", 5.0))
    assert cli_main(["bundle", "verify", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "hash mismatch" in err and len(err.strip().splitlines()) == 1


def _resealed(path, mutate):
    """The bundle at ``path`` changed by ``mutate`` and re-hashed (content hash valid, so only the check under
    test can refuse it)."""
    return _rewrite(path, mutate, rehash=True)


def test_parameter_file_hash_mismatch_names_both_hashes(bundle_path):
    from tnbc_desktop.core.features.params import load_params

    shipped = load_params().sha256
    other = "0123456789abcdef" * 4
    _resealed(bundle_path, lambda d: d["extraction"].__setitem__("pyradiomics_params_sha256", other))
    with pytest.raises(BundleError) as err:
        load_bundle(bundle_path)
    assert other in str(err.value) and shipped in str(err.value)
    assert len(str(err.value).splitlines()) == 1


@pytest.mark.parametrize("name", ["/etc/passwd", "/dev/zero", "../resources/radiomics_params.yaml",
                                  "other_params.yaml", "radiomics_params.yaml/../../../etc/passwd"])
def test_parameter_file_outside_the_shipped_resources_is_refused_unread(bundle_path, monkeypatch, name):
    """A bundle names a shipped parameter file by name only; anything else is refused before any file is read."""
    import tnbc_desktop.core.bundle_settings as bs

    def no_read(*_a, **_k):
        raise AssertionError("the parameter file must not be read")

    monkeypatch.setattr(bs, "load_params", no_read)
    _resealed(bundle_path, lambda d: d["extraction"].__setitem__("pyradiomics_params_file", name))
    with pytest.raises(BundleError, match="pyradiomics_params_file"):
        load_bundle(bundle_path)
    with pytest.raises(BundleError, match="pyradiomics_params_file"):
        bs.shipped_params(name, "0" * 64, "test")  # the code refuses too, not only the schema


def test_extraction_settings_are_typed_and_strict(bundle_path):
    from tnbc_desktop.core.kinetics import KineticSettings
    from tnbc_desktop.core.msi import MsiConnectivity

    b = load_bundle(bundle_path)
    assert b.settings.kinetic == KineticSettings(early_phase=1)
    assert b.settings.msi_connectivity is MsiConnectivity.IN_PLANE_8 and b.settings.ring_width_mm == 5.0
    assert b.habitat.slopes == "relative"
    _resealed(bundle_path, lambda d: d["extraction"]["kinetic_settings"].__setitem__("ser_clp", 3.0))
    with pytest.raises(BundleError, match="ser_clp"):
        load_bundle(bundle_path)


def test_kinetic_slope_mode_must_match_the_habitat_model(bundle_path):
    _resealed(bundle_path, lambda d: d["extraction"]["kinetic_settings"].__setitem__("slopes", "absolute"))
    with pytest.raises(BundleError, match="slopes"):
        load_bundle(bundle_path)
