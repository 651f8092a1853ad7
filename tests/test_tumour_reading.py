"""Reading conventions computed in the core: longest diameters (ellipsoid oracle), orientation letters from the
direction matrix, and the most-suspicious curve type rule."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tnbc_desktop.core.case import CurveSummary
from tnbc_desktop.core.orientation import direction_letters, plane_frame
from tnbc_desktop.core.tumour_reading import most_suspicious_curve_type, read_tumour
from tnbc_desktop.core.tumour_size import farthest_pair, tumour_diameters


def ellipsoid(shape, spacing, centre_mm, semi_axes_mm, rotation=None):
    """Bool mask of voxel centres inside an ellipsoid (semi-axes along the rotated z, y, x axes, mm)."""
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)], indexing="ij")
    pts = np.stack([g - c for g, c in zip(grids, centre_mm)], axis=-1)
    if rotation is not None:
        pts = pts @ rotation
    return np.sum((pts / np.asarray(semi_axes_mm)) ** 2, axis=-1) <= 1.0


@pytest.mark.parametrize("spacing", [(2.0, 0.7, 0.7), (1.0, 1.0, 1.0), (3.0, 0.8, 1.2)])
def test_ellipsoid_longest_diameters_match_the_analytic_values_within_one_voxel(spacing):
    shape = (40, 90, 90)
    centre = [n * s / 2 for n, s in zip(shape, spacing)]
    axes = (14.0, 11.0, 26.0)  # z, y, x semi-axes in mm: longest along x, 52 mm
    d = tumour_diameters(ellipsoid(shape, spacing, centre, axes), spacing)
    assert abs(d.longest_3d_mm - 2 * axes[2]) <= max(spacing)
    # the largest axial section is the one through the centre: semi-axes 11 and 26 mm
    assert abs(d.axial_mm - 2 * axes[2]) <= max(spacing[1:])
    assert abs(d.axial_slice * spacing[0] - centre[0]) <= spacing[0]
    a, b = np.asarray(d.axial_ends), np.asarray(d.ends_3d)
    assert a[0][0] == a[1][0] == d.axial_slice
    # the end points drawn are the outer faces: their distance is the number reported
    assert math.isclose(np.linalg.norm((b[0] - b[1]) * spacing), d.longest_3d_mm, rel_tol=1e-9)
    assert math.isclose(np.linalg.norm((a[0] - a[1]) * spacing), d.axial_mm, rel_tol=1e-9)


def test_oblique_ellipsoid_3d_diameter_exceeds_every_axial_one():
    spacing = (1.0, 1.0, 1.0)
    c, s = math.cos(math.radians(50)), math.sin(math.radians(50))
    rot = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])  # long axis tilted out of the axial plane
    axes = (6.0, 6.0, 22.0)
    d = tumour_diameters(ellipsoid((60, 40, 60), spacing, (30, 20, 30), axes, rot), spacing)
    assert abs(d.longest_3d_mm - 44.0) <= 1.0
    assert d.axial_mm < d.longest_3d_mm - 5.0


def test_farthest_pair_on_flat_and_collinear_points_and_empty_mask():
    line = np.array([[0, 0, 0], [0, 0, 3], [0, 0, 10], [0, 0, 1.0]])
    assert farthest_pair(line)[0] == 10.0
    flat = np.argwhere(np.ones((1, 30, 40), bool)).astype(float)  # one slice: Qhull cannot build a 3D hull
    assert math.isclose(farthest_pair(flat)[0], math.hypot(29, 39))
    assert tumour_diameters(np.zeros((4, 5, 6), bool), (1, 1, 1)) is None


def test_single_voxel_tumour_has_zero_diameters():
    m = np.zeros((5, 5, 5), bool)
    m[2, 2, 2] = True
    d = tumour_diameters(m, (2.0, 1.0, 1.0))
    assert d.axial_mm == 1.0 and d.longest_3d_mm == 2.0 and d.axial_slice == 2  # one voxel's largest side


@pytest.mark.parametrize("direction,axial,coronal,sagittal", [
    ((1, 0, 0, 0, 1, 0, 0, 0, 1),
     dict(left="R", right="L", top="A", bottom="P"), dict(left="R", right="L", top="S", bottom="I"),
     dict(left="A", right="P", top="S", bottom="I")),
    ((-1, 0, 0, 0, -1, 0, 0, 0, 1),  # x and y index axes flipped (e.g. a head-first prone RAS-stored volume)
     dict(left="L", right="R", top="P", bottom="A"), dict(left="L", right="R", top="S", bottom="I"),
     dict(left="P", right="A", top="S", bottom="I")),
    ((1, 0, 0, 0, 1, 0, 0, 0, -1),  # slices stored head to foot: the reformats are not flipped
     dict(left="R", right="L", top="A", bottom="P"), dict(left="R", right="L", top="S", bottom="I"),
     dict(left="A", right="P", top="S", bottom="I")),
])
def test_orientation_markers_follow_the_direction_matrix(direction, axial, coronal, sagittal):
    for plane, want in (("axial", axial), ("coronal", coronal), ("sagittal", sagittal)):
        assert plane_frame(direction, plane).markers() == want, plane
    assert plane_frame(direction, "coronal").flip_rows == (direction[8] > 0)


def test_oblique_axis_gets_two_letters():
    assert direction_letters((0.8, -0.6, 0.0)) == "LA"
    assert direction_letters((0.0, 0.0, -1.0)) == "I"


def _curve(region, n, ctype):
    return CurveSummary(region, (0.0, 90.0), (1.0, 2.0), (0.0, 0.0), n, ctype)


def test_curve_type_is_the_most_suspicious_sizeable_habitat_not_the_mean():
    curves = {"tumour": _curve("tumour", 1000, "plateau"), "H1": _curve("H1", 500, "persistent"),
              "H2": _curve("H2", 380, "plateau"), "H3": _curve("H3", 120, "washout")}
    assert most_suspicious_curve_type(curves) == ("washout", "H3")
    reading = read_tumour(None, (1, 1, 1), curves)
    assert reading.curve_type == "washout" and reading.mean_curve_type == "plateau"
    assert "wash-out (H3)" in reading.curve_text() and "mean curve plateau" in reading.curve_text()
    # a wash-out habitat below 5 % of the tumour does not decide; the plateau habitat does
    small = dict(curves, H3=_curve("H3", 40, "washout"))
    assert most_suspicious_curve_type(small) == ("plateau", "H2")
    # no habitats (before an analysis): the mean curve decides
    assert most_suspicious_curve_type({"tumour": _curve("tumour", 50, "persistent")}) == (
        "persistent", "tumour mean curve")


def test_report_prints_the_diameters_and_curve_type_of_the_result(tmp_path):
    import dataclasses

    from tests.builders import fake_case_result, pdf_text
    from tnbc_desktop.core.report import write_report

    base = fake_case_result()
    curves = dict(base.curves, H3=dataclasses.replace(base.curves["H3"], curve_type="washout"))
    reading = read_tumour(base.mask.array, base.study.spacing_mm, curves)
    result = dataclasses.replace(base, curves=curves, reading=reading)
    n, text, _ = pdf_text(write_report(result, tmp_path / "r.pdf"))
    d = reading.diameters
    assert n == 2
    assert f"{d.axial_mm:.1f} mm axial (slice {d.axial_slice + 1}), {d.longest_3d_mm:.1f} mm 3D" in text
    assert "curve type wash-out (H3); mean curve persistent" in text


def test_analyze_json_carries_the_reading():
    from tnbc_desktop.cli.analyze import reading_json

    m = ellipsoid((20, 40, 40), (2.0, 1.0, 1.0), (20, 20, 20), (8.0, 6.0, 12.0))
    curves = {"tumour": _curve("tumour", 1000, "plateau"), "H3": _curve("H3", 300, "washout")}
    reading = read_tumour(m, (2.0, 1.0, 1.0), curves)
    doc = reading_json(reading)
    assert doc["longest_3d_mm"] == round(reading.diameters.longest_3d_mm, 2)
    assert doc["axial_slice"] == reading.diameters.axial_slice + 1  # numbered from 1, as on screen and in the PDF
    assert (doc["curve_type"], doc["curve_type_source"], doc["mean_curve_type"]) == ("washout", "H3", "plateau")
    assert reading_json(None) is None
