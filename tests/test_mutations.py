"""Mutation panel import (SPEC section 9): real MAF files from ../shared/data/maf and small hand-made files.

Expected values come from the PROVENANCE.txt of the shared data (REL / MED23 counts), from the files themselves
read independently with ``gzip`` + ``csv`` in the test, or from the hand-made inputs written here.
"""
from __future__ import annotations

import csv
import gzip
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import shared_data
from tnbc_desktop.core.io.mutations import (
    NONSYNONYMOUS_CLASSES,
    classify,
    read_mutation_panel,
    summarize_maf,
)
from tnbc_desktop.errors import MutationFileError

HEADER = [
    "Hugo_Symbol", "Chromosome", "Start_Position", "End_Position", "Reference_Allele", "Tumor_Seq_Allele2",
    "Variant_Classification", "Variant_Type", "Tumor_Sample_Barcode",
]
MAFTOOLS_NONSYN = {
    "Frame_Shift_Del", "Frame_Shift_Ins", "Splice_Site", "Translation_Start_Site", "Nonsense_Mutation",
    "Nonstop_Mutation", "In_Frame_Del", "In_Frame_Ins", "Missense_Mutation",
}


def _maf_row(gene, cls, sample="S1", pos="100", ref="A", alt="T", chrom="1"):
    return [gene, chrom, pos, pos, ref, alt, cls, "SNP", sample]


def _write(path, header, rows, sep="\t", newline="\n", encoding="utf-8", comments=()):
    lines = list(comments) + [sep.join(header)] + [sep.join(map(str, r)) for r in rows]
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


@pytest.fixture(scope="module")
def firehose():
    return shared_data("maf", "tcga_brca_firehose", "TCGA_BRCA_firehose.maf.gz")


# ---- real files -------------------------------------------------------------------------------------------


def test_nonsynonymous_classes_are_maftools_defaults():
    """The nine classes listed in SPEC section 9 (maftools R/read_maf_dt.R)."""
    assert set(NONSYNONYMOUS_CLASSES) == MAFTOOLS_NONSYN
    assert classify("missense_mutation") == ("Missense_Mutation", "nonsynonymous")
    assert classify("Silent")[1] == "silent" and classify("Intron")[1] == "silent"
    assert classify("ITD") == ("ITD", "unknown")


def test_firehose_rel_med23_counts_match_provenance(firehose):
    """PROVENANCE.txt: REL 4 non-silent variants, MED23 14; 977 samples."""
    summary = summarize_maf(firehose, genes=("REL", "MED23"))
    genes = {g.gene: g for g in summary.genes}
    assert genes["REL"].n_nonsyn == 4 and genes["REL"].samples_mutated == 4
    assert genes["MED23"].n_nonsyn == 14
    assert summary.n_samples == 977


def test_firehose_sample_vaf_equals_file_t_vaf(firehose):
    """REL VAF of TCGA-AN-A046 is the t_vaf cell of its E117* row, read here with gzip + csv."""
    with gzip.open(firehose, "rt", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t")
                if r["Hugo_Symbol"] == "REL" and r["Tumor_Sample_Barcode"] == "TCGA-AN-A046"]
    expected = [float(r["t_vaf"]) for r in rows if r["Protein_Change"] == "p.E117*"]
    assert len(expected) == 1
    panel = read_mutation_panel(firehose, sample="TCGA-AN-A046")
    assert panel.vaf_rel == pytest.approx(expected[0], abs=0)
    assert panel.vaf_med23 == 0.0
    assert panel.vaf_sum == pytest.approx(expected[0])
    used = panel.used_variants()
    assert [(v.gene, v.protein_change, v.variant_class) for v in used] == [("REL", "p.E117*", "Nonsense_Mutation")]
    assert panel.gene("REL").mutated and not panel.gene("MED23").mutated
    # every variant of the sample is kept for display
    with gzip.open(firehose, "rt", newline="") as fh:
        n_rows = sum(1 for r in csv.DictReader(fh, delimiter="\t") if r["Tumor_Sample_Barcode"] == "TCGA-AN-A046")
    assert n_rows - 1 <= len(panel.variants) <= n_rows  # the file has one duplicate row overall


def test_firehose_multi_sample_needs_a_sample(firehose):
    with pytest.raises(MutationFileError, match=r"977 samples.*TCGA-"):
        read_mutation_panel(firehose)
    with pytest.raises(MutationFileError, match="no variants for sample 'TCGA-XX-0000'"):
        read_mutation_panel(firehose, sample="TCGA-XX-0000")


