"""Bad-input corpus: every case ends in its declared typed error or a checked correct result.

The cases are generated in ``tests/bad_inputs.py`` (files, series, masks, numerics, MAF, text, paths) plus every
file of ``../shared/data/dicom_edge_cases`` (alone and mixed into a valid study folder). Expected outcomes come
from the loaders' documented contracts (module docstrings of ``core.io.*``, ``core.kinetics``) and from how
the inputs were built (e.g. 7 planted NaN voxels -> ``n_invalid == 7``), never from the code's own output.

The last test prints the table "tried / typed errors / correct results / anything else" and requires
anything else == 0.
"""
from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.bad_inputs import BadCase, all_cases, make_base
from tests.helpers import SHARED_DATA
from tnbc_desktop.errors import TnbcError

#: a message is one printable line of about 300 characters at most (problem <= 256, source <= 100: the
#: documented limits of tnbc_desktop.errors, where every message is made so)
MAX_MESSAGE_CHARS = 358
CASES = all_cases()
OUTCOMES: dict[str, tuple[str, str, str]] = {}  # name -> (category, outcome, detail)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    edge = SHARED_DATA / "dicom_edge_cases"
    return make_base(tmp_path_factory.mktemp("corpus_base"), edge if edge.is_dir() else None)


def _words(word) -> tuple[str, ...]:
    return (word,) if isinstance(word, str) else tuple(word)


def run_case(case: BadCase, base, work) -> tuple[str, str]:
    """(outcome, detail): outcome is 'typed error', 'correct result' or 'anything else'."""
    exp = case.expect
    try:
        action = case.build(work, base)
        result = action()
    except TnbcError as err:
        if exp.error is None:
            return "anything else", f"unexpected {type(err).__name__}: {err}"
        if not isinstance(err, exp.error):
            return "anything else", f"{type(err).__name__} instead of {exp.error}: {err}"
        text = str(err)
        if "\n" in text or len(text) > MAX_MESSAGE_CHARS or not text.isprintable():
            return "anything else", f"message is not one printable line of <= {MAX_MESSAGE_CHARS} characters " \
                                    f"({len(text)} chars): {text[:120]!r}"
        msg = text.lower()
        if not any(w.lower() in msg for w in _words(exp.word)):
            return "anything else", f"message lacks {exp.word!r}: {err}"
        if exp.names_input and err.source is None and case.category != "numerics" \
                and not re.search(r"[/\\]", str(err)):
            return "anything else", f"message does not name the input: {err}"
        return "typed error", f"{type(err).__name__}: {str(err)[:160]}"
    except Exception as err:  # noqa: BLE001 - exactly what the corpus hunts for
        return "anything else", f"raw {type(err).__name__}: {str(err)[:300]}"
    if exp.check is None:
        return "anything else", f"no error; expected {exp.error} (got {type(result).__name__})"
    try:
        exp.check(result, base)
    except AssertionError as err:
        return "anything else", f"wrong result: {err}"
    return "correct result", "ok"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: BadCase, base, tmp_path):
    if case.name.startswith("edge/") and base.edge_dir is None:
        pytest.skip(f"shared edge-case files not present: {SHARED_DATA / 'dicom_edge_cases'}")
    outcome, detail = run_case(case, base, tmp_path)
    OUTCOMES[case.name] = (case.category, outcome, detail)
    assert outcome != "anything else", f"{case.name}: {detail}"
    assert outcome in case.expect.kinds


def test_zz_corpus_summary(capsys):
    """Prints the corpus table (visible without -s) and requires >= 60 cases tried, anything else = 0."""
    if not OUTCOMES:
        pytest.skip("no corpus case ran in this session (deselected)")
    by_cat: dict[str, Counter] = {}
    for cat, outcome, _ in OUTCOMES.values():
        by_cat.setdefault(cat, Counter())[outcome] += 1
    total = Counter(o for _, o, _ in OUTCOMES.values())
    lines = ["", "bad-input corpus: category      tried  typed-errors  correct-results  anything-else"]
    for cat, c in sorted(by_cat.items()):
        lines.append(f"  {cat:<27} {sum(c.values()):>5}  {c['typed error']:>12}  {c['correct result']:>15}  "
                     f"{c['anything else']:>13}")
    lines.append(f"  {'TOTAL':<27} {sum(total.values()):>5}  {total['typed error']:>12}  "
                 f"{total['correct result']:>15}  {total['anything else']:>13}")
    for name, (_, outcome, detail) in sorted(OUTCOMES.items()):
        if outcome == "anything else":
            lines.append(f"  FAILED {name}: {detail}")
    with capsys.disabled():
        print("\n".join(lines))
    if len(OUTCOMES) == len(CASES):
        assert sum(total.values()) >= 60
    assert total["anything else"] == 0
