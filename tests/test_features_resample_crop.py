"""Cropping the input before B-spline resampling (filters.crop_to_grid) must not change values.

Oracle: SimpleITK resampling of the whole, uncropped volume (what pyradiomics does).
"""
from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from tnbc_desktop.core.features.filters import make_grid, resample_image, resample_mask, to_sitk
from tnbc_desktop.core.study import Geometry


def _whole_volume_resample(img, grid, interpolator):
    rif = sitk.ResampleImageFilter()
    rif.SetOutputSpacing(grid.spacing)
    rif.SetOutputDirection(grid.direction)
    rif.SetSize([int(s) for s in grid.size])
    rif.SetOutputOrigin(grid.origin)
    rif.SetOutputPixelType(img.GetPixelID())
    rif.SetInterpolator(interpolator)
    return sitk.GetArrayFromImage(rif.Execute(img))


def test_cropped_bspline_resampling_equals_whole_volume():
    rng = np.random.default_rng(0)
    shape = (40, 160, 150)
    data = ndimage.gaussian_filter(rng.normal(size=shape), 2.0).astype(np.float32) * 100 + 500
    geom = Geometry(shape=shape, spacing_mm=(2.0, 0.7, 0.7), origin_mm=(-50.0, 20.0, -30.0))
    mask = np.zeros(shape, bool)
    mask[18:24, 70:95, 60:80] = True
    grid = make_grid((np.array([60, 70, 18]), np.array([79, 94, 23])), geom, (1.0, 1.0, 1.0), pad=15)
    img = to_sitk(data, geom)
    ours = sitk.GetArrayFromImage(resample_image(img, grid, "sitkBSpline"))
    whole = _whole_volume_resample(img, grid, sitk.sitkBSpline)
    assert ours.shape == whole.shape
    np.testing.assert_allclose(ours, whole, rtol=1e-9, atol=1e-6)
    m_ours = resample_mask(mask, geom, grid)
    m_whole = _whole_volume_resample(to_sitk(mask.astype(np.uint32), geom), grid, sitk.sitkNearestNeighbor) > 0
    assert np.array_equal(m_ours, m_whole) and m_ours.any()


def test_crop_array_for_grid_keeps_physical_space():
    """A sub-array from crop_array_for_grid resamples to exactly what the whole array gives (oblique grid too)."""
    rng = np.random.default_rng(1)
    shape = (30, 120, 110)
    data = ndimage.gaussian_filter(rng.normal(size=shape), 2.0).astype(np.float32)
    c, s_ = np.cos(0.3), np.sin(0.3)
    direction = (c, -s_, 0.0, s_, c, 0.0, 0.0, 0.0, 1.0)
    geom = Geometry(shape=shape, spacing_mm=(2.0, 0.7, 0.7), origin_mm=(5.0, -3.0, 12.0), direction=direction)
    grid = make_grid((np.array([40, 50, 10]), np.array([60, 70, 16])), geom, (1.0, 1.0, 1.0), pad=10)
    from tnbc_desktop.core.features.filters import crop_array_for_grid

    sub, sub_geom = crop_array_for_grid(data, geom, grid)
    assert sub.size < data.size
    whole = _whole_volume_resample(to_sitk(data, geom), grid, sitk.sitkBSpline)
    ours = sitk.GetArrayFromImage(resample_image(to_sitk(np.ascontiguousarray(sub), sub_geom), grid, "sitkBSpline"))
    np.testing.assert_allclose(ours, whole, rtol=1e-9, atol=1e-7)
