"""``tnbc-desktop maf summarize``: JSON and table output, exit codes.

Expected counts come from ../shared/data/maf PROVENANCE.txt (REL 4 and MED23 14 non-silent variants in the
TCGA-BRCA firehose MAF, 977 samples; REL E117* in TCGA-AN-A046) and from small files written in the test.
"""
from __future__ import annotations

import json

import pytest

from tests.helpers import shared_data
from tnbc_desktop.cli import main


def _firehose():
    return str(shared_data("maf", "tcga_brca_firehose", "TCGA_BRCA_firehose.maf.gz"))


def test_whole_file_json(capsys):
    assert main(["maf", "summarize", _firehose(), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_samples"] == 977
    assert doc["genes"] == {"REL": {"n_nonsyn": 4, "samples_mutated": 4},
                            "MED23": {"n_nonsyn": 14, "samples_mutated": 14}}


def test_sample_json(capsys):
    assert main(["maf", "summarize", _firehose(), "--sample", "TCGA-AN-A046", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["sample"] == "TCGA-AN-A046"
    assert doc["genes"]["REL"]["mutated"] is True and doc["genes"]["REL"]["n_nonsyn"] == 1
    assert doc["genes"]["MED23"] == {"mutated": False, "n_nonsyn": 0, "vaf_sum": 0.0}
    used = [v for v in doc["variants"] if v["used_by_model"]]
    assert [(v["gene"], v["protein_change"]) for v in used] == [("REL", "p.E117*")]
    assert doc["vaf_sum"] == pytest.approx(used[0]["vaf"])


def test_table_output_and_genes_option(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text("gene,protein_change,variant_class,vaf\nTP53,p.R175H,Missense_Mutation,0.6\n"
                    "REL,p.E117*,Nonsense_Mutation,0.2\nFLT3,,ITD,0.1\n")
    assert main(["maf", "summarize", str(path), "--sample", "pt1", "--genes", "rel,tp53"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert any(ln.split()[:4] == ["REL", "yes", "1", "0.200"] for ln in lines)
    assert any(ln.split()[:4] == ["TP53", "yes", "1", "0.600"] for ln in lines)
    assert "VAF_sum = 0.800" in captured.out
    assert "ITD" in captured.err  # the unknown class is surfaced as a warning


def test_all_genes_table(capsys):
    assert main(["maf", "summarize", str(shared_data("maf", "tcga_laml.maf.gz")), "--all-genes"]) == 0
    out = capsys.readouterr().out
    assert "193 samples" in out and "more genes" in out


def test_bad_input_exits_2_with_one_error_line(tmp_path, capsys):
    path = tmp_path / "bad.maf"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert main(["maf", "summarize", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "PNG" in err[0] and str(path) in err[0]
    assert main(["maf", "summarize", _firehose(), "--sample", "NOPE"]) == 2
    assert "no variants for sample 'NOPE'" in capsys.readouterr().err
