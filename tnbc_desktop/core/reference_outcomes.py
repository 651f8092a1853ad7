"""Observed outcomes in a public TNBC cohort (I-SPY 1 / ACRIN 6657, TCIA) for the report's reference panel.

Reads the TCIA "I-SPY 1 All Patient Clinical and Outcome Data" spreadsheet, selects triple-negative patients
(HR-negative and HER2-negative), and computes Kaplan-Meier recurrence-free survival (RFS, months) by observed
pCR with the log-rank P, using the app's own survival code. These are observed outcomes by *observed* pCR, not
model predictions; the attribution must be shown wherever the curves are.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from tnbc_desktop.core.survival import km_by_group
from tnbc_desktop.errors import InputError

DAYS_PER_MONTH = 365.25 / 12.0
ATTRIBUTION = ("Observed outcomes in a public TNBC cohort (I-SPY 1, ACRIN 6657; The Cancer Imaging Archive, "
               "CC BY 3.0). Hylton NM et al., Radiology 2012;263:663-672 and 2016;279:44-55; Clark K et al., "
               "J Digit Imaging 2013 (TCIA). Curves are by observed pCR, not by model prediction.")
CLINICAL_SHEET = "TCIA Patient Clinical Subset"
OUTCOME_SHEET = "TCIA Outcomes Subset"


def _to_num(series: pd.Series) -> pd.Series:
    """Numbers, with 'NA'/'NP'/blank strings -> NaN."""
    return pd.to_numeric(series.replace({"NA": np.nan, "NP": np.nan, "": np.nan}), errors="coerce")


def load_ispy1_tnbc(path: str | Path) -> pd.DataFrame:
    """TNBC rows of the I-SPY 1 spreadsheet: columns subject_id, pcr (0/1/NaN), rfs_months, rfs_event, status."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # openpyxl: "Unknown extension is not supported"
            sheets = pd.read_excel(path, sheet_name=[CLINICAL_SHEET, OUTCOME_SHEET], header=0)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot read the I-SPY 1 clinical/outcome workbook ({exc})", path) from exc
    clin, outc = sheets[CLINICAL_SHEET], sheets[OUTCOME_SHEET]
    need_c = {"SUBJECTID", "HR Pos", "Her2MostPos", "HR_HER2_STATUS"}
    need_o = {"SUBJECTID", "RFS", "rfs_ind", "PCR"}
    if not need_c <= set(clin.columns) or not need_o <= set(outc.columns):
        raise InputError("the workbook lacks the expected I-SPY 1 columns "
                         f"({sorted(need_c - set(clin.columns)) + sorted(need_o - set(outc.columns))})", path)
    clin = clin.assign(SUBJECTID=_to_num(clin["SUBJECTID"]))
    outc = outc.assign(SUBJECTID=_to_num(outc["SUBJECTID"]))
    clin = clin[clin["SUBJECTID"].notna()]
    hr, her2 = _to_num(clin["HR Pos"]), _to_num(clin["Her2MostPos"])
    tnbc = clin[(hr == 0) & (her2 == 0)]
    merged = tnbc[["SUBJECTID", "HR_HER2_STATUS"]].merge(outc[["SUBJECTID", "RFS", "rfs_ind", "PCR"]],
                                                         on="SUBJECTID", how="left")
    return pd.DataFrame({
        "subject_id": merged["SUBJECTID"].astype(int).to_numpy(),
        "status": merged["HR_HER2_STATUS"].astype(str).to_numpy(),
        "pcr": _to_num(merged["PCR"]).to_numpy(float),
        "rfs_months": (_to_num(merged["RFS"]) / DAYS_PER_MONTH).to_numpy(float),
        "rfs_event": _to_num(merged["rfs_ind"]).to_numpy(float),
    })


def ispy1_tnbc_rfs_by_pcr(path: str | Path) -> dict:
    """Kaplan-Meier RFS by observed pCR among I-SPY 1 TNBC patients with known pCR and RFS.

    Returns {"curves": {"pCR": KMCurve dict, "non-pCR": ...}, "logrank_p", "n", "n_tnbc", "endpoint",
    "attribution", "source"}.
    """
    table = load_ispy1_tnbc(path)
    ok = table["pcr"].notna() & table["rfs_months"].notna() & table["rfs_event"].notna()
    sub = table[ok]
    groups = np.where(sub["pcr"].to_numpy() == 1, "pCR", "non-pCR")
    res = km_by_group(sub["rfs_months"].to_numpy(), sub["rfs_event"].to_numpy(), groups)
    res.update({"n_tnbc": int(table.shape[0]), "endpoint": "recurrence-free survival (months)",
                "grouping": "observed pCR", "attribution": ATTRIBUTION, "source": Path(path).name})
    return res


__all__ = ["load_ispy1_tnbc", "ispy1_tnbc_rfs_by_pcr", "ATTRIBUTION"]
