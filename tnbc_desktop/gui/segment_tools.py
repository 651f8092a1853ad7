"""Tumour-mask tools in the viewer: a thin Qt binding of the headless segmentation and editor.

:class:`SegmentationController` routes left-button events of the slice view (when a tool is chosen) to
:class:`~tnbc_desktop.core.segmentation.lesion.LesionSegmenter` (seed -> live preview, computed off the GUI
thread, the latest threshold wins) and :class:`~tnbc_desktop.core.segmentation.editor.MaskEditor` (paint,
erase, fill, clear, undo/redo). The mask being edited is drawn in place: a brush dab redraws only the
overlay of the shown slice. The analysis takes a copy of reader 1's mask with its provenance
(:meth:`mask_for_analysis`, :meth:`analysis_inputs`); an unsaved mask is written with the session autosave
(:meth:`autosave_into`). Keys are listed in ``segment_panel.KEY_HELP`` (Help menu).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from tnbc_desktop.core.segmentation import LesionSegmenter, MaskOrigin, MaskProvenance, SegmentationRequest
from tnbc_desktop.core.segmentation.agreement import compare_masks
from tnbc_desktop.core.segmentation.editor import MaskEditor
from tnbc_desktop.core.study import Mask
from tnbc_desktop.errors import TnbcError
from tnbc_desktop.gui import dialogs
from tnbc_desktop.gui.segment_panel import SegmentToolsPanel
from tnbc_desktop.gui.worker import BackgroundTask

AUTOSAVE_MASK = "unsaved_mask.nii"
MASK_SAVE_FILTER = "NIfTI (*.nii.gz);;DICOM-SEG (*.dcm);;NRRD (*.nrrd)"


class SegmentationController(QObject):
    """Signals: ``previewReady(object)`` (a SegmentationResult, or the error), ``maskEdited()``,
    ``maskSaved(str)``."""

    previewReady = Signal(object)
    maskEdited = Signal()
    maskSaved = Signal(str)

    def __init__(self, window, panel: SegmentToolsPanel):
        super().__init__(window)
        self.window, self.panel, self.view = window, panel, window.viewer.view
        self.study = None
        self.segmenter: LesionSegmenter | None = None
        self.editors: dict[int, MaskEditor | None] = {1: None, 2: None}
        self.active = 1
        self.preview = None
        self._seed_zyx: tuple[int, int, int] | None = None
        self._preview_task: BackgroundTask | None = None
        self._preview_pending = False
        self._preview_buffer: np.ndarray | None = None
        self._autosaved = False
        self._case_key: tuple | None = None  # (study source, mask path) of the case the editors belong to
        self.view.box.left_tool = None
        p = panel
        for name, button in p.tool_buttons.items():
            button.toggled.connect(lambda on, n=name: on and self.set_tool(n))
        p.threshold_slider.valueChanged.connect(lambda _v: self._request_preview())
        p.accept_button.clicked.connect(self.accept)
        p.reject_button.clicked.connect(self.reject)
        p.clear_button.clicked.connect(self.clear_slice)
        p.undo_button.clicked.connect(self.undo)
        p.redo_button.clicked.connect(self.redo)
        p.save_button.clicked.connect(self.ask_save)
        p.reader2_button.toggled.connect(self.draw_reader2)
        p.reader2_load_button.clicked.connect(self.ask_load_reader2)
        window.caseLoaded.connect(lambda: self.attach(window.case, window.state))
        self._update_labels()

    # ------------------------------------------------------------------ case
    @property
    def editor(self) -> MaskEditor | None:
        return self.editors[self.active]

    def attach(self, case, state) -> None:
        """A case was shown: reader 1 starts from its mask (or empty), with the provenance the session holds."""
        self.study = case.study
        self._case_key = self._key(state)
        self.segmenter = LesionSegmenter(case.study)
        self.preview, self._seed_zyx, self._preview_buffer = None, None, None
        g = case.study.geometry
        if state.mask_provenance:
            try:
                prov = MaskProvenance.from_dict(state.mask_provenance)
            except ValueError:
                prov = MaskProvenance.from_file(state.mask_path or "")
        else:
            prov = MaskProvenance.from_file(state.mask_path) if state.mask_path else MaskProvenance(MaskOrigin.DRAWN)
        initial = None if case.mask is None else case.mask.array
        self.editors = {1: MaskEditor(g.shape, g.spacing_mm, initial, prov), 2: None}
        self.editors[1].modified = bool(state.mask_autosave)  # a restored unsaved mask is still unsaved
        self.active = 1
        self.panel.reader2_button.blockSignals(True)
        self.panel.reader2_button.setChecked(False)
        self.panel.reader2_button.blockSignals(False)
        self._show_editor_mask(force=True)
        self._update_labels()

    @staticmethod
    def _key(state) -> tuple:
        return tuple(state.study_source), state.mask_path

    # ------------------------------------------------------------------ tools and mouse
    def set_tool(self, name: str) -> None:
        if self.panel.tool() != name:
            self.panel.set_tool(name)
        self.view.box.left_tool = None if name == "navigate" else self

    def _voxel(self, scene_pos):
        return self.view.voxel_at(scene_pos)

    def tool_click(self, scene_pos) -> None:
        voxel = self._voxel(scene_pos)
        if voxel is None or self.editor is None:
            return
        tool = self.panel.tool()
        if tool == "seed":
            self.start_preview(voxel)
        elif tool == "fill":
            self._edited(self.editor.fill(voxel))
        elif tool in ("paint", "erase"):
            self.tool_press(scene_pos)
            self.tool_release(scene_pos)

    def tool_press(self, scene_pos) -> None:
        if self.editor is None or self.panel.tool() not in ("paint", "erase"):
            return
        self.editor.begin_stroke(erase=self.panel.tool() == "erase")
        self.tool_move(scene_pos)

    def tool_move(self, scene_pos) -> None:
        voxel = self._voxel(scene_pos)
        if voxel is None or self.editor is None or self.panel.tool() not in ("paint", "erase"):
            return
        box = self.editor.dab(voxel, self.panel.brush_spin.value(),
                              "sphere" if self.panel.sphere_box.isChecked() else "slice",
                              erase=self.panel.tool() == "erase")
        if box is not None:
            self._show_editor_mask(box=box)
            self._update_labels()

    def tool_release(self, scene_pos) -> None:
        if self.editor is not None and self.editor.end_stroke():
            self._edited(True, redraw=False)

    def tool_wheel(self, delta: int) -> None:
        self.scale_brush(1.2 if delta > 0 else 0.8)

    def scale_brush(self, factor: float) -> None:
        self.panel.brush_spin.setValue(self.panel.brush_spin.value() * factor)

    # ------------------------------------------------------------------ semi-automatic preview
    def start_preview(self, voxel_zyx) -> None:
        self._seed_zyx = tuple(int(v) for v in voxel_zyx)
        self._request_preview()

    def _request(self) -> SegmentationRequest:
        z, y, x = self._seed_zyx
        return SegmentationRequest(seed_xyz=(x, y, z), threshold_pe=float(self.panel.threshold_slider.value()))

    def _request_preview(self) -> None:
        if self._seed_zyx is None or self.segmenter is None:
            return
        if self._preview_task is not None and self._preview_task.running:
            self._preview_pending = True  # the latest threshold is computed when this one ends
            return
        request, segmenter = self._request(), self.segmenter
        task = BackgroundTask(lambda progress, cancel: segmenter.segment(request), self)
        task.finished.connect(self._preview_done)
        task.failed.connect(self._preview_done)
        task.done.connect(self._preview_next)
        self._preview_task = task
        task.start()

    def _preview_next(self) -> None:
        if self._preview_pending:
            self._preview_pending = False
            self._request_preview()

    def _preview_done(self, outcome) -> None:
        if isinstance(outcome, Exception):
            self.preview = None
            self.panel.message_label.setText(str(outcome.problem if isinstance(outcome, TnbcError) else outcome))
            self._show_editor_mask(force=True)
        else:
            self.preview = outcome
            self.panel.message_label.setText("")
            if self._preview_buffer is None:
                self._preview_buffer = np.zeros(self.study.geometry.shape, dtype=bool)
            np.copyto(self._preview_buffer, outcome.mask.array)
            if self.view.overlays.mask is not self._preview_buffer:
                self.view.set_overlays(mask=self._preview_buffer)
            else:
                self.view.refresh_overlays()
            self.panel.volume_label.setText(f"Preview: {outcome.mask.volume_ml:.2f} ml - Accept or Reject")
        self.panel.accept_button.setEnabled(self.preview is not None)
        self.panel.reject_button.setEnabled(self._seed_zyx is not None)
        self.previewReady.emit(outcome)

    def accept(self) -> None:
        if self.preview is None or self.editor is None:
            return
        self.editor.replace(self.preview.mask.array, self.preview.provenance)
        self.reject(keep_seed=False)
        self._edited(True)

    def reject(self, keep_seed: bool = False) -> None:
        self.preview = None
        if not keep_seed:
            self._seed_zyx = None
        self.panel.accept_button.setEnabled(False)
        self.panel.reject_button.setEnabled(False)
        self._show_editor_mask(force=True)
        self._update_labels()

    # ------------------------------------------------------------------ edits
    def undo(self) -> None:
        if self.editor is not None:
            self._edited(self.editor.undo())

    def redo(self) -> None:
        if self.editor is not None:
            self._edited(self.editor.redo())

    def clear_slice(self) -> None:
        if self.editor is not None:
            self._edited(self.editor.clear_slice(self.view.current_slice))

    def _edited(self, changed, redraw: bool = True) -> None:
        if changed is None or changed is False:
            return
        self._autosaved = False
        if redraw:
            self._show_editor_mask()
        for view in self.view.reformats:  # the sagittal / coronal planes follow once per edit, not per dab
            view.draw_overlays()
        if self.active == 1 and self.window.case is not None:  # the tumour curve follows reader 1's mask
            self.window._show_region_curves({"tumour": self.editor.array})
        self._update_labels()
        self.maskEdited.emit()

    def _show_editor_mask(self, force: bool = False, box=None) -> None:
        """Draw the active editor's mask; the same array object is refreshed in place after an edit (only the
        changed ``box`` of the shown slice after a brush dab)."""
        editor = self.editor
        if editor is None:
            return
        if force or self.view.overlays.mask is not editor.array:
            self.view.set_overlays(mask=editor.array)
        else:
            self.view.refresh_overlays(box)

    def _update_labels(self) -> None:
        editor = self.editor
        if editor is None:
            self.panel.volume_label.setText("Mask: none (open a study)")
            return
        who = "Reader 2" if self.active == 2 else "Mask"
        unsaved = " (unsaved)" if editor.modified else ""
        self.panel.volume_label.setText(f"{who}: {editor.volume_ml:.2f} ml, {editor.n_voxels} voxels{unsaved}")
        self.panel.origin_label.setText(editor.provenance.describe())
        if self.active == 1:
            self.window.mask_label.setText(
                f"Mask: {editor.volume_ml:.2f} ml{unsaved}, {editor.provenance.describe()}" if editor.n_voxels
                else "Mask: none - open one or make one with the mask tools")
        self.panel.undo_button.setEnabled(editor.can_undo)
        self.panel.redo_button.setEnabled(editor.can_redo)
        first, second = self.editors[1], self.editors[2]
        if first is not None and second is not None and self.study is not None:
            agreement = compare_masks(first.array, second.array, self.study.geometry.voxel_volume_mm3)
            self.panel.agreement_label.setText(f"Reader 1 vs reader 2: {agreement.describe()}")
        else:
            self.panel.agreement_label.setText("")

    # ------------------------------------------------------------------ analysis
    def mask_for_analysis(self) -> tuple[Mask | None, MaskProvenance | None]:
        """A copy of reader 1's mask and its provenance (None, None when there is no mask)."""
        editor = self.editors[1]
        if editor is None or editor.n_voxels == 0 or self.study is None:
            return None, None
        prov = editor.provenance
        return Mask(array=editor.array.copy(), geometry=self.study.geometry,
                    source=prov.source or "mask made in the app (not saved)"), prov

    def analysis_inputs(self, inputs):
        """``inputs`` with reader 1's provenance; an unsaved mask has no mask file."""
        _, prov = self.mask_for_analysis()
        if prov is None:
            return inputs
        return replace(inputs, mask_provenance=prov, mask_path=prov.source or "")

    # ------------------------------------------------------------------ save / autosave
    def ask_save(self) -> None:
        if self.editor is None or self.editor.n_voxels == 0:
            dialogs.show_message(self.window, "info", "Nothing to save", "The mask is empty.")
            return
        path = dialogs.ask_save_path(self.window, "Save tumour mask", MASK_SAVE_FILTER, "tumour_mask.nii.gz")
        if path:
            self.save(path)

    def save(self, path: str) -> BackgroundTask | None:
        from tnbc_desktop.core.segmentation.save import save_mask

        editor, study, reader = self.editor, self.study, self.active
        array, prov = editor.array.copy(), editor.provenance

        def done(saved: MaskProvenance) -> None:
            editor.mark_saved(saved)
            if reader == 1:
                self._case_key = (self._case_key[0], saved.source) if self._case_key else None
                self.window.commit(mask_path=saved.source, mask_autosave=None, mask_provenance=saved.to_dict())
            self._update_labels()
            self.maskSaved.emit(saved.source)

        return self.window.start_task("saving mask", lambda progress, cancel: save_mask(array, study, path, prov),
                                      done)

    def autosave_into(self, state):
        """The session state to autosave: an unsaved reader-1 mask is written beside the session file (only
        while the state still names the case the mask was made on: opening another study or mask drops it)."""
        editor = self.editors[1]
        if editor is None or self._key(state) != self._case_key:
            return state
        if not editor.modified:
            return state.with_changes(mask_autosave=None, mask_provenance=editor.provenance.to_dict())
        target = Path(self.window.store.folder) / AUTOSAVE_MASK
        if not self._autosaved or not target.exists():
            from tnbc_desktop.core.io.volumes import write_volume

            write_volume(editor.array.astype(np.uint8), self.study.geometry, target)
            self._autosaved = True
        return state.with_changes(mask_autosave=str(target), mask_provenance=editor.provenance.to_dict())

    # ------------------------------------------------------------------ second reader
    def draw_reader2(self, on: bool) -> None:
        if self.study is None:
            return
        if on and self.editors[2] is None:
            g = self.study.geometry
            self.editors[2] = MaskEditor(g.shape, g.spacing_mm)
        self.active = 2 if on else 1
        self._show_editor_mask(force=True)
        self._update_labels()

    def ask_load_reader2(self) -> None:
        paths = dialogs.ask_open_paths(self.window, "Open the second reader's mask",
                                       "Masks (*.nii *.nii.gz *.nrrd *.dcm);;All files (*)")
        if paths:
            self.load_reader2(paths[0])

    def load_reader2(self, path: str) -> None:
        from tnbc_desktop.core.io.masks import load_mask

        if self.study is None:
            return
        try:
            mask = load_mask(path, self.study.geometry)
        except TnbcError as exc:
            self.window.report_error(exc)
            return
        g = self.study.geometry
        self.editors[2] = MaskEditor(g.shape, g.spacing_mm, mask.array, MaskProvenance.from_file(path))
        self._update_labels()

