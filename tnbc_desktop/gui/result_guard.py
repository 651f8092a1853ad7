"""Keeps the shown result tied to the inputs it was computed from (mixin of the main window).

When a result is shown its :class:`~tnbc_desktop.core.input_record.InputRecord` is kept. After every change
of an input (a committed edit, a reloaded case, a mask edit, another bundle) :meth:`ResultGuard.refresh_outdated`
compares it with the record of what the window shows now: the predictions that read a changed input are
greyed with "inputs changed - run again" and Export is disabled until a fresh run (undoing the change
un-greys them). Cancelling or failing an analysis leaves no result. The buttons follow the case:
"Run analysis" needs a study, a mask and a bundle and no running task.
"""
from __future__ import annotations

from tnbc_desktop.core.input_record import (changed_inputs, describe_changes, input_record, outdated_models,
                                            result_record)
from tnbc_desktop.gui import case_jobs

_SHOWN = ("model3", "prm", "gprm")


class ResultGuard:
    """Mixin for :class:`MainWindow`; expects ``case``, ``state``, ``result``, ``bundle``, ``task`` and widgets."""

    result_record = None
    outdated: tuple[str, ...] = ()

    def shown_mask_array(self):
        """The tumour mask on screen (the mask editor's when there is one), or None."""
        seg = getattr(self, "segmentation", None)
        editors = getattr(seg, "editors", None) or {}
        editor = editors.get(1)
        if editor is not None and getattr(seg, "study", None) is (self.case.study if self.case else None):
            return editor.array if editor.n_voxels else None
        return None if self.case is None or self.case.mask is None else self.case.mask.array

    def current_record(self):
        """The record of the inputs on screen now (None without a case)."""
        if self.case is None:
            return None
        inputs = case_jobs.case_inputs(self.state, self.case.study)
        sha = getattr(self.bundle, "sha256", "") if self.bundle is not None else ""
        return input_record(inputs, self.case.study, self.shown_mask_array(), sha)

    def keep_result(self, result) -> None:
        """``result`` is now shown: remember what it was computed from."""
        self.result = result
        self.result_record = result_record(result)
        self.outdated = ()
        self.update_actions()

    def refresh_outdated(self) -> None:
        """Grey the predictions whose inputs changed since the shown result; enable Export only when none did."""
        if self.result is None or self.result_record is None:
            self.outdated = ()
        else:
            now = self.current_record()
            self.outdated = changed_inputs(self.result_record, now) if now is not None else ("study",)
            self.results.mark_outdated(outdated_models(self.outdated, _SHOWN), describe_changes(self.outdated))
        self.update_actions()

    def drop_result(self, reason: str = "") -> None:
        """No result on screen (after a cancel, a failed run or another patient)."""
        self.result = None
        self.result_record = None
        self.outdated = ()
        self.history_id = None
        self.results.reset(reason)
        self.update_actions()

    def update_actions(self) -> None:
        busy = self.task is not None and self.task.running
        missing = [what for what, ok in (("a study", self.case is not None),
                                         ("a tumour mask", self.shown_mask_array() is not None),
                                         ("a model bundle", self.bundle is not None)) if not ok]
        self.analyze_button.setEnabled(not busy and not missing)
        self.analyze_button.setToolTip(f"Needs {', '.join(missing)}" if missing else "Analyse the case on screen")
        exportable = not busy and self.result is not None and not self.outdated
        self.export_button.setEnabled(exportable)
        self.export_button.setToolTip("" if exportable or self.result is None else
                                      "Inputs changed since the analysis: run it again before exporting")
