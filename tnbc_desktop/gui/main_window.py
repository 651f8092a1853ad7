"""The main window: case inputs (left), image view (centre), curves and results (right).

It holds the session inputs (:class:`SessionState`), the shown study/mask and the last ``CaseResult``, and
redraws from them; all loading and analysis run in :class:`BackgroundTask` workers (see ``case_jobs``).
Every error reaches the user through :meth:`MainWindow.report_error` -> ``dialogs.show_message``.
"""
from __future__ import annotations

import traceback
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QMainWindow, QProgressBar, QPushButton,
                               QScrollArea, QSplitter, QVBoxLayout, QWidget)

from tnbc_desktop import DEMO_BUNDLE_NOTICE, RESEARCH_USE_NOTICE
from tnbc_desktop.core.curves import CURVE_UNIT_LABEL
from tnbc_desktop.errors import CancelledError, TnbcError
from tnbc_desktop.gui import dialogs
from tnbc_desktop.gui.bundle_panel import BundlePanel
from tnbc_desktop.gui.curves_view import CurvesView
from tnbc_desktop.gui.dicom_export_action import ask_export_dicom, ask_send_dicom
from tnbc_desktop.gui.exam_dialog import ask_open_exam
from tnbc_desktop.gui.mutation_panel import MutationPanelView
from tnbc_desktop.gui.pathology_form import PathologyForm
from tnbc_desktop.gui.phase_table import PhaseTable
from tnbc_desktop.gui.results_panel import ResultsPanel
from tnbc_desktop.gui.segment_panel import SegmentToolsPanel, install_mask_menu
from tnbc_desktop.gui.segment_tools import SegmentationController
from tnbc_desktop.gui.session import SessionState, SessionStore
from tnbc_desktop.gui.viewer_panel import VIEWER_HELP, ViewerPanel
from tnbc_desktop.gui.case_opening import CaseOpening
from tnbc_desktop.gui.result_guard import ResultGuard
from tnbc_desktop.gui.window_binding import WindowBinding
from tnbc_desktop.logsafe import get_logger, redact

log = get_logger(__name__)
AUTOSAVE_MS = 30_000


