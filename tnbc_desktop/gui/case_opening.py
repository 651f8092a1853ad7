"""Opening a case (mixin of the main window): study, mask, demo patient, phase edits, and showing what loaded.

Only a case that loads becomes the current one: a refused study, mask or phase edit leaves screen, session and
autosave as they were. Another study starts a clean case (asked first when the current one has edits); a
DICOM-SEG mask of another study or patient is questioned before it is used.
"""
from __future__ import annotations

from pathlib import Path

from tnbc_desktop.core.io.volumes import VOLUME_SUFFIXES
from tnbc_desktop.gui import case_jobs, dialogs
from tnbc_desktop.gui.case_header import header_text, recent_label
from tnbc_desktop.gui.session import SessionState
from tnbc_desktop.gui.worker import BackgroundTask

STUDY_FILTER = "Images (*.nii *.nii.gz *.nrrd *.nhdr *.dcm);;All files (*)"
MASK_FILTER = "Masks (*.nii *.nii.gz *.nrrd *.dcm);;All files (*)"
MAF_SUFFIXES = (".maf", ".csv", ".tsv", ".txt", ".maf.gz")


def _suffix_in(path: str, suffixes) -> bool:
    return any(path.lower().endswith(s) for s in suffixes)


class CaseOpening:
    """Mixin for :class:`MainWindow` (expects its widgets, ``state``, ``case``, ``start_task`` ...)."""

    def ask_open_folder(self) -> None:
        paths = dialogs.ask_open_paths(self, "Open DICOM folder", directory=True)
        if paths:
            self.open_case(paths, None)

    def ask_open_files(self) -> None:
        paths = dialogs.ask_open_paths(self, "Open 4D file or one 3D file per phase", STUDY_FILTER, multiple=True)
        if paths:
            self.open_case(paths, None)

    def ask_open_mask(self) -> None:
        paths = dialogs.ask_open_paths(self, "Open tumour mask", MASK_FILTER)
        if paths:
            self.open_mask(paths[0])

    def open_dropped(self, paths: list[str]) -> None:
        """Folder -> DICOM study; image file(s) -> study (or mask once a study is shown); MAF/CSV -> panel."""
        if not paths:
            return
        if len(paths) == 1 and _suffix_in(paths[0], MAF_SUFFIXES):
            self.import_maf(paths[0])
        elif len(paths) == 1 and self.case is not None and _suffix_in(paths[0], VOLUME_SUFFIXES):
            self.open_mask(paths[0])
        else:
            self.open_case(paths, None)

    def open_case(self, study_source: list[str], mask_path: str | None, series: list[int] | None = None,
                  allow_mixed_study: bool = False) -> BackgroundTask | None:
        """Open another study as a new, clean case (no pathology, panel, mask or result of the previous one);
        asks first when the current case has edits. Nothing changes unless the study loads. ``series``: the
        DICOM series making the DCE (from Open exam...; None = the exam scan's choice)."""
        if self.case is not None and self._case_has_edits() and not dialogs.ask_yes_no(
                self, "Open another study?", "The case on screen has inputs or results (Ki-67, LVI, mutation "
                "panel, mask edits, analysis). Opening another study starts a new case without them. Continue?"):
            return None
        clean = SessionState(study_source=[str(p) for p in study_source], mask_path=mask_path,
                             bundle_path=self.state.bundle_path, deidentify=self.state.deidentify,
                             series=list(series) if series else None, allow_mixed_study=allow_mixed_study)
        return self.load_current_case(clean, new_patient=True)

    def _case_has_edits(self) -> bool:
        s = self.state
        seg = getattr(self, "segmentation", None)
        editor = (getattr(seg, "editors", None) or {}).get(1)
        return bool(s.ki67 or s.lvi not in ("", "unknown") or s.maf_path or self.result is not None
                    or (editor is not None and editor.modified))

    def open_mask(self, path: str) -> BackgroundTask | None:
        """Load a mask for the study on screen; a DICOM-SEG of another study or patient asks first."""
        from tnbc_desktop.core.identity_check import mask_mismatch

        if self.case is not None:
            problem = mask_mismatch(path, self.case.study)
            if problem and not dialogs.ask_yes_no(self, "Mask of another patient?",
                                                  f"{problem}\n\nUse this mask for the study on screen anyway?"):
                return None
        candidate = self.state.with_changes(mask_path=str(path), mask_label=None, mask_autosave=None,
                                            mask_provenance=None)
        return self.load_current_case(candidate)

    def open_demo_patient(self, **make_kwargs) -> BackgroundTask | None:
        bundle = self.bundle_panel.current_path()

        def job(progress, cancel):
            progress("preparing the demo patient", 0.05)
            folder = case_jobs.demo_case_folder(**make_kwargs)
            state = case_jobs.demo_state(folder, bundle)
            return state, case_jobs.load_case(state, progress, cancel)

        def done(payload):
            state, case = payload
            self.restore_state(state, load=False)
            self.autosave()
            self._show_case(case)

        return self.start_task("demo patient", job, done)

    def load_current_case(self, state: SessionState | None = None, new_patient: bool = False):
        """Load ``state`` (default: the current inputs) in the background. Only a case that loads becomes the
        current one: a refused study, mask or phase edit leaves screen, session and autosave as they were."""
        state = self.state if state is None else state

        def done(case) -> None:
            if new_patient:
                self.drop_result()
                self.pathology_form.set_values(state.ki67, state.lvi)
                self.mutation_view.set_panel(None)
                self.curves.set_cursor_curve(None)
            self.state = state
            self.autosave()
            self._show_case(case)

        return self.start_task("loading", lambda progress, cancel: case_jobs.load_case(state, progress, cancel),
                               done)

    def _show_case(self, case: case_jobs.LoadedCase) -> None:
        same_study = self.case is not None and self.result is not None and \
            list(self.result.inputs.study_paths()) == [Path(p) for p in self.state.study_source]
        self.case = case
        if not same_study:
            self.drop_result()
        study = case.study
        self.study_label.setText(header_text(study, self.state.study_source, self.state.deidentify))
        self.mask_label.setText("Mask: none - open one to analyse" if case.mask is None else
                                f"Mask: {Path(case.mask.source).name}, {case.mask.volume_ml:.2f} ml"
                                + (" (resampled onto the study grid)" if case.mask.resampled else ""))
        self.phase_table.set_phases(case.loaded_study.phases, self.state.phase_order)
        if self.state.phase_times_s is not None:
            for row, t in enumerate(self.state.phase_times_s):
                if row < self.phase_table.table.rowCount():
                    self.phase_table.set_time(row, t)
        early = self._early_phase(study)
        self.viewer.set_study(study, early)
        mask = None if case.mask is None else case.mask.array
        self.viewer.view.set_overlays(mask=mask, centre_on_mask=True)
        self.viewer.set_legend(None, None, has_mask=mask is not None)
        self._show_region_curves({"tumour": mask} if mask is not None else {})
        self._show_reading(None)
        self.store.add_recent(self.state.study_source, self.state.mask_path,
                              recent_label(study, self.state.study_source, self.state.deidentify))
        self.caseLoaded.emit()
        self.refresh_outdated()

    @staticmethod
    def _early_phase(study) -> int:
        try:
            from tnbc_desktop.core.kinetics import select_early_late

            return select_early_late(study.phase_times_s)[0]
        except Exception:  # noqa: BLE001 - unusual timings: fall back to the first post-contrast phase
            return 1

    def apply_phase_edits(self, order: list[int], times: list[float]) -> None:
        loaded = self.case.loaded_study if self.case is not None else None
        same_order = loaded is not None and order == list(range(loaded.n_phases))
        self.load_current_case(self.state.with_changes(phase_order=None if same_order else list(order),
                                                       phase_times_s=list(times)))
