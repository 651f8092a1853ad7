"""Application start-up: ``run_gui`` (also used by ``tnbc-desktop gui`` and ``tnbc-desktop demo``).

Sets up the QApplication and style, installs an exception hook that shows unexpected errors in a dialog and
logs them without identifiers (the app keeps running), restores the session after a crash, and supports
scripted runs (load, analyse, screenshot, quit) for CI and documentation screenshots.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tnbc_desktop.gui import dialogs
from tnbc_desktop.gui.session import SessionState, SessionStore
from tnbc_desktop.logsafe import get_logger

log = get_logger(__name__)
SCREENSHOT_DELAY_MS = 400


def state_from_case_inputs(inputs) -> SessionState:
    """Session inputs from a :class:`tnbc_desktop.core.case.CaseInputs` (CLI options)."""
    source = [str(p) for p in inputs.study_paths()]
    return SessionState(study_source=source, mask_path=str(inputs.mask_path) if inputs.mask_path else None,
                        mask_label=inputs.mask_label,
                        phase_times_s=list(inputs.phase_times_s) if inputs.phase_times_s else None,
                        ki67="" if inputs.ki67 is None else str(inputs.ki67),
                        lvi="unknown" if inputs.lvi is None else str(inputs.lvi),
                        maf_path=str(inputs.maf_path) if inputs.maf_path else None, sample=inputs.sample,
                        bundle_path=str(inputs.bundle_path) if inputs.bundle_path else None,
                        deidentify=bool(inputs.deidentify),
                        series=list(inputs.series) if getattr(inputs, "series", None) else None,
                        allow_mixed_study=bool(getattr(inputs, "allow_mixed_study", False)))


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("TNBC Desktop")
    return app


def install_exception_hook(window) -> None:
    """Unexpected exceptions in Qt slots go to the window's error dialog instead of killing the app."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        try:
            window.report_error(exc.with_traceback(tb), "the user interface")
        except Exception:  # noqa: BLE001 - never let the hook itself raise
            previous(exc_type, exc, tb)

    sys.excepthook = hook


def create_window(store: SessionStore | None = None, offer_restore: bool = True):
    """Build the main window; offers to restore the inputs after a crash. Returns (window, crashed)."""
    from tnbc_desktop.gui.main_window import MainWindow

    store = store or SessionStore()
    crashed = store.previous_run_crashed()
    state, problem = store.load()
    store.begin_run()
    window = MainWindow(store)
    install_exception_hook(window)
    if state.bundle_path and Path(state.bundle_path).exists():
        window.bundle_panel.select_path(state.bundle_path)  # the bundle choice persists across runs
    if problem:
        dialogs.show_message(window, "warning", "Saved session not readable", problem)
    elif offer_restore and crashed and (state.study_source or state.ki67 or state.maf_path):
        if dialogs.ask_yes_no(window, "Restore the previous session?",
                              "TNBC Desktop did not close normally last time. Restore the inputs you had entered "
                              "(study, mask, phase times, Ki-67, LVI, mutation panel, bundle)?"):
            window.restore_state(state)
    return window, crashed


def run_gui(case_inputs=None, demo: bool = False, screenshot: str | Path | None = None,
            quit_after_load: bool = False, analyze: bool = False) -> int:
    """Open the window; optionally load ``case_inputs`` (or the demo patient), analyse, screenshot and quit.

    Returns the application's exit code (2 when a scripted load or analysis failed).
    """
    app = application()
    scripted = bool(screenshot or quit_after_load or analyze)
    dialogs.NON_INTERACTIVE = dialogs.NON_INTERACTIVE or scripted
    window, _crashed = create_window(offer_restore=not scripted and case_inputs is None and not demo)
    window.show()
    outcome = {"rc": 0}

    def finish(ok: bool) -> None:
        if not ok:
            outcome["rc"] = 2
        if screenshot:
            QTimer.singleShot(SCREENSHOT_DELAY_MS, lambda: (save_screenshot(window, screenshot), window.close()))
        else:
            window.close()

    if scripted:
        if analyze:
            window.caseLoaded.connect(lambda: window.run_analysis() or finish(False))
            window.analysisFinished.connect(lambda _r: finish(True))
            window.analysisFailed.connect(lambda _e: finish(False))
        else:
            window.caseLoaded.connect(lambda: finish(True))
        window.taskDone.connect(lambda: window.case is None and finish(False))
    if case_inputs is not None:
        window.restore_state(state_from_case_inputs(case_inputs))
    elif demo:
        window.open_demo_patient()
    elif scripted:
        QTimer.singleShot(0, lambda: finish(True))
    rc = app.exec()
    return outcome["rc"] or int(rc)


def save_screenshot(window, path: str | Path) -> Path:
    """PNG of the whole window."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        log.error("screenshot could not be written to %s", path)
    return path
