"""The main window's actions (mixin): session, tasks, curves, inputs, analysis, report (opening a case is in
``case_opening``).

Kept apart from the widget layout in ``main_window``; methods here only read widgets, call ``case_jobs`` /
core functions in workers, and bind the results back to the widgets.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from tnbc_desktop.errors import OutputError, TnbcError
from tnbc_desktop.core.curves import percent_enhancement
from tnbc_desktop.core.identity_check import sample_mismatch
from tnbc_desktop.gui import case_jobs, dialogs
from tnbc_desktop.gui.curves_view import CurveLine, curve_line
from tnbc_desktop.gui.mutation_panel import load_panel
from tnbc_desktop.gui.palette import CURSOR_CURVE_COLOUR, HABITAT_COLOURS, RING_COLOUR, TUMOUR_CURVE_COLOUR
from tnbc_desktop.gui.session import SessionState
from tnbc_desktop.gui.worker import BackgroundTask
from tnbc_desktop.logsafe import get_logger

log = get_logger(__name__)
CURVE_STYLE = {"tumour": ("Tumour", TUMOUR_CURVE_COLOUR), "H1": ("H1 poorly", HABITAT_COLOURS[1]),
               "H2": ("H2 moderately", HABITAT_COLOURS[2]), "H3": ("H3 highly", HABITAT_COLOURS[3]),
               "ring": ("Ring", RING_COLOUR)}


def in_percent(line: CurveLine) -> CurveLine:
    """The curve in the unit the report uses (core.curves.CURVE_UNIT_LABEL): % enhancement over pre-contrast."""
    mean, sd = percent_enhancement(line.mean, line.sd)
    return replace(line, mean=tuple(float(v) for v in mean), sd=None if sd is None else tuple(float(v) for v in sd))


class WindowBinding:
    """Mixin for :class:`MainWindow` (expects its widgets and signals)."""

    # ------------------------------------------------------------------ session
    def commit(self, **changes) -> None:
        """Apply a committed edit to the session inputs and autosave."""
        self.state = self.state.with_changes(**changes)
        self.autosave()
        self.refresh_outdated()

    def autosave(self) -> None:
        segmentation = getattr(self, "segmentation", None)
        try:
            if segmentation is not None:  # an unsaved mask made in the app is written too
                self.state = segmentation.autosave_into(self.state)
            self.store.save(self.state)
        except OutputError as exc:
            self.statusBar().showMessage(f"Session not saved: {exc}", 10000)

    def restore_state(self, state: SessionState, load: bool = True) -> None:
        """Put saved inputs back into the widgets (and reload the case files when ``load``)."""
        self.state = state
        self.pathology_form.set_values(state.ki67, state.lvi)
        if state.bundle_path and Path(state.bundle_path).exists():
            self.bundle_panel.select_path(state.bundle_path)
        if state.maf_path and Path(state.maf_path).exists():
            self.import_maf(state.maf_path, state.sample)
        else:
            self.mutation_view.set_panel(None)
        if load and state.study_source:
            self.load_current_case()

    # ------------------------------------------------------------------ tasks
    def start_task(self, name: str, job, on_done) -> BackgroundTask | None:
        if self.task is not None and self.task.running:
            dialogs.show_message(self, "info", "Busy", "Another task is running; wait for it or cancel it.")
            return None
        task = BackgroundTask(job, self)
        task.progress.connect(self._on_progress)
        task.finished.connect(on_done)
        task.failed.connect(lambda exc: self._task_failed(exc, name))
        task.done.connect(self._task_done)
        self.task = task
        self.cancel_button.setEnabled(True)
        self.analyze_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress_label.setText(name)
        task.start()
        return task

    def cancel_task(self) -> None:
        if self.task is not None and self.task.running:
            self.task.cancel()
            self.progress_label.setText("cancelling...")

    def _on_progress(self, step: str, fraction: float) -> None:
        self.progress.setValue(int(round(100 * fraction)))
        self.progress_label.setText(step)

    def _task_failed(self, exc, name: str) -> None:
        if name == "analysis":
            self.drop_result("The last analysis was cancelled or failed: no result. Run the analysis again.")
            self.analysisFailed.emit(exc)
        self.report_error(exc, name)

    def _task_done(self) -> None:
        self.cancel_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress_label.setText("")
        self.update_actions()
        self.taskDone.emit()

    # ------------------------------------------------------------------ curves
    def _show_region_curves(self, regions: dict) -> None:
        from tnbc_desktop.core.curves import region_curve

        lines = []
        for key, region in regions.items():
            if region is not None and np.any(region):
                name, rgb = CURVE_STYLE[key]
                lines.append(in_percent(curve_line(name, region_curve(self.case.study, region), rgb)))
        self.curves.set_curves(lines)
        self._phase_shown(self.viewer.view.current_phase)

    def _show_result_curves(self, result) -> None:
        lines = []
        for key in ("tumour", "H1", "H2", "H3", "ring"):
            c = result.curves.get(key)
            if c is not None:
                name, rgb = CURVE_STYLE[key]
                lines.append(in_percent(CurveLine(name, c.times_s, c.mean, c.sd, c.curve_type, rgb)))
        self.curves.set_curves(lines)
        self._phase_shown(self.viewer.view.current_phase)

    def _show_reading(self, reading) -> None:
        """Diameters and curve type of the result's reading, or - before an analysis - of the shown mask."""
        if reading is None and self.case is not None and self.case.mask is not None:
            from tnbc_desktop.core.tumour_reading import read_tumour

            reading = read_tumour(self.case.mask.array, self.case.study.spacing_mm, {})
            self.viewer.set_reading(reading, curve_type_known=False)
        else:
            self.viewer.set_reading(reading)
        self.curves.set_summary("" if reading is None or self.result is None else reading.curve_text())

    def _show_edited_mask_reading(self) -> None:
        """After a mask edit: the diameters of the mask now shown (its curve type waits for an analysis)."""
        from tnbc_desktop.core.tumour_reading import read_tumour

        view = self.viewer.view
        mask = view.overlays.mask
        if view.study is None or mask is None or not mask.any():
            self.viewer.set_reading(None)
            return
        self.viewer.set_reading(read_tumour(mask, view.study.spacing_mm, {}), curve_type_known=False)

    def _phase_shown(self, phase: int) -> None:
        study = self.viewer.view.study
        self.curves.set_phase_time(None if study is None else study.phase_times_s[phase])

    def _cursor_moved(self, z: int, y: int, x: int) -> None:
        self._cursor_voxel = None if z < 0 else (z, y, x)
        self._cursor_timer.start()

    def _update_cursor_curve(self) -> None:
        if self._cursor_voxel is None or self.viewer.view.study is None:
            self.curves.set_cursor_curve(None)
            return
        from tnbc_desktop.core.curves import voxel_curve

        z, y, x = self._cursor_voxel
        c = voxel_curve(self.viewer.view.study, self._cursor_voxel)
        self.curves.set_cursor_curve(in_percent(curve_line(f"Voxel ({x}, {y}, {z})", c, CURSOR_CURVE_COLOUR,
                                                           dashed=True)))

    # ------------------------------------------------------------------ inputs
    def _pathology_edited(self) -> None:
        ki67, lvi = self.pathology_form.values()
        if (ki67, lvi) != (self.state.ki67, self.state.lvi):
            self.commit(ki67=ki67, lvi=lvi)

    def ask_import_maf(self) -> None:
        paths = dialogs.ask_open_paths(self, "Import mutation panel", "MAF / CSV (*.maf *.csv *.tsv *.txt *.gz);;"
                                       "All files (*)")
        if paths:
            self.import_maf(paths[0])

    def import_maf(self, path: str | None, sample: str | None = None) -> None:
        """Read the panel now (a small file); multi-sample MAFs ask which sample is the patient's."""
        if path is None:
            self.mutation_view.set_panel(None)
            self.commit(maf_path=None, sample=None)
            return
        try:
            panel = load_panel(path, sample, lambda samples: dialogs.ask_item(
                self, "Choose the sample", f"{Path(path).name} holds {len(samples)} samples. "
                "Which Tumor_Sample_Barcode is this patient's?", samples))
        except TnbcError as exc:
            self.report_error(exc)
            return
        if panel is None:
            return
        problem = sample_mismatch(panel.sample, self.case.study) if self.case is not None else None
        if problem and not dialogs.ask_yes_no(self, "Mutation panel of another patient?",
                                              f"{problem}\n\nImport it for the patient on screen anyway?"):
            return
        self.mutation_view.set_panel(panel)
        self.commit(maf_path=str(path), sample=panel.sample if panel.file_format == "maf" else sample)

    def ask_open_bundle(self) -> None:
        paths = dialogs.ask_open_paths(self, "Open model bundle", "Model bundle (*.json)")
        if paths:
            self.bundle_panel.select_path(paths[0])

    def choose_bundle(self, path: str, commit: bool = True) -> None:
        from tnbc_desktop.core.bundle import load_bundle

        try:
            self.bundle = load_bundle(path)
        except TnbcError as exc:
            self.bundle = None
            self.bundle_panel.show_problem(f"This bundle is refused; nothing will be predicted from it.\n{exc}")
            self.report_error(exc)
            self.update_actions()
            return
        self.bundle_panel.show_bundle(self.bundle)
        self.results.set_demo(self.bundle.is_demo)
        if commit:
            self.commit(bundle_path=str(path))
        else:
            self.refresh_outdated()

    # ------------------------------------------------------------------ analysis
    def run_analysis(self) -> BackgroundTask | None:
        self._pathology_edited()
        mask, _ = self.segmentation.mask_for_analysis()  # a copy of the mask shown (loaded, made or edited)
        if self.case is None or mask is None:
            dialogs.show_message(self, "warning", "Nothing to analyse",
                                 "Open a study and its tumour mask first (or the demo patient), or make the "
                                 "mask with the Tumour mask tools (Seed, Paint).")
            return None
        if self.bundle is None:
            dialogs.show_message(self, "warning", "No model bundle", "Choose a valid model bundle first.")
            return None
        try:
            self.pathology_form.pathology()
        except TnbcError as exc:
            self.report_error(exc)
            return None
        state, bundle, shown = self.state, self.bundle, self.case.study
        inputs = self.segmentation.analysis_inputs(case_jobs.case_inputs(state, shown))

        def job(progress, cancel):
            from tnbc_desktop.core.case_run import analyze_report_record

            done = analyze_report_record(inputs, bundle, progress=progress, cancel=cancel, study=shown, mask=mask)
            maps = done.result.kinetic_maps  # the full-grid maps are built on first use: here, not on the GUI thread
            for name in ("pe", "ser", "wis", "wos"):
                getattr(maps, name)
            return done

        return self.start_task("analysis", job, self._analysis_recorded)

    def _analysis_recorded(self, done) -> None:
        self.history_id = done.history_id
        if done.history_warning:
            self.statusBar().showMessage(f"Not in the case history: {done.history_warning}", 10000)
        self.show_result(done.result)

    def show_result(self, result) -> None:
        self.keep_result(result)
        habitats = result.habitats
        self.viewer.view.set_overlays(mask=result.mask.array, labels=np.asarray(habitats.labels), ring=result.ring)
        maps = result.kinetic_maps
        self.viewer.set_kinetic_maps({n: getattr(maps, n.lower()) for n in ("PE", "SER", "WIS", "WOS")})
        self.viewer.set_legend(habitats.fractions, habitats.centroids_original, has_mask=True, has_ring=True)
        self._show_result_curves(result)
        self._show_reading(result.reading)
        self.results.show_result(result)
        self.refresh_outdated()  # inputs edited while the analysis ran grey it at once
        self.analysisFinished.emit(result)

    # ------------------------------------------------------------------ report
    def ask_export_pdf(self) -> None:
        if self.result is None:
            dialogs.show_message(self, "info", "No result", "Run the analysis before exporting the report.")
            return
        path = dialogs.ask_save_path(self, "Save PDF report", "PDF (*.pdf)", "tnbc_report.pdf")
        if path:
            self.export_pdf(path if path.lower().endswith(".pdf") else path + ".pdf")

    def export_pdf(self, path: str) -> BackgroundTask | None:
        self._pathology_edited()  # a value typed but not yet committed counts
        if self.result is None or self.outdated:
            dialogs.show_message(self, "info", "Run the analysis again",
                                 "The inputs changed since the analysis; the report would not match them. "
                                 "Run the analysis again, then export.")
            return None
        result, deid, history_id = self.result, self.state.deidentify, self.history_id

        def job(progress, cancel):
            from tnbc_desktop.core.case_run import attach_report
            from tnbc_desktop.core.report import write_report

            progress("writing the report", 0.2)
            written = str(write_report(result, path, deidentify=deid))
            return written, attach_report(history_id, written)

        def done(payload):
            written, history_problem = payload
            self.statusBar().showMessage(f"Report written: {written}"
                                         + (f" (not in the case history: {history_problem})"
                                            if history_problem else ""), 10000)
            self.reportWritten.emit(written)

        return self.start_task("report", job, done)
