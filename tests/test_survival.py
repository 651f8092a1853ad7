"""Survival: Kaplan-Meier / log-rank / Cox against lifelines and by hand; I-SPY 1 TNBC observed outcomes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers import shared_data
from tnbc_desktop.core.survival import (KMCurve, cox_summary, kaplan_meier, km_by_group, logrank, survival_at,
                                        survival_table)


def test_km_by_hand():
    """Hand: times 1,2,3,4,5 with events 1,0,1,1,0: S = 4/5 after t=1, 4/5*2/3 after t=3, *1/2 after t=4."""
    c = kaplan_meier([1, 2, 3, 4, 5], [1, 0, 1, 1, 0], at_risk_times=(0, 2.5, 4))
    assert survival_at(c, 0.5)[0] == 1.0
    assert survival_at(c, 1.0)[0] == pytest.approx(0.8)
    assert survival_at(c, 3.5)[0] == pytest.approx(0.8 * 2 / 3)
    assert survival_at(c, 4.2)[0] == pytest.approx(0.8 * 2 / 3 * 0.5)
    assert np.isnan(survival_at(c, 6.0)[0])
    assert c.at_risk == (5, 3, 2) and c.n == 5 and c.n_events == 3
    lo, hi = survival_at(c, 3.5)[1:]
    assert lo < 0.8 * 2 / 3 < hi


def test_km_roundtrip_and_table():
    c = kaplan_meier([5, 8, 12, 20, 40, 70], [1, 0, 1, 0, 1, 0], label="x")
    assert KMCurve.from_dict(c.to_dict()) == c
    rows = survival_table(c)
    assert [r["months"] for r in rows] == [12.0, 36.0, 60.0]


def test_logrank_and_cox_against_lifelines():
    """Oracle: lifelines.statistics.logrank_test and CoxPHFitter called directly."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import logrank_test

    rng = np.random.default_rng(0)
    n = 80
    g = rng.random(n) < 0.5
    t = rng.exponential(np.where(g, 30, 15))
    e = (t < 40).astype(int)
    t = np.minimum(t, 40)
    ours = logrank(t, e, np.where(g, "a", "b"))
    ref = logrank_test(t[g], t[~g], e[g], e[~g])
    assert ours["p"] == pytest.approx(ref.p_value, rel=1e-10)
    df = pd.DataFrame({"t": t, "e": e, "g": g.astype(float), "x": rng.normal(size=n)})
    cs = cox_summary(df, "t", "e", ["g", "x"])
    cph = CoxPHFitter().fit(df, "t", "e")
    assert cs["covariates"]["g"]["hr"] == pytest.approx(float(np.exp(cph.params_["g"])), rel=1e-8)
    assert cs["covariates"]["g"]["hr"] < 1.0


@pytest.mark.shared_data
def test_ispy1_tnbc_rfs_by_pcr():
    """Real outcome data (TCIA I-SPY 1). Sanity facts from PROVENANCE.txt: 53 TNBC, pCR known for 51 (18 pCR),
    20 RFS events; our KM/log-rank equal lifelines called directly on the same rows."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test

    from tnbc_desktop.core.reference_outcomes import ATTRIBUTION, ispy1_tnbc_rfs_by_pcr, load_ispy1_tnbc

    path = shared_data("clinical", "ispy1_clinical", "ISPY1_All_Patient_Clinical_and_Outcome_Data.xlsx")
    table = load_ispy1_tnbc(path)
    assert table.shape[0] == 53 and set(table["status"]) == {"TripleNeg"}
    assert int(table["pcr"].notna().sum()) == 51 and int(table["pcr"].sum()) == 18
    assert int(table["rfs_event"].sum()) == 20
    res = ispy1_tnbc_rfs_by_pcr(path)
    assert res["n_tnbc"] == 53 and res["n"] == 51 and res["attribution"] == ATTRIBUTION
    known = table[table["pcr"].notna()]
    pcr = known["pcr"] == 1
    ref = logrank_test(known.loc[pcr, "rfs_months"], known.loc[~pcr, "rfs_months"],
                       known.loc[pcr, "rfs_event"], known.loc[~pcr, "rfs_event"])
    assert res["logrank_p"] == pytest.approx(ref.p_value, rel=1e-10)
    kmf = KaplanMeierFitter().fit(known.loc[~pcr, "rfs_months"], known.loc[~pcr, "rfs_event"])
    curve = KMCurve.from_dict(res["curves"]["non-pCR"])
    assert survival_at(curve, 36.0)[0] == pytest.approx(float(kmf.predict(36.0)), abs=1e-12)
    # pCR patients do better (known biology; both groups' 36-month RFS)
    assert survival_at(KMCurve.from_dict(res["curves"]["pCR"]), 36.0)[0] > survival_at(curve, 36.0)[0]
    assert "I-SPY 1" in res["attribution"] and "Cancer Imaging Archive" in res["attribution"]


def test_km_by_group_shape():
    out = km_by_group([1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 1], ["pCR", "pCR", "pCR", "non-pCR", "non-pCR", "non-pCR"])
    assert set(out["curves"]) == {"pCR", "non-pCR"} and 0 <= out["logrank_p"] <= 1
