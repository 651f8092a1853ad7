"""Synthetic patients and cohorts (SPEC section 14): determinism, ground truth, marginals, habitats, files.

Oracles: the Rayleigh mean sigma*sqrt(pi/2) for noise in air (magnitude of complex Gaussian noise); the Table 1
marginals of Zhou 2024 (pCR ~40 %, LVI in ~1 % of pCR / ~46 % of non-pCR, Ki-67 >= 20 % in ~97 %); maftools'
non-synonymous class list (SPEC section 9) for the VAF sum; the analytic curve S0(1 + A(1-e^-kin t)e^-kout t).
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from scipy import ndimage
from sklearn.cluster import KMeans
from sklearn.metrics import roc_auc_score

from tnbc_desktop.core.synthetic import (CANARY, cohort_records, make_cohort, make_patient, phase_times_for,
                                         write_patient)
from tnbc_desktop.core.synthetic.enhancement import HABITAT_CURVES
from tnbc_desktop.errors import InputError

SMALL = (24, 96, 96)
NONSYN = {"Frame_Shift_Del", "Frame_Shift_Ins", "Splice_Site", "Translation_Start_Site", "Nonsense_Mutation",
          "Nonstop_Mutation", "In_Frame_Del", "In_Frame_Ins", "Missense_Mutation"}


@pytest.fixture(scope="module")
def small_patient():
    return make_patient(11, shape=SMALL, tumour_volume_ml=4.0)


@pytest.fixture(scope="module")
def default_patient():
    return make_patient(3)


def test_same_seed_same_patient_different_seed_different():
    a = make_patient(5, shape=SMALL, tumour_volume_ml=3.0)
    b = make_patient(5, shape=SMALL, tumour_volume_ml=3.0)
    c = make_patient(6, shape=SMALL, tumour_volume_ml=3.0)
    assert np.array_equal(a.study.data, b.study.data)
    assert np.array_equal(a.mask.array, b.mask.array) and np.array_equal(a.mask_reader2.array, b.mask_reader2.array)
    assert np.array_equal(a.habitat_truth, b.habitat_truth)
    assert a.maf_rows == b.maf_rows and a.truth == b.truth and a.study.study_uid == b.study.study_uid
    assert not np.array_equal(a.study.data, c.study.data)
    assert not np.array_equal(a.mask.array, c.mask.array)
    assert a.study.identity.patient_id != c.study.identity.patient_id


def test_study_fields_identity_canary_and_grid(small_patient):
    p = small_patient
    s = p.study
    assert s.data.dtype == np.float32 and s.data.shape == (6,) + SMALL
    assert s.phase_times_s == (0.0, 90.0, 180.0, 270.0, 360.0, 450.0)
    assert s.layout == "synthetic" and s.timing_source == "synthetic"
    assert s.geometry.spacing_mm == (2.0, 0.7, 0.7) and s.geometry.shape == SMALL
    ident = s.identity
    for value in (ident.patient_name, ident.patient_id, ident.accession_number):
        assert CANARY in value
    assert ident.birth_date and ident.birth_date.isdigit() and len(ident.birth_date) == 8
    assert CANARY in p.sample_id
    assert p.mask.geometry == s.geometry and p.mask_reader2.geometry == s.geometry
    assert p.habitat_truth.dtype == np.uint8
    assert set(np.unique(p.habitat_truth)) == {0, 1, 2, 3}
    assert np.array_equal(p.habitat_truth > 0, p.mask.array)
    assert np.all(s.data >= 0) and np.all(np.isfinite(s.data))


def test_default_tumour_is_about_20k_voxels_and_irregular(default_patient):
    m = default_patient.mask.array
    assert 15_000 <= m.sum() <= 26_000
    assert ndimage.label(m)[1] == 1
    # Moment-matched ellipsoid (same centroid and second moments, in mm): an ellipsoid mask would match it
    # almost exactly (Dice ~0.99); the lobulated tumour must not.
    zyx = np.argwhere(m) * np.asarray(default_patient.study.spacing_mm)
    centre = zyx.mean(0)
    evals, evecs = np.linalg.eigh(np.cov((zyx - centre).T))
    grid = np.argwhere(np.ones(m.shape, bool)) * np.asarray(default_patient.study.spacing_mm) - centre
    q = ((grid @ evecs) ** 2 / (5.0 * evals)).sum(1).reshape(m.shape)
    ellipsoid = q <= 1.0
    dice = 2 * np.sum(ellipsoid & m) / (ellipsoid.sum() + m.sum())
    assert dice < 0.95


def test_reader2_mask_differs_by_about_one_voxel(small_patient):
    a, b = small_patient.mask.array, small_patient.mask_reader2.array
    dice = 2 * np.sum(a & b) / (a.sum() + b.sum())
    assert 0.75 < dice < 0.99
    plane = np.zeros((3, 3, 3), bool)
    plane[1] = ndimage.generate_binary_structure(2, 1)
    # every reader-2 voxel is within one in-plane voxel of reader 1; reader 1 voxels farther than that from
    # reader 2 can only be thin (eroded-away) slivers
    assert not np.any(b & ~ndimage.binary_dilation(a, plane))
    assert np.sum(a & ~ndimage.binary_dilation(b, plane)) <= 0.01 * a.sum()


def test_habitats_are_spatially_coherent(default_patient):
    h = default_patient.habitat_truth
    for k in (1, 2, 3):
        region = h == k
        labels, n = ndimage.label(region)
        sizes = np.bincount(labels.ravel())[1:]
        # coherent blobs: components of >= 200 voxels hold >= 95 % of the habitat (noise would give thousands
        # of tiny components)
        assert sizes[sizes >= 200].sum() >= 0.95 * region.sum(), f"habitat {k} is fragmented"
    # neighbours along x inside the tumour mostly share the label (salt-and-pepper would give ~0.35)
    both = (h[:, :, 1:] > 0) & (h[:, :, :-1] > 0)
    same = (h[:, :, 1:] == h[:, :, :-1]) & both
    assert same.sum() / both.sum() > 0.9


def _kinetic_features(study, mask, early):
    d = study.data.astype(np.float64)
    t = np.asarray(study.phase_times_s) / 60.0
    s0, s1, s2 = d[0][mask], d[early][mask], d[-1][mask]
    pe1, pe2 = 100 * (s1 - s0) / s0, 100 * (s2 - s0) / s0
    wis, wos, ser = pe1 / (t[early] - t[0]), (pe1 - pe2) / (t[-1] - t[early]), pe1 / pe2
    return np.column_stack([wis, wos, ser, pe1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_on_kinetic_parameters_recovers_habitats(seed):
    """k-means (K=3, z-scored WIS/WOS/SER/PE, relative slopes as SPEC section 2; early phase 90 s or 180 s, late =
    last) must find the truth: Dice >= 0.85 per habitat, and ordering clusters by PE must give 1 < 2 < 3
    (measured: Dice >= 0.93 at SNR 30 for seeds 0-9)."""
    p = make_patient(seed, shape=(32, 128, 128), tumour_volume_ml=6.0)
    m = p.mask.array
    truth = p.habitat_truth[m]
    for early in (1, 2):
        x = _kinetic_features(p.study, m, early)
        z = (x - x.mean(0)) / x.std(0)
        km = KMeans(n_clusters=3, n_init=4, random_state=0).fit(z)
        pe = np.array([x[km.labels_ == k, 3].mean() for k in range(3)])
        rank = np.empty(3, int)
        rank[np.argsort(pe)] = [1, 2, 3]
        pred = rank[km.labels_]
        for k in (1, 2, 3):
            dice = 2 * np.sum((pred == k) & (truth == k)) / (np.sum(pred == k) + np.sum(truth == k))
            assert dice >= 0.85, f"early phase {early}, habitat {k}: Dice {dice:.3f}"
        true_pe = [np.median(x[truth == k, 3]) for k in (1, 2, 3)]
        assert true_pe[0] < true_pe[1] < true_pe[2]
        assert 40 < true_pe[0] and true_pe[2] < 300


def test_habitat_curves_have_the_named_shapes(default_patient):
    """Mean tumour-habitat curves: 1 persistent (still rising at the end), 2 plateau (late within 10 % of the
    90-180 s level), 3 wash-out (falls by > 10 %); PE at 90 s is near the analytic A(1-e^-kin*1.5)e^-kout*1.5."""
    p = default_patient
    d = p.study.data
    for k, curve in HABITAT_CURVES.items():
        region = p.habitat_truth == k
        mean = d[:, region].mean(1)
        rel = mean / mean[0] - 1
        expected = curve.relative_enhancement([90.0])[0] * p.biology.perfusion_scale
        assert abs(rel[1] - expected) < 0.2 * expected + 0.1
        change = (rel[-1] - rel[2]) / rel[2]
        if k == 1:
            assert change > 0.1
        elif k == 2:
            assert abs(change) < 0.1
        else:
            assert change < -0.1


def test_peritumoral_zone_enhances_mildly():
    """Same seed (same anatomy and noise) with and without peritumoral enhancement: the 0-5 mm ring enhances
    more, voxels beyond the zone are unchanged, and the ring stays well below the tumour."""
    base = make_patient(21, shape=SMALL, tumour_volume_ml=4.0)
    flat = make_patient(21, shape=SMALL, tumour_volume_ml=4.0,
                        biology=dataclasses.replace(base.biology, peritumoral_amplitude=0.0))
    strong = make_patient(21, shape=SMALL, tumour_volume_ml=4.0,
                          biology=dataclasses.replace(base.biology, peritumoral_amplitude=0.5))
    m = base.mask.array
    dist = ndimage.distance_transform_edt(~m, sampling=base.study.spacing_mm)
    ring = (dist > 0) & (dist <= 5.0)
    far = dist > 10.0
    assert np.array_equal(flat.study.data[:, far], strong.study.data[:, far])
    late_gain = strong.study.data[-1][ring].mean() - flat.study.data[-1][ring].mean()
    assert late_gain > 0.05 * flat.study.data[0][ring].mean()
    ring_pe = strong.study.data[-1][ring].mean() / strong.study.data[0][ring].mean() - 1
    tumour_pe = strong.study.data[-1][m].mean() / strong.study.data[0][m].mean() - 1
    assert 0 < ring_pe < 0.6 * tumour_pe


def test_noise_in_air_is_rayleigh_at_the_requested_snr():
    """Air has zero signal, so its magnitude noise is Rayleigh with mean sigma*sqrt(pi/2), sigma = 1000/SNR;
    noise is independent between phases."""
    for snr in (20.0, 40.0):
        p = make_patient(2, shape=SMALL, snr=snr, tumour_volume_ml=3.0)
        # anterior corners, in front of the curved skin line (which is >= 27 rows deep at these columns)
        air = np.concatenate([p.study.data[:, :, :20, :12], p.study.data[:, :, :20, -12:]], axis=3)
        sigma = 1000.0 / snr
        # values are rounded to integers; the mean is still within a few % of the Rayleigh mean
        assert air[0].mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.05)
        for a, b in ((0, 1), (1, 5), (2, 3)):
            r = np.corrcoef(air[a].ravel(), air[b].ravel())[0, 1]
            assert abs(r) < 0.05  # ~11,500 samples: SE of r ~0.009


def test_cohort_marginals_follow_table_1_and_oracle_auc_is_recorded():
    recs = cohort_records(300, seed=0)
    assert len({r.patient_id for r in recs}) == 300 and all(CANARY in r.patient_id for r in recs)
    b = [r.biology for r in recs]
    pcr = np.array([x.pcr for x in b])
    lvi = np.array([x.lvi for x in b])
    ki67 = np.array([x.ki67_percent for x in b])
    mutated = np.array([x.vaf_sum > 0 for x in b])
    assert 0.32 <= pcr.mean() <= 0.48
    assert lvi[pcr].mean() <= 0.05
    assert 0.36 <= lvi[~pcr].mean() <= 0.56
    assert (ki67 >= 20).mean() >= 0.93
    assert 0.2 <= mutated.mean() <= 0.42
    vafs = [v.vaf for x in b for v in x.variants if v.gene in ("REL", "MED23")]
    assert min(vafs) >= 0.05 and max(vafs) <= 0.6
    months = np.array([x.dfs_months for x in b])
    assert months.min() >= 0 and months.max() <= 93
    # 7:3 split stratified by pCR
    split = np.array([r.split for r in recs])
    for cls in (True, False):
        frac = (split[pcr == cls] == "validation").mean()
        assert abs(frac - 0.3) < 0.01
    # oracle AUC (true probabilities) is high and beats the imaging oracle (ranking by the imaging phenotype)
    p = np.array([x.pcr_probability for x in b])
    oracle = roc_auc_score(pcr, p)
    imaging_oracle = roc_auc_score(pcr, -np.array([x.imaging_phenotype for x in b]))
    assert oracle > 0.8
    assert 0.7 < imaging_oracle < oracle


def test_pcr_is_driven_by_the_imaged_habitat_fractions_not_the_latent():
    """The imaging phenotype is log(f_poorly / f_highly) / 1.04 of the drawn fractions, and ranking by it beats
    ranking by the latent aggressiveness (which the images show only through noisy fractions)."""
    from tnbc_desktop.core.synthetic.biology import imaging_phenotype

    b = [r.biology for r in cohort_records(4000, seed=3)]
    z = np.array([x.imaging_phenotype for x in b])
    assert np.allclose(z, [imaging_phenotype(x.habitat_fractions) for x in b])
    assert np.allclose(z, [np.log(x.habitat_fractions[0] / x.habitat_fractions[2]) / 1.04 for x in b])
    assert 0.9 < z.std() < 1.1  # the 1.04 scale makes z unit-variance
    y = np.array([x.pcr for x in b])
    a = np.array([x.aggressiveness for x in b])
    assert roc_auc_score(y, -z) > roc_auc_score(y, -a) + 0.005


def test_vaf_carries_signal_beyond_imaging_and_pathology():
    """With the imaging latent and LVI known, adding VAF_sum improves discrimination (a genomic model can win)."""
    b = [r.biology for r in cohort_records(3000, seed=1)]
    y = np.array([x.pcr for x in b])
    z = np.array([x.imaging_phenotype for x in b])
    lvi = np.array([x.lvi for x in b], float)
    vaf = np.array([x.vaf_sum for x in b])
    without = roc_auc_score(y, -1.5 * z - 4.6 * lvi)
    with_vaf = roc_auc_score(y, -1.5 * z - 4.6 * lvi - 4.0 * vaf)
    assert with_vaf > without + 0.01
    # mutated tumours respond less often
    assert y[vaf > 0].mean() < y[vaf == 0].mean() - 0.1
    # non-pCR has worse DFS: more events
    ev = np.array([x.dfs_event for x in b])
    assert ev[~y].mean() > ev[y].mean() + 0.1


def test_maf_rows_match_biology(small_patient):
    rows = small_patient.maf_rows
    bio = small_patient.biology
    assert len(rows) == len(bio.variants)
    required = ("Hugo_Symbol", "Chromosome", "Start_Position", "End_Position", "Reference_Allele",
                "Tumor_Seq_Allele2", "Variant_Classification", "Variant_Type", "Tumor_Sample_Barcode",
                "t_vaf", "HGVSp_Short")
    for r in rows:
        assert all(c in r for c in required)
        assert r["Tumor_Sample_Barcode"] == small_patient.sample_id
        assert abs(r["t_alt_count"] / r["t_depth"] - float(r["t_vaf"])) < 0.01
    expected = sum(float(r["t_vaf"]) for r in rows
                   if r["Hugo_Symbol"] in ("REL", "MED23") and r["Variant_Classification"] in NONSYN)
    assert expected == pytest.approx(bio.vaf_sum, abs=1e-9)
    assert small_patient.truth["latent"]["vaf_sum"] == pytest.approx(bio.vaf_sum)


def test_write_patient_nifti_round_trip(tmp_path, small_patient):
    files = write_patient(small_patient, tmp_path / "p", layout="nifti")
    for path in (files.study, files.mask, files.mask_reader2, files.habitats_truth, files.maf, files.clinical,
                 files.truth, tmp_path / "p" / "study.json"):
        assert path.exists(), path
    assert not list((tmp_path / "p").glob(".tnbc-*"))  # no temp files left
    truth = json.loads(files.truth.read_text())
    assert truth["true_pcr_probability"] == pytest.approx(small_patient.biology.pcr_probability)
    clinical = json.loads(files.clinical.read_text())
    assert clinical["ki67_percent"] == small_patient.ki67_percent
    assert json.loads((tmp_path / "p" / "study.json").read_text())["phase_times_s"] == list(
        small_patient.study.phase_times_s)
    from tnbc_desktop.core.io import masks, study_loader

    study = study_loader.load_study(files.study)
    assert np.array_equal(study.data, small_patient.study.data)
    assert study.phase_times_s == small_patient.study.phase_times_s
    assert study.geometry.same_grid(small_patient.study.geometry)
    mask = masks.load_mask(files.mask, study.geometry)
    assert np.array_equal(mask.array, small_patient.mask.array)
    from tnbc_desktop.core.io import mutations

    panel = mutations.read_mutation_panel(files.maf, sample=small_patient.sample_id)
    assert panel.vaf_sum == pytest.approx(small_patient.biology.vaf_sum, abs=1e-6)


def test_make_cohort_writes_manifest_and_truth(tmp_path):
    manifest = make_cohort(5, seed=3, out_dir=tmp_path / "c", shape=(16, 64, 64), tumour_volume_ml=2.0)
    import csv

    rows = list(csv.DictReader(manifest.open()))
    assert list(rows[0].keys()) == ["patient_id", "study", "mask", "mask2", "phase_times_s", "ki67_percent",
                                    "lvi", "maf", "sample", "pcr", "dfs_months", "dfs_event", "split"]
    recs = cohort_records(5, seed=3)
    for row, rec in zip(rows, recs):
        assert row["patient_id"] == rec.patient_id and int(row["pcr"]) == int(rec.biology.pcr)
        assert row["split"] in ("train", "validation")
        for col in ("study", "mask", "mask2", "maf"):
            assert (manifest.parent / row[col]).exists()
        truth = json.loads((manifest.parent / rec.patient_id / "truth.json").read_text())
        assert truth["pcr"] == rec.biology.pcr
    truth_rows = list(csv.DictReader((tmp_path / "c" / "cohort_truth.csv").open()))
    assert [r["patient_id"] for r in truth_rows] == [r["patient_id"] for r in rows]
    assert all(0 < float(r["true_pcr_probability"]) < 1 for r in truth_rows)
    from tnbc_desktop.core import manifest as manifest_mod

    parsed = manifest_mod.read_manifest(manifest)
    assert len(parsed.rows) == 5 and parsed.rows[0].phase_times_s == (0.0, 90.0, 180.0, 270.0, 360.0, 450.0)


def test_parallel_cohort_writes_the_same_files(tmp_path):
    a = make_cohort(3, seed=4, out_dir=tmp_path / "a", shape=(16, 48, 48), tumour_volume_ml=1.0)
    b = make_cohort(3, seed=4, out_dir=tmp_path / "b", shape=(16, 48, 48), tumour_volume_ml=1.0, n_jobs=2)
    assert a.read_text() == b.read_text()
    for f in sorted((tmp_path / "a").rglob("*")):
        if f.is_file():
            assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes(), f


def test_phase_times_and_invalid_inputs():
    assert phase_times_for(3) == (0.0, 90.0, 180.0)
    assert phase_times_for(8)[-1] == 630.0
    with pytest.raises(InputError):
        phase_times_for(2)
    with pytest.raises(InputError):
        make_patient(0, shape=(4, 64, 64))
    with pytest.raises(InputError):
        make_patient(0, shape=SMALL, phase_times_s=(0, 90, 60))
    with pytest.raises(InputError):
        make_patient(0, shape=SMALL, snr=0)
    with pytest.raises(InputError):
        cohort_records(0, 1)


def test_three_phase_study_keeps_habitats_separable():
    p = make_patient(8, shape=(24, 96, 96), phase_times_s=phase_times_for(3), tumour_volume_ml=3.0)
    assert p.study.n_phases == 3 and len(p.study.phases) == 3
    x = _kinetic_features(p.study, p.mask.array, 1)
    truth = p.habitat_truth[p.mask.array]
    pe = [np.median(x[truth == k, 3]) for k in (1, 2, 3)]
    assert pe[0] < pe[1] < pe[2]


def test_noise_source_fields_are_distinct_draws():
    from tnbc_desktop.core.synthetic.enhancement import NoiseSource

    src = NoiseSource(np.random.default_rng(0), n=1000, n_fields=6, stride=100)
    fields = [src.field((10, 100)).ravel() for _ in range(6)]
    for i in range(6):
        assert np.unique(fields[i]).size == 1000
        for j in range(i + 1, 6):
            assert not np.any(fields[i] == fields[j])  # a voxel never gets the same value twice
    with pytest.raises(StopIteration):
        src.field((10, 100))


def test_more_mixing_brings_poorly_perfused_tissue_to_the_tumour_edge():
    """Wu 2018: aggressive tumours show more interaction between the poorly perfused subregion and the
    parenchyma; here higher ``habitat_mixing`` (driven by aggressiveness) puts more habitat-1 voxels on the edge."""
    base = make_patient(9, shape=(24, 96, 96), tumour_volume_ml=4.0)
    edge_share = []
    for mixing in (0.15, 0.95):
        bio = dataclasses.replace(base.biology, habitat_mixing=mixing, habitat_fractions=(0.34, 0.33, 0.33))
        p = make_patient(9, shape=(24, 96, 96), tumour_volume_ml=4.0, biology=bio)
        m = p.mask.array
        edge = m & ~ndimage.binary_erosion(m)
        edge_share.append(np.mean(p.habitat_truth[edge] == 1))
    assert edge_share[1] > edge_share[0] + 0.05
