"""Model bundle: schema, SHA-256 identity, refusal of tampered / non-JSON / unknown-feature / oversized files."""
from __future__ import annotations

import hashlib
import json
import pickle

import pytest

from tnbc_desktop.cli import main as cli_main
from tnbc_desktop.core.bundle import (DEMO_NOTICE, assemble_bundle, content_sha256, is_known_feature_name,
                                      load_bundle, save_bundle)
from tnbc_desktop.errors import BundleError

M1 = ["H1__original_firstorder_Mean", "ring__wavelet-LLH_glcm_Contrast"]
M2 = ["kin_mean__log-sigma-2-0-mm-3D_firstorder_Mean", "kin_var__original_glszm_ZoneEntropy"]


def _model(features, coefs, intercept=-0.2, cutoff=0.4, means=None, sds=None):
    p = len(features)
    cov = [[0.04 if i == j else 0.01 for j in range(p + 1)] for i in range(p + 1)]
    out = {"description": "test", "features": list(features), "z_mean": means or [0.0] * p, "z_sd": sds or [1.0] * p,
            "coefficients": list(coefs), "intercept": intercept, "covariance": cov, "cutoff": cutoff,
            "input_range": {"min": [-3.0] * p, "max": [3.0] * p},
            "performance": {"training": {"n": 100, "auc": 0.8, "auc_ci": [0.7, 0.9]}, "validation": None},
            "survival": None}
    if means:
        out["input_range"] = {"min": [m - 3 * s for m, s in zip(means, sds)],
                              "max": [m + 3 * s for m, s in zip(means, sds)]}
    return out


def example_bundle_dict(is_demo: bool = True) -> dict:
    """A small valid bundle document (unsealed) used by the bundle and predict tests."""
    models = {"model1": _model(M1, [0.8, -0.5]), "model2": _model(M2, [0.6, 0.3]),
              "model3": _model(M1 + M2, [0.7, -0.4, 0.5, 0.2], means=[10.0, 1.0, 5.0, 2.0], sds=[2.0, 0.5, 1.0, 4.0]),
              "prm": _model(["radscore_model3", "ki67_high", "lvi"], [1.0, 0.5, -1.2], cutoff=0.37),
              "gprm": _model(["radscore_model3", "ki67_high", "lvi", "vaf_sum"], [1.0, 0.4, -1.1, 3.0], cutoff=0.16)}
    habitat = {"feature_order": ["WIS", "WOS", "SER", "PE"], "scaler_mean": [1.0, 0.1, 1.2, 80.0],
               "scaler_sd": [0.5, 0.2, 0.3, 30.0], "centroids_z": [[-1, -1, -1, -1], [0, 0, 0, 0], [1, 1, 1, 1]],
               "winsor_low": [0, -5, 0, 0], "winsor_high": [10, 5, 3, 400], "ser_clip": 3.0, "slopes": "relative"}
    from tnbc_desktop.core.features.params import load_params

    extraction = {"pyradiomics_params_file": "radiomics_params.yaml", "pyradiomics_params_sha256": load_params().sha256,
                  "kinetic_settings": {"early_phase": 1}, "ring_width_mm": 5.0, "msi_connectivity": "2d-8"}
    return assemble_bundle(name="test-bundle", version="0.0.1", models=models, habitat_model=habitat,
                           extraction=extraction, is_demo=is_demo,
                           training_cohort={"n": 100, "pcr_rate": 0.4, "source": "synthetic", "dates": "n/a"})


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