def _independent_apl_count(path):
    """Non-synonymous rows of an APL file, split on bare CR with csv, maftools duplicate key applied."""
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text.replace("\r", "\n")), delimiter="\t"))
    seen, n_nonsyn, n_itd = set(), 0, 0
    for r in rows:
        key = (r["Chromosome"], r["Start_Position"], r["Tumor_Sample_Barcode"], r["Reference_Allele"],
               r["Tumor_Seq_Allele2"])
        if key in seen:
            continue
        seen.add(key)
        n_nonsyn += r["Variant_Classification"] in MAFTOOLS_NONSYN
        n_itd += r["Variant_Classification"] == "ITD"
    return n_nonsyn, n_itd, len({r["Tumor_Sample_Barcode"] for r in rows})


@pytest.mark.parametrize("name", ["APL_primary.maf.gz", "APL_relapse.maf.gz"])
def test_apl_bare_cr_files_parse_and_itd_is_unknown(name):
    path = shared_data("maf", name)
    raw = path.read_bytes()
    assert b"\r" in gzip.decompress(raw) and b"\n" not in gzip.decompress(raw)  # really bare CR
    n_nonsyn, n_itd, n_samples = _independent_apl_count(path)
    assert n_itd > 0
    summary = summarize_maf(path, genes=None)
    assert summary.n_nonsyn == n_nonsyn
    assert summary.n_samples == n_samples
    assert summary.unknown_classes == ("ITD",)
    assert any("ITD" in w for w in summary.warnings)


def test_apl_itd_variant_not_counted_for_a_sample():
    """FLT3 ITD rows are listed but never non-synonymous or used; a panel of FLT3 only must give 0 VAF input."""
    path = shared_data("maf", "APL_primary.maf.gz")
    text = gzip.decompress(path.read_bytes()).decode("utf-8").replace("\r", "\n")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    sample = next(r["Tumor_Sample_Barcode"] for r in rows if r["Variant_Classification"] == "ITD")
    panel = read_mutation_panel(path, sample=sample, genes=("FLT3",))
    itd = [v for v in panel.variants if v.variant_class == "ITD"]
    assert itd and not any(v.nonsynonymous or v.used_by_model for v in itd)
    assert "ITD" in panel.unknown_classes
    assert any("ITD" in w for w in panel.warnings)
    expected = sum(1 for r in rows if r["Tumor_Sample_Barcode"] == sample and r["Hugo_Symbol"] == "FLT3"
                   and r["Variant_Classification"] in MAFTOOLS_NONSYN)
    assert panel.gene("FLT3").n_nonsyn == expected


def test_brca_one_sample_minimal_maf_without_vaf():
    """PROVENANCE: brca.maf.gz is one sample, 9 columns, holds one MED23 Nonsense_Mutation, no VAF columns."""
    panel = read_mutation_panel(shared_data("maf", "brca.maf.gz"))
    assert panel.sample == "TCGA-A8-A08B"
    med23 = [v for v in panel.variants if v.gene == "MED23"]
    assert [v.variant_class for v in med23] == ["Nonsense_Mutation"]
    assert med23[0].used_by_model and med23[0].vaf is None
    assert panel.gene("MED23").n_nonsyn == 1 and panel.gene("MED23").vaf_sum is None
    assert panel.vaf_med23 is None and panel.vaf_sum is None and not panel.vaf_available
    assert "MED23" in panel.vaf_unavailable_reason
    assert panel.vaf_rel == 0.0  # no REL variant: a true zero, not a missing value


def test_laml_no_model_genes():
    """PROVENANCE: tcga_laml.maf.gz has no REL and no MED23; 193 samples."""
    summary = summarize_maf(shared_data("maf", "tcga_laml.maf.gz"), genes="REL,MED23")
    assert summary.n_samples == 193
    assert [(g.gene, g.n_nonsyn, g.samples_mutated) for g in summary.genes] == [("REL", 0, 0), ("MED23", 0, 0)]


# ---- hand-made files --------------------------------------------------------------------------------------


def test_vaf_from_counts_not_depth_and_duplicates_dropped(tmp_path):
    """t_alt/(t_ref+t_alt) = 30/(70+30) = 0.3 even though t_depth says 200; the repeated row is dropped."""
    header = HEADER + ["t_alt_count", "t_ref_count", "t_depth", "HGVSp_Short"]
    rows = [
        _maf_row("REL", "Missense_Mutation", pos="10") + [30, 70, 200, "p.A1B"],
        _maf_row("REL", "Missense_Mutation", pos="10") + [30, 70, 200, "p.A1B"],  # duplicate
        _maf_row("MED23", "Frame_Shift_Del", pos="20") + [5, 15, 20, "p.C2fs"],  # 0.25
        _maf_row("MED23", "Silent", pos="21") + [10, 10, 20, "p.C3C"],  # silent: not counted
        _maf_row("TP53", "Nonsense_Mutation", pos="30") + [9, 1, 10, "p.R4*"],  # not a model gene
    ]
    panel = read_mutation_panel(_write(tmp_path / "a.maf", header, rows))
    assert panel.n_duplicates_dropped == 1 and len(panel.variants) == 4
    assert panel.vaf_rel == pytest.approx(0.3)
    assert panel.vaf_med23 == pytest.approx(0.25)
    assert panel.vaf_sum == pytest.approx(0.55)
    assert panel.gene("MED23").n_nonsyn == 1
    tp53 = next(v for v in panel.variants if v.gene == "TP53")
    assert tp53.nonsynonymous and not tp53.used_by_model and tp53.vaf == pytest.approx(0.9)


