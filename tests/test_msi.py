"""MSI matrix and its 22 features (Wu-lab definition, SPEC section 5).

Oracles: (1) the SPEC section 5 test vector (from an independent implementation of the definition);
(2) a brute-force Python loop over every tumour voxel and neighbour, written from the SPEC text, on random
label maps for 2D-8 and 3D-26 connectivity, with second-order features recomputed by explicit double sums.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from tnbc_desktop.core.msi import MSI_FEATURE_NAMES, msi_features, msi_matrix
from tnbc_desktop.errors import FeatureError

SPEC_M = np.array([[0, 11, 13, 8], [11, 6, 2, 5], [13, 2, 4, 5], [8, 5, 5, 6]])


def test_spec_test_vector():
    lab = np.array([[[1, 1, 2], [1, 3, 2], [3, 3, 2]]], dtype=np.uint8)
    np.testing.assert_array_equal(msi_matrix(lab), SPEC_M)
    f = msi_features(lab, 1.0)
    assert list(f) == list(MSI_FEATURE_NAMES) and len(f) == 22
    assert f["MSI_contrast"] == pytest.approx(3.115385, abs=1e-6)
    assert f["MSI_homogeneity"] == pytest.approx(0.480769, abs=1e-6)
    assert f["MSI_correlation"] == pytest.approx(-0.185811, abs=1e-6)
    assert f["MSI_energy"] == pytest.approx(0.083580, abs=1e-6)
    raw = [f[f"MSI_{n}"] for n in ("H1H1", "H2H2", "H3H3", "H1bg", "H2bg", "H3bg", "H1H2", "H1H3", "H2H3")]
    assert raw == [6, 4, 6, 11, 13, 8, 2, 5, 5]
    norm = [f[f"MSInorm_{n}"] for n in ("H1H1", "H2H2", "H3H3", "H1bg", "H2bg", "H3bg", "H1H2", "H1H3", "H2H3")]
    np.testing.assert_allclose(norm, [0.057692, 0.038462, 0.057692, 0.105769, 0.125, 0.076923, 0.019231,
                                      0.048077, 0.048077], atol=1e-6)
    # raw features scale with voxel volume, normalised ones do not
    g = msi_features(lab, 0.98)
    assert g["MSI_H2bg"] == pytest.approx(13 * 0.98) and g["MSInorm_H2bg"] == f["MSInorm_H2bg"]


def brute_force_matrix(lab: np.ndarray, connectivity: str) -> np.ndarray:
    offs = [o for o in itertools.product((-1, 0, 1), repeat=3) if o != (0, 0, 0)]
    if connectivity == "2d-8":
        offs = [o for o in offs if o[0] == 0]
    elif connectivity == "3d-6":
        offs = [(-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)]
    m = np.zeros((4, 4), dtype=np.int64)
    nz, ny, nx = lab.shape
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                c = lab[z, y, x]
                if c == 0:
                    continue
                for dz, dy, dx in offs:
                    zz, yy, xx = z + dz, y + dy, x + dx
                    inside = 0 <= zz < nz and 0 <= yy < ny and 0 <= xx < nx
                    m[c, lab[zz, yy, xx] if inside else 0] += 1
    m[0, 0] = 0
    for j in range(4):
        m[0, j] = m[j, 0]
    return m


def brute_force_second_order(m):
    p = m / m.sum()
    idx = range(1, 5)
    mu_i = sum(i * p[i - 1, j - 1] for i in idx for j in idx)
    mu_j = sum(j * p[i - 1, j - 1] for i in idx for j in idx)
    sd_i = np.sqrt(sum((i - mu_i) ** 2 * p[i - 1, j - 1] for i in idx for j in idx))
    sd_j = np.sqrt(sum((j - mu_j) ** 2 * p[i - 1, j - 1] for i in idx for j in idx))
    return {
        "MSI_contrast": sum((i - j) ** 2 * p[i - 1, j - 1] for i in idx for j in idx),
        "MSI_homogeneity": sum(p[i - 1, j - 1] / (1 + abs(i - j)) for i in idx for j in idx),
        "MSI_correlation": sum((i - mu_i) * (j - mu_j) * p[i - 1, j - 1] for i in idx for j in idx) / (sd_i * sd_j),
        "MSI_energy": sum(p[i - 1, j - 1] ** 2 for i in idx for j in idx),
    }


@pytest.mark.parametrize("connectivity", ["2d-8", "3d-6", "3d-26"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force_on_random_label_maps(connectivity, seed):
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, 4, size=(5, 9, 8)).astype(np.uint8)
    lab[rng.random(lab.shape) < 0.3] = 0
    m = msi_matrix(lab, connectivity)
    ref = brute_force_matrix(lab, connectivity)
    np.testing.assert_array_equal(m, ref)
    np.testing.assert_array_equal(m, m.T)
    f = msi_features(lab, 2.5, connectivity)
    for k, v in brute_force_second_order(ref).items():
        assert f[k] == pytest.approx(v, rel=1e-12)
    assert f["MSI_H1H3"] == pytest.approx(ref[3, 1] * 2.5)
    assert f["MSInorm_H3bg"] == pytest.approx(ref[3, 0] / ref.sum())


def test_tumour_in_larger_volume_same_as_cropped():
    rng = np.random.default_rng(7)
    small = rng.integers(1, 4, size=(3, 6, 5)).astype(np.uint8)
    big = np.zeros((10, 20, 20), np.uint8)
    big[4:7, 3:9, 10:15] = small
    np.testing.assert_array_equal(msi_matrix(big, "3d-26"), msi_matrix(small, "3d-26"))


def test_errors():
    with pytest.raises(FeatureError):
        msi_features(np.zeros((2, 3, 3), np.uint8), 1.0)
    with pytest.raises(FeatureError):
        msi_matrix(np.full((1, 2, 2), 4, np.uint8))
    with pytest.raises(FeatureError):
        msi_matrix(np.ones((1, 2, 2), np.uint8), connectivity="3d-18")


def test_every_schema_connectivity_is_the_code_s():
    """The bundle schema's msi_connectivity enum and the connectivities msi.py computes are the same set."""
    import json

    from tnbc_desktop.core.msi import CONNECTIVITIES
    from tnbc_desktop.paths import resource_path

    schema = json.loads(resource_path("bundle.schema.json").read_text(encoding="utf-8"))
    allowed = schema["properties"]["extraction"]["properties"]["msi_connectivity"]["enum"]
    assert sorted(allowed) == sorted(CONNECTIVITIES)
    lab = np.zeros((3, 4, 4), np.uint8)
    lab[1, 1:3, 1:3] = [[1, 2], [3, 1]]
    for conn in allowed:
        assert len(msi_features(lab, 1.0, conn)) == 22
