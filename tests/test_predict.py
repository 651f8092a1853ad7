"""Predictions from a bundle: hand-computed logistic values, delta-method CI, availability rules, warnings."""
from __future__ import annotations

import math
from dataclasses import FrozenInstanceError, dataclass

import pytest

from tests.builders import M1, M2, example_bundle_dict
from tnbc_desktop.core.bundle import load_bundle, save_bundle
from tnbc_desktop.core.predict import Prediction, predict_all


@dataclass(frozen=True)
class Path_:  # stand-in for PathologyInputs (contract: ki67_high, lvi_present)
    ki67_high: bool | None
    lvi_present: bool | None


@pytest.fixture
def bundle(tmp_path):
    return load_bundle(save_bundle(example_bundle_dict(), tmp_path / "b.json"))


FEATS = {M1[0]: 12.0, M1[1]: 0.5, M2[0]: 7.0, M2[1]: 2.0}


def _logistic(t):
    return 1.0 / (1.0 + math.exp(-t))


def test_model3_matches_hand_computation(bundle):
    """Expected value by hand from the bundle's numbers: z = ((12-10)/2, (0.5-1)/0.5, (7-5)/1, (2-2)/4)
    = (1, -1, 2, 0); lp = -0.2 + 0.7*1 - 0.4*(-1) + 0.5*2 + 0.2*0 = 1.9; var = v' S v with S = 0.01 + 0.03 I,
    v = (1, 1, -1, 2, 0): sum(v)^2 * 0.01 + 0.03 * |v|^2 = 9*0.01 + 0.03*7 = 0.30."""
    p = predict_all(bundle, FEATS, Path_(True, False), vaf_sum=0.2)["model3"]
    assert p.available and p.reason == ""
    assert abs(p.linear_predictor - 1.9) < 1e-12
    assert abs(p.probability - _logistic(1.9)) < 1e-12
    se = math.sqrt(0.30)
    assert abs(p.ci_low - _logistic(1.9 - 1.959963984540054 * se)) < 1e-12
    assert abs(p.ci_high - _logistic(1.9 + 1.959963984540054 * se)) < 1e-12
    assert p.group == "pCR" and p.cutoff == 0.4 and p.warnings == ()


def test_prm_and_gprm_use_model3_radscore(bundle):
    """PRM lp = -0.2 + 1.0*1.9 + 0.5*1 - 1.2*0 = 2.2; GPRM lp = -0.2 + 1.9 + 0.4 + 3.0*0.2 = 2.7 (by hand)."""
    out = predict_all(bundle, FEATS, Path_(True, False), vaf_sum=0.2)
    assert abs(out["prm"].linear_predictor - 2.2) < 1e-12
    assert abs(out["gprm"].linear_predictor - 2.7) < 1e-12
    assert abs(out["gprm"].probability - _logistic(2.7)) < 1e-12
    assert list(out) == ["model1", "model2", "model3", "prm", "gprm"]


def test_group_below_cutoff(bundle):
    feats = dict(FEATS, **{M1[0]: 4.0})  # z1 = -3 -> lp = -0.2 - 2.1 + 0.4 + 1.0 = -0.9
    p = predict_all(bundle, feats)["model3"]
    assert abs(p.linear_predictor + 0.9) < 1e-12 and p.group == "non-pCR"


def test_ci_widens_far_from_training_mean(bundle):
    near = predict_all(bundle, {M1[0]: 0.0, M1[1]: 0.0})["model1"]
    far = predict_all(bundle, {M1[0]: 2.9, M1[1]: -2.9})["model1"]
    w = lambda p: (math.log(p.ci_high / (1 - p.ci_high)) - math.log(p.ci_low / (1 - p.ci_low)))  # noqa: E731
    assert w(far) > 1.5 * w(near)
    assert near.ci_low < near.probability < near.ci_high


def test_out_of_range_warning(bundle):
    p = predict_all(bundle, {M1[0]: 9.0, M1[1]: 0.0})["model1"]
    assert p.available and len(p.warnings) == 1 and M1[0] in p.warnings[0] and "training range" in p.warnings[0]


def test_missing_inputs_make_models_unavailable(bundle):
    out = predict_all(bundle, FEATS, pathology=None, vaf_sum=None)
    assert out["model3"].available
    assert not out["prm"].available and "Ki-67" in out["prm"].reason
    assert not out["gprm"].available and math.isnan(out["gprm"].probability)
    out = predict_all(bundle, FEATS, Path_(True, None), vaf_sum=None)
    assert "LVI" in out["prm"].reason
    out = predict_all(bundle, FEATS, Path_(False, True), vaf_sum=None)
    assert out["prm"].available and not out["gprm"].available and "MAF" in out["gprm"].reason


def test_not_computable_feature_blocks_its_models(bundle):
    feats = {k: v for k, v in FEATS.items() if k != M2[1]}
    out = predict_all(bundle, feats, Path_(True, False), 0.1, not_computable={M2[1]: "habitat too small"})
    assert out["model1"].available
    assert not out["model2"].available and "habitat too small" in out["model2"].reason
    assert not out["model3"].available
    assert not out["prm"].available and "Model 3" in out["prm"].reason
    assert not out["gprm"].available


def test_nan_feature_is_not_imputed(bundle):
    out = predict_all(bundle, dict(FEATS, **{M1[0]: float("nan")}))
    assert not out["model1"].available and "finite" in out["model1"].reason


def test_featureset_like_input(bundle):
    @dataclass
    class FS:
        values: dict
        not_computable: dict

    out = predict_all(bundle, FS(dict(FEATS), {}), Path_(True, False), 0.0)
    assert all(p.available for p in out.values())


def test_prediction_is_frozen():
    p = Prediction("model1", False, "x")
    with pytest.raises(FrozenInstanceError):
        p.probability = 0.5  # type: ignore[misc]