def test_percent_vaf_and_case_insensitive_columns_and_comments_crlf(tmp_path):
    """t_vaf 42 and 8 (max > 1) are percentages -> 0.42 + 0.08; lower-case header, #version line, CRLF."""
    header = [h.lower() for h in HEADER] + ["T_VAF", "protein_change"]
    rows = [_maf_row("REL", "Missense_Mutation", pos="1") + ["42", "p.X1Y"],
            _maf_row("med23", "In_Frame_Ins", pos="2") + ["8", "p.X2_Y3insZ"]]
    path = _write(tmp_path / "b.maf", header, rows, newline="\r\n", comments=["#version 2.4"])
    panel = read_mutation_panel(path)
    assert panel.vaf_sum == pytest.approx(0.50)
    assert panel.vaf_med23 == pytest.approx(0.08)
    assert {v.protein_change for v in panel.variants} == {"p.X1Y", "p.X2_Y3insZ"}


def test_latin1_file_is_read(tmp_path):
    header = HEADER + ["Center", "t_vaf"]
    rows = [_maf_row("REL", "Missense_Mutation") + ["Hôpital Saint-Louis", "0.2"]]
    panel = read_mutation_panel(_write(tmp_path / "l.maf", header, rows, encoding="latin-1"))
    assert panel.vaf_sum == pytest.approx(0.2)


def test_missing_vaf_for_a_used_variant_is_not_zero(tmp_path):
    header = HEADER + ["t_vaf"]
    rows = [_maf_row("REL", "Missense_Mutation", pos="1") + ["0.3"],
            _maf_row("MED23", "Missense_Mutation", pos="2") + [""]]
    panel = read_mutation_panel(_write(tmp_path / "m.maf", header, rows))
    assert panel.vaf_rel == pytest.approx(0.3)
    assert panel.vaf_med23 is None and panel.vaf_sum is None
    assert "MED23" in panel.vaf_unavailable_reason


def test_sample_with_no_model_gene_variant_has_zero_vaf_sum(tmp_path):
    header = HEADER + ["t_vaf"]
    rows = [_maf_row("TP53", "Missense_Mutation", sample="P1") + ["0.3"],
            _maf_row("REL", "Missense_Mutation", sample="P2") + ["0.4"]]
    path = _write(tmp_path / "s.maf", header, rows)
    p1 = read_mutation_panel(path, sample="P1")
    assert p1.vaf_sum == 0.0 and p1.vaf_rel == 0.0 and p1.vaf_available
    assert read_mutation_panel(path, sample="p2").vaf_sum == pytest.approx(0.4)  # case-insensitive sample match


def test_csv_panel_format(tmp_path):
    """The simple panel: VAF in percent (max 35 > 1) -> fractions; unknown class reported; silent ignored."""
    path = tmp_path / "panel.csv"
    path.write_text("gene, protein_change, variant_class, vaf\n"
                    "REL,p.E117*,Nonsense_Mutation,35\n"
                    "MED23,p.P394H,missense_mutation,10\n"
                    "MED23,p.P400P,Silent,50\n"
                    "FLT3,,ITD,20\n", encoding="utf-8")
    panel = read_mutation_panel(path, sample="patient-7")
    assert panel.file_format == "panel" and panel.sample == "patient-7"
    assert panel.vaf_rel == pytest.approx(0.35) and panel.vaf_med23 == pytest.approx(0.10)
    assert panel.vaf_sum == pytest.approx(0.45)
    assert panel.unknown_classes == ("ITD",)
    assert len(panel.variants) == 4


def test_csv_panel_header_only_means_no_variants(tmp_path):
    path = tmp_path / "empty_panel.csv"
    path.write_text("gene,protein_change,variant_class,vaf\n", encoding="utf-8")
    panel = read_mutation_panel(path)
    assert panel.variants == () and panel.vaf_sum == 0.0