class MainWindow(QMainWindow, WindowBinding, CaseOpening, ResultGuard):
    """Signals: ``caseLoaded()``, ``analysisFinished(object)``, ``analysisFailed(object)``, ``taskDone()``."""

    caseLoaded = Signal()
    analysisFinished = Signal(object)
    analysisFailed = Signal(object)
    reportWritten = Signal(str)
    taskDone = Signal()

    def __init__(self, store: SessionStore | None = None):
        super().__init__()
        self.setWindowTitle("TNBC Desktop - research use only")
        self.store = store or SessionStore()
        self.state = SessionState()
        self.case = None  # case_jobs.LoadedCase
        self.result = None
        self.history_id: int | None = None  # the current result's row in the case history
        self.bundle = None
        self.task = None
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_menus()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.resize(1600, 980)
        if self.bundle_panel.current_path():
            self.choose_bundle(self.bundle_panel.current_path(), commit=False)
        self.update_actions()

    # ------------------------------------------------------------------ layout
    def _build_widgets(self) -> None:
        self.study_label = QLabel("Study: none")
        self.study_label.setWordWrap(True)
        self.mask_label = QLabel("Mask: none")
        self.mask_label.setWordWrap(True)
        open_row = QHBoxLayout()
        self.open_folder_button = QPushButton("DICOM folder...")
        self.open_files_button = QPushButton("NIfTI / NRRD...")
        self.open_mask_button = QPushButton("Mask...")
        self.demo_button = QPushButton("Open demo patient")
        for b in (self.open_folder_button, self.open_files_button, self.open_mask_button):
            open_row.addWidget(b)
        self.phase_table = PhaseTable()
        self.phase_table.set_error_handler(self.report_error)
        self.pathology_form = PathologyForm()
        self.mutation_view = MutationPanelView()
        self.bundle_panel = BundlePanel()
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(self._group("Case", self.study_label, self.mask_label, open_row, self.demo_button))
        self.segment_panel = SegmentToolsPanel()
        lv.addWidget(self._group("Tumour mask", self.segment_panel))
        lv.addWidget(self._group("Phases", self.phase_table))
        lv.addWidget(self._group("Pathology", self.pathology_form))
        lv.addWidget(self._group("Mutation panel", self.mutation_view))
        lv.addWidget(self._group("Model bundle", self.bundle_panel))
        lv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(360)

        self.viewer = ViewerPanel()
        self.segmentation = SegmentationController(self, self.segment_panel)
        self.segmentation.maskEdited.connect(self.refresh_outdated)
        self.curves = CurvesView()
        self.curves.plot.setLabel("left", CURVE_UNIT_LABEL)  # the unit the report plots too
        self.results = ResultsPanel()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self._group("Enhancement curves", self.curves))
        right.addWidget(self.results)
        right.setSizes([330, 620])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self.viewer)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([400, 720, 480])

        self.analyze_button = QPushButton("Run analysis")
        self.analyze_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 14px; }")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.export_button = QPushButton("Export PDF report...")
        self.export_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress_label = QLabel("")
        self.notice = QLabel(RESEARCH_USE_NOTICE)
        self.notice.setStyleSheet("QLabel { color: #5c4500; font-weight: bold; }")
        bottom = QHBoxLayout()
        for w in (self.analyze_button, self.cancel_button, self.progress, self.progress_label, self.export_button):
            bottom.addWidget(w)
        bottom.addWidget(self.notice, stretch=1)
        central = QWidget()
        cv = QVBoxLayout(central)
        cv.addWidget(splitter, stretch=1)
        cv.addLayout(bottom)
        self.setCentralWidget(central)

        self.open_folder_button.clicked.connect(self.ask_open_folder)
        self.open_files_button.clicked.connect(self.ask_open_files)
        self.open_mask_button.clicked.connect(self.ask_open_mask)
        self.demo_button.clicked.connect(lambda: self.open_demo_patient())
        self.phase_table.phasesEdited.connect(self.apply_phase_edits)
        self.pathology_form.edited.connect(self._pathology_edited)
        self.mutation_view.import_button.clicked.connect(self.ask_import_maf)
        self.mutation_view.clear_button.clicked.connect(lambda: self.import_maf(None))
        self.bundle_panel.bundleChosen.connect(self.choose_bundle)
        self.bundle_panel.otherRequested.connect(self.ask_open_bundle)
        self.analyze_button.clicked.connect(self.run_analysis)
        self.cancel_button.clicked.connect(self.cancel_task)
        self.export_button.clicked.connect(self.ask_export_pdf)
        self.viewer.view.phaseChanged.connect(self._phase_shown)
        self.viewer.view.cursorMoved.connect(self._cursor_moved)
        self._cursor_timer = QTimer(self)
        self._cursor_timer.setSingleShot(True)
        self._cursor_timer.setInterval(40)
        self._cursor_timer.timeout.connect(self._update_cursor_curve)
        self._reading_timer = QTimer(self)  # diameters of an edited mask, once the brush pauses
        self._reading_timer.setSingleShot(True)
        self._reading_timer.setInterval(300)
        self._reading_timer.timeout.connect(self._show_edited_mask_reading)
        self.segmentation.maskEdited.connect(self._reading_timer.start)
        self._cursor_voxel = None

    @staticmethod
    def _group(title: str, *items) -> QGroupBox:
        box = QGroupBox(title)
        layout = QVBoxLayout(box)
        for item in items:
            layout.addLayout(item) if isinstance(item, QHBoxLayout) else layout.addWidget(item)
        return box

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.recent_menu = None
        for text, slot, key in (("Open DICOM folder...", self.ask_open_folder, QKeySequence.StandardKey.Open),
                                ("Open exam (choose the DCE series)...", lambda: ask_open_exam(self), None),
                                ("Open NIfTI / NRRD files...", self.ask_open_files, None),
                                ("Open mask...", self.ask_open_mask, None),
                                ("Open demo patient", lambda: self.open_demo_patient(), None),
                                ("Import mutation panel...", self.ask_import_maf, None),
                                ("Export PDF report...", self.ask_export_pdf, None),
                                ("Export to DICOM...", lambda: ask_export_dicom(self), None),
                                ("Send to DICOM node...", lambda: ask_send_dicom(self), None),
                                ("Save session now", self.autosave, QKeySequence.StandardKey.Save),
                                ("Quit", self.close, QKeySequence.StandardKey.Quit)):
            action = QAction(text, self)
            if key is not None:
                action.setShortcut(key)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        self.recent_menu = file_menu.addMenu("Recent cases")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("About / intended use", self)
        about.triggered.connect(lambda: dialogs.show_message(
            self, "info", "About TNBC Desktop", f"{RESEARCH_USE_NOTICE}\n\n{DEMO_BUNDLE_NOTICE} "
            "(shown whenever the selected bundle is the demo bundle)."))
        help_menu.addAction(about)
        viewer_help = QAction("Viewer mouse and keys", self)
        viewer_help.triggered.connect(lambda: dialogs.show_message(self, "info", "Viewer", VIEWER_HELP))
        help_menu.addAction(viewer_help)
        install_mask_menu(self, self.segmentation, help_menu)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.store.recent_cases():
            label = entry.get("label") or (Path(entry["study_source"][0]).name if entry["study_source"] else "?")
            action = self.recent_menu.addAction(label)
            action.triggered.connect(lambda _c=False, e=entry: self.open_case(e["study_source"], e.get("mask_path")))

    # ------------------------------------------------------------------ errors
    def report_error(self, exc: BaseException, context: str = "") -> None:
        """TnbcError -> plain dialog naming the input; anything else -> dialog + log (identifiers redacted)."""
        if isinstance(exc, CancelledError):
            self.statusBar().showMessage("Cancelled.", 5000)
            return
        if isinstance(exc, TnbcError):
            dialogs.show_message(self, "error", "Cannot continue", str(exc))
            return
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("unexpected error%s: %s", f" in {context}" if context else "", redact(text))
        dialogs.show_message(self, "error", "Unexpected error",
                             f"An unexpected error occurred{' in ' + context if context else ''}:\n"
                             f"{type(exc).__name__}: {redact(str(exc))}\n\nThe app keeps running; the details are "
                             "in the log (without patient identifiers).")

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, ev):  # noqa: N802
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev):  # noqa: N802
        paths = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        self.open_dropped(paths)
        ev.acceptProposedAction()

    # ------------------------------------------------------------------ exit
    def closeEvent(self, ev):  # noqa: N802
        """Stop any worker, save the inputs and leave the clean-exit marker."""
        if self.task is not None and self.task.running:
            self.task.cancel()
            self.task.wait(15000)
        self.autosave_timer.stop()
        self.autosave()
        try:
            self.store.mark_clean_exit()
        except TnbcError:
            pass
        super().closeEvent(ev)
