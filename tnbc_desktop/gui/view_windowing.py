"""Window / level and the cached subtraction MIP of :class:`tnbc_desktop.gui.image_view.SliceView`, kept apart from
the drawing code.

Each image kind ("signal", "subtraction", "mip") keeps its own window. Its default comes from
:mod:`tnbc_desktop.core.display_window`: a body window computed once per study, raised to cover the lesion
when a mask is known. A window the user sets (drag, preset) stays until ``reset_window``. The mixin reads the
view's ``study``, ``mode``, ``_early`` (early phase index), ``_window_mask`` and the dicts ``_windows``,
``_default_windows``, ``_body_windows``, ``_mip_cache``, and calls its ``_apply_levels`` and ``windowChanged``.
"""
from __future__ import annotations

import numpy as np

from tnbc_desktop.core.display_window import (DisplayWindow, body_window, image_sample, lesion_values,
                                              window_presets, with_lesion)


def subtraction_mip(data: np.ndarray, phase: int) -> np.ndarray:
    """Axial MIP [y, x] of ``data[phase] - data[0]`` over z, one slice at a time (no 3D temporary)."""
    out = np.full(data.shape[2:], -np.inf, dtype=np.float32)
    for z in range(data.shape[1]):
        np.maximum(out, data[phase, z] - data[0, z], out=out)
    return out


class ViewWindowing:
    """Window / level state and defaults per image kind (a mixin of the slice view)."""

    @property
    def window_kind(self) -> str:
        """Which window the image uses: "subtraction", "mip" or "signal" (also under a kinetic map)."""
        return self.mode if self.mode in ("subtraction", "mip") else "signal"

    @property
    def window(self) -> tuple[float, float]:
        """(level, width) of the image shown, in its units (signal or signal difference)."""
        w = self._windows.get(self.window_kind) or self.default_window()
        return w.level, w.width

    def set_window(self, level: float, width: float) -> None:
        self._windows[self.window_kind] = DisplayWindow(float(level), max(float(width), 1e-6))
        self._apply_levels()
        self.windowChanged.emit(*self.window)

    def reset_window(self) -> None:
        """Back to the default window of the image shown (it then follows later mask changes again)."""
        self._windows.pop(self.window_kind, None)
        self._apply_levels()
        self.windowChanged.emit(*self.window)

    def default_window(self, kind: str | None = None) -> DisplayWindow:
        """The default window of ``kind`` (default: the one shown), computed once per study and mask."""
        kind = kind or self.window_kind
        if kind not in self._default_windows:
            self._default_windows[kind] = self._compute_default(kind)
        return self._default_windows[kind]

    def window_presets(self) -> dict[str, DisplayWindow]:
        """Named windows for the kind shown (default first); empty without a study."""
        if self.study is None:
            return {}
        sample, lesion = self._window_samples(self.window_kind)
        return window_presets(sample, lesion, self.default_window())

    def _window_samples(self, kind: str):
        data, e, mask = self.study.data, self._early, self._window_mask
        if kind == "signal":
            return image_sample(data[e]), lesion_values(data[e], mask)
        lesion = None
        if mask is not None and mask.any():
            lesion = lesion_values(data[e], mask) - lesion_values(data[0], mask)
        if kind == "mip":
            return self.mip(e), lesion
        return image_sample(data[e]) - image_sample(data[0]), lesion

    def _compute_default(self, kind: str) -> DisplayWindow:
        if self.study is None:
            return DisplayWindow(0.5, 1.0)
        sample, lesion = self._window_samples(kind)
        if kind not in self._body_windows:  # per study; a mask change only re-reads the lesion
            self._body_windows[kind] = body_window(sample, floor=None if kind == "signal" else 0.0)
        return with_lesion(self._body_windows[kind], lesion)

    def mip(self, phase: int) -> np.ndarray:
        """Axial MIP of (phase - pre-contrast), cached per phase."""
        if phase not in self._mip_cache:
            self._mip_cache[phase] = subtraction_mip(self.study.data, phase)
        return self._mip_cache[phase]

    def drag_window(self, dx_px: float, dy_px: float) -> None:
        """Left-drag: vertical = level, horizontal = width, in steps of 1/400 of the default width."""
        step = self.default_window().width / 400.0
        level, width = self.window
        self.set_window(level - dy_px * step, width + dx_px * step)
