"""Loader-boundary helpers: message formatting (tnbc_desktop.errors), JSON depth, phase/mask warnings, and the
radiomics normalisation guard for a flat or non-finite early phase (was a ZeroDivisionError in 'features')."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from tests.bad_inputs import make_study
from tnbc_desktop.core.io.safe_json import json_depth, loads_json
from tnbc_desktop.core.io.sanity import mask_warnings, phase_value_warnings
from tnbc_desktop.errors import FeatureError, InputError, MaskError, printable, summarise


def test_message_is_one_printable_line_naming_the_input():
    err = MaskError("bad\r\nvalue \x1b[31mred\x00 " + "x" * 5000, "/data/" + "d" * 400 + "/mask.nii.gz")
    text = str(err)
    assert "\n" not in text and "\r" not in text and text.isprintable()
    assert "\\x1b[31mred" in text and "\x00" not in text  # escaped, NUL dropped
    assert text.split(": ")[0].endswith("/mask.nii.gz") and len(text) <= 358
    assert "more characters" in text


def test_long_lists_are_summarised():
    assert summarise([f"c{i}" for i in range(62)], noun="column") == "62 columns, first: c0, c1, c2, c3, c4"
    assert summarise(["a", "b"]) == "a, b"
    assert printable("\ufeffname\tX") == "\ufeffname X".replace("\ufeff", "\\ufeff")


def test_details_keep_the_full_list_beside_the_one_line_message():
    err = InputError("manifest has 3 problem(s): row 1: x (+2 more, listed below)", "m.csv",
                     details=["row 1: x", "row 2: y\nz", "row 3: w"])
    assert err.details == ("row 1: x", "row 2: y z", "row 3: w")


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth('{"a": "[[[[{{{{", "b": [[1], {"c": "\\"]]"}]}') == 3
    assert json_depth("[" * 10_000 + "]" * 10_000) == 10_000
    with pytest.raises(InputError, match="nested 65 levels"):
        loads_json("[" * 65 + "]" * 65, "x.json")
    assert loads_json("[" * 64 + "]" * 64, "x.json") is not None
    with pytest.raises(InputError, match="not a valid JSON"):
        loads_json(b'{"a": NaN}', "x.json")
    assert loads_json(json.dumps({"a": [1, 2]}).encode("utf-8-sig"), "x.json") == {"a": [1, 2]}


def test_phase_warnings_name_the_phase():
    study, tumour = make_study()
    assert phase_value_warnings(study) == ()
    data = study.data.copy()
    data[2] = 0.0
    flat = replace(study, data=data)
    (warning,) = phase_value_warnings(flat)
    assert warning.startswith("phase 3 (180 s)") and "flat" in warning
    late = replace(study, phase_times_s=(0.0, 90.0, 180.0, 1e308))
    assert any("1e+308 s" in w for w in phase_value_warnings(late))
    data = study.data.copy()
    data[0] = np.nan
    with pytest.raises(InputError, match=r"phase 1 \(pre-contrast, 0 s\).*no finite value"):
        phase_value_warnings(replace(study, data=data))


def test_whole_image_mask_is_warned():
    assert mask_warnings(np.ones((4, 5, 6), bool))[0].startswith("the mask covers 100 %")
    small = np.zeros((4, 5, 6), bool)
    small[1:3, 1:3, 1:3] = True
    assert mask_warnings(small) == ()


@pytest.mark.parametrize("value", [100.0, np.nan])
def test_flat_or_nan_early_phase_is_a_feature_error_not_zero_division(value):
    from tnbc_desktop.core.features.filters import make_grid
    from tnbc_desktop.core.features.prepare import normalised_on_grid

    study, _ = make_study()
    data = study.data.copy()
    data[1] = value
    study = replace(study, data=data)
    grid = make_grid((np.array([5, 5, 1]), np.array([14, 14, 4])), study.geometry, (1.0, 1.0, 1.0), pad=2)
    with pytest.raises(FeatureError, match=r"phase 2 .*cannot be normalised"):
        normalised_on_grid(study, 1, grid, {"normalize": True, "interpolator": "sitkBSpline"})