@pytest.mark.parametrize(
    "content, match",
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "PNG image"),
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"#version 2.4\n# nothing else\n", "no header line"),
        (b"gene_name,chrom,pos\nREL,2,100\n", "missing required column.*Hugo_Symbol"),
        (b"Hugo_Symbol,Chromosome\nREL,2\n", "missing required column.*Start_Position"),
        (b"\x00\x01\x02\x03binary\x00" * 50, "binary"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
        (b"PK\x03\x04" + b"\x00" * 40, "ZIP"),
        (b"##fileformat=VCFv4.2\n#CHROM\tPOS\n2\t100\n", "VCF"),
    ],
)
def test_garbage_gives_mutation_file_error(tmp_path, content, match):
    path = tmp_path / "bad.maf"
    path.write_bytes(content)
    with pytest.raises(MutationFileError, match=match) as info:
        read_mutation_panel(path)
    assert str(path) in str(info.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(MutationFileError, match="not found"):
        read_mutation_panel(tmp_path / "nope.maf")
    with pytest.raises(MutationFileError, match="folder"):
        read_mutation_panel(tmp_path)


def test_row_with_too_many_columns(tmp_path):
    path = tmp_path / "wide.maf"
    path.write_text("\t".join(HEADER) + "\n" + "\t".join(_maf_row("REL", "Silent") + ["x", "y"]) + "\n")
    with pytest.raises(MutationFileError, match="data row 1 has 11 cells but the header names 9 columns"):
        read_mutation_panel(path)
    csv_path = tmp_path / "wide.csv"
    csv_path.write_text("gene,protein_change,variant_class,vaf\nREL,p.A1B,Silent,0.1,oops\n")
    with pytest.raises(MutationFileError, match="data row 1 has 5 cells"):
        read_mutation_panel(csv_path)


def test_trailing_empty_cells_and_short_rows_are_tolerated(tmp_path):
    """Trailing tabs (header and rows) are common in exported MAFs; a short row reads as empty cells."""
    path = tmp_path / "trail.maf"
    body = ["\t".join(HEADER + ["t_vaf"]) + "\t\t",
            "\t".join(_maf_row("REL", "Missense_Mutation", pos="1") + ["0.2"]) + "\t\t\t",
            "\t".join(_maf_row("MED23", "Missense_Mutation", pos="2"))]
    path.write_text("\n".join(body) + "\n")
    panel = read_mutation_panel(path)
    assert panel.vaf_rel == pytest.approx(0.2)
    assert panel.vaf_med23 is None  # its t_vaf cell is absent


def test_non_numeric_vaf_is_unavailable_with_warning(tmp_path):
    header = HEADER + ["t_vaf"]
    rows = [_maf_row("REL", "Missense_Mutation", pos="1") + ["high"]]
    panel = read_mutation_panel(_write(tmp_path / "v.maf", header, rows))
    assert panel.vaf_sum is None
    assert any("not a number" in w for w in panel.warnings)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_never_raise_raw_exceptions(tmp_path, data):
    path = tmp_path / "fuzz.maf"
    path.write_bytes(data)
    try:
        read_mutation_panel(path)
    except MutationFileError:
        pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.lists(st.text(alphabet="AZaz09.-_%\t ,\"'", max_size=8), min_size=1, max_size=12),
                      max_size=5))
def test_arbitrary_maf_bodies_never_raise_raw_exceptions(tmp_path, cells):
    path = tmp_path / "fuzz2.maf"
    path.write_text("\t".join(HEADER + ["t_vaf"]) + "\n" + "\n".join("\t".join(r) for r in cells), encoding="utf-8")
    try:
        read_mutation_panel(path, sample=None)
        summarize_maf(path)
    except MutationFileError:
        pass


def test_header_only_maf_means_no_variants(tmp_path):
    path = _write(tmp_path / "h.maf", HEADER + ["t_vaf"], [], comments=["#version 2.4"])
    panel = read_mutation_panel(path, sample="P9")
    assert panel.variants == () and panel.vaf_sum == 0.0 and panel.sample == "P9"
    assert any("no variants" in w for w in panel.warnings)


def test_gzip_detected_by_content_not_suffix(tmp_path):
    """A gzip-compressed MAF named .maf (and a plain one named .gz) are both read."""
    header = HEADER + ["t_vaf"]
    plain = _write(tmp_path / "x.txt", header, [_maf_row("REL", "Splice_Site") + ["0.15"]])
    gz = tmp_path / "x.maf"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    named_gz = tmp_path / "y.maf.gz"
    named_gz.write_bytes(plain.read_bytes())
    for path in (gz, named_gz):
        assert read_mutation_panel(path).vaf_rel == pytest.approx(0.15)
