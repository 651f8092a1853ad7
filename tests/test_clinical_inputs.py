"""Pathology inputs: Ki-67 (high = >= 20 %, the paper's cutoff, SPEC) and LVI parsing, and the clinical JSON.

Expected values follow directly from the definitions in the brief (Ki-67 high iff >= 20 %; unknown -> None).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tnbc_desktop.core.io.clinical import (
    LVI,
    Ki67,
    PathologyInputs,
    parse_ki67,
    parse_lvi,
    read_clinical_json,
)
from tnbc_desktop.errors import ClinicalInputError


@pytest.mark.parametrize(
    "value, percent, high",
    [
        (35, 35.0, True),
        (35.0, 35.0, True),
        ("35", 35.0, True),
        ("35%", 35.0, True),
        (" 35 % ", 35.0, True),
        ("19,5", 19.5, False),
        (20, 20.0, True),  # the cutoff itself is high (>= 20 %)
        ("19.99", 19.99, False),
        (0, 0.0, False),
        ("100%", 100.0, True),
        (np.float64(12.5), 12.5, False),
        (np.int64(40), 40.0, True),
    ],
)
def test_ki67_percentages(value, percent, high):
    k = parse_ki67(value)
    assert k.percent == pytest.approx(percent) and k.high is high and k.known


@pytest.mark.parametrize(
    "value, high",
    [("<20%", False), ("< 20 %", False), ("<10%", False), ("<=15", False), ("≤19%", False),
     (">=20%", True), ("≥20%", True), ("≥ 20 %", True), ("=>20", True), (">30%", True), (">20%", True)],
)
def test_ki67_categories(value, high):
    k = parse_ki67(value)
    assert k.percent is None and k.high is high


@pytest.mark.parametrize("value", [None, "", "  ", "unknown", "NA", "n/a", float("nan")])
def test_ki67_unknown(value):
    k = parse_ki67(value)
    assert k.high is None and k.percent is None and not k.known and k.describe() == "unknown"


def test_ki67_error_message_is_plain():
    with pytest.raises(ClinicalInputError) as info:
        parse_ki67("130")
    assert str(info.value) == "Ki-67 must be a percentage between 0 and 100 or '<20%' / '>=20%', got '130'"


@pytest.mark.parametrize("value", ["130", 130, -1, "-5%", "high", "35 percent", True, [35], "<30%", "<=20%", ">10%",
                                   float("inf")])
def test_ki67_invalid(value):
    with pytest.raises(ClinicalInputError):
        parse_ki67(value)


def test_ki67_ambiguous_bound_says_why():
    with pytest.raises(ClinicalInputError, match="which side of the 20% cutoff"):
        parse_ki67("<30%")


@pytest.mark.parametrize(
    "value, expected",
    [("present", LVI.PRESENT), ("Absent", LVI.ABSENT), ("unknown", LVI.UNKNOWN), ("yes", LVI.PRESENT),
     ("NO", LVI.ABSENT), ("1", LVI.PRESENT), ("0", LVI.ABSENT), ("true", LVI.PRESENT), ("False", LVI.ABSENT),
     (True, LVI.PRESENT), (False, LVI.ABSENT), (1, LVI.PRESENT), (0, LVI.ABSENT), (1.0, LVI.PRESENT),
     (None, LVI.UNKNOWN), ("", LVI.UNKNOWN), (float("nan"), LVI.UNKNOWN), ("positive", LVI.PRESENT),
     (LVI.ABSENT, LVI.ABSENT)],
)
def test_lvi_values(value, expected):
    assert parse_lvi(value) is expected


@pytest.mark.parametrize("value", ["maybe", 2, "present?", 0.5, [1]])
def test_lvi_invalid(value):
    with pytest.raises(ClinicalInputError, match="LVI must be present, absent or unknown"):
        parse_lvi(value)


def test_lvi_present_property():
    assert LVI.PRESENT.present is True and LVI.ABSENT.present is False and LVI.UNKNOWN.present is None


def test_pathology_inputs():
    p = PathologyInputs.from_values("35%", "absent")
    assert p.ki67_high is True and p.lvi_present is False and p.complete and p.missing() == ()
    q = PathologyInputs(Ki67(None, None, ""), LVI.UNKNOWN)
    assert q.ki67_high is None and q.lvi_present is None and q.missing() == ("Ki-67", "LVI")
    with pytest.raises(AttributeError):
        p.lvi = LVI.PRESENT  # frozen


def test_clinical_json_as_written_by_the_generator(tmp_path):
    path = tmp_path / "clinical.json"
    path.write_text(json.dumps({"ki67_percent": 12.5, "lvi": True, "patient_id": "ZZCANARY-1"}))
    p = read_clinical_json(path)
    assert p.ki67.percent == 12.5 and p.ki67_high is False and p.lvi_present is True


def test_clinical_json_missing_keys_are_unknown(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"LVI": "absent"}')
    p = read_clinical_json(path)
    assert p.ki67_high is None and p.lvi_present is False


@pytest.mark.parametrize(
    "content, match",
    [(b"{not json", "not a valid JSON"), (b"[1, 2]", "JSON object"), (b"\x89PNG\x00\xff\xfe", "not a UTF-8"),
     (b'{"ki67_percent": 130}', "between 0 and 100"), (b'{"lvi": "sometimes"}', "LVI must be")],
)
def test_clinical_json_errors_name_the_file(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ClinicalInputError, match=match) as info:
        read_clinical_json(path)
    assert str(path) in str(info.value)


def test_clinical_json_not_found(tmp_path):
    with pytest.raises(ClinicalInputError, match="not found"):
        read_clinical_json(tmp_path / "none.json")


def test_nan_percent_is_unknown_not_zero():
    assert parse_ki67(math.nan).high is None
