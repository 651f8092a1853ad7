"""Parameter file validation, feature names and counts (SPEC section 6: 4 x 1409 + 22 + 4 x 1395 = 11,238)."""
from __future__ import annotations

import hashlib

import pytest

from tnbc_desktop.core.features.names import all_feature_names, parse_feature_name
from tnbc_desktop.core.features.params import load_params
from tnbc_desktop.errors import ConfigError, FeatureError
from tnbc_desktop.paths import resource_path


def test_shipped_params_give_15_image_types_and_11238_unique_names():
    """Counts come from SPEC 6 (pyradiomics 3.1.4 non-deprecated counts: 14 shape + 93 per image type)."""
    p = load_params()
    itypes = p.image_type_names()
    assert len(itypes) == 15
    names = all_feature_names(itypes)
    assert len(names) == 11238 and len(set(names)) == 11238
    assert sum(n.startswith("H1__") for n in names) == 1409
    assert sum(n.startswith("kin_mean__") for n in names) == 1395
    assert p.sha256 == hashlib.sha256(resource_path("radiomics_params.yaml").read_bytes()).hexdigest()


def test_parser_maps_names_to_parts():
    itypes = load_params().image_type_names()
    p = parse_feature_name("H1__wavelet-LLH_glcm_Contrast", itypes)
    assert (p.kind, p.region, p.image_type, p.feature_class, p.feature) == ("region", "H1", "wavelet-LLH", "glcm",
                                                                           "Contrast")
    p = parse_feature_name("kin_mean__log-sigma-2-0-mm-3D_firstorder_Mean", itypes)
    assert (p.kind, p.stat, p.image_type, p.feature_class) == ("kinetic", "mean", "log-sigma-2-0-mm-3D",
                                                               "firstorder")
    assert parse_feature_name("ring__original_shape_Sphericity", itypes).region == "ring"
    assert parse_feature_name("MSI_H1H2", itypes).kind == "msi"


@pytest.mark.parametrize("bad", ["H4__original_glcm_Contrast", "H1__log-sigma-9-0-mm-3D_glcm_Contrast",
                                 "H1__wavelet-LLH_shape_Sphericity", "kin_mean__original_shape_VoxelVolume",
                                 "H1__original_glcm_NotAFeature", "kin_median__original_firstorder_Mean", "junk"])
def test_unknown_names_are_refused(bad):
    with pytest.raises(FeatureError):
        parse_feature_name(bad, load_params().image_type_names())


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace("  binCount: 64", "  binCount: 64\n  fancyOption: 3"), "fancyOption"),
    (lambda t: t.replace("  Square: {}", "  Exponential: {}"), "Exponential"),
    (lambda t: t.replace("  binCount: 64", "  binCount: -3"), "valid pyradiomics"),
    (lambda t: t + "\nextra:\n  a: 1\n", "extra"),
    (lambda t: t.replace("  ngtdm:\n", ""), "featureClass"),
    (lambda t: t.replace("  binCount: 64", "  binCount: 64\n  binWidth: 5"), "exactly one"),
])
def test_invalid_param_files_raise_config_error_naming_the_file(tmp_path, edit, match):
    text = resource_path("radiomics_params.yaml").read_text()
    bad = tmp_path / "p.yaml"
    bad.write_text(edit(text))
    with pytest.raises(ConfigError, match=match) as info:
        load_params(bad)
    assert str(bad) in str(info.value)


def test_unreadable_and_non_yaml_files(tmp_path):
    with pytest.raises(ConfigError):
        load_params(tmp_path / "missing.yaml")
    f = tmp_path / "x.yaml"
    f.write_text("imageType: [unclosed")
    with pytest.raises(ConfigError, match="YAML"):
        load_params(f)
