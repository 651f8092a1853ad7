"""Running long work off the GUI thread: a QObject worker moved to a QThread, with progress and cancel.

The job is a plain callable ``job(progress, cancel) -> result`` where ``progress(step: str, fraction: float)``
and ``cancel.is_set()`` follow the pipeline contract. Signals are delivered to the GUI thread (queued):
``progress(str, float)``, ``finished(object)`` with the result, ``failed(object)`` with the exception
(``CancelledError`` when the user cancelled), and ``done()`` after either.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from tnbc_desktop.errors import CancelledError
from tnbc_desktop.logsafe import get_logger

log = get_logger(__name__)

Job = Callable[[Callable[[str, float], None], threading.Event], Any]


class _Worker(QObject):
    progress = Signal(str, float)
    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, job: Job, cancel: threading.Event):
        super().__init__()
        self._job = job
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        def report(step: str, fraction: float) -> None:
            if self._cancel.is_set():
                raise CancelledError("cancelled by the user")
            self.progress.emit(str(step), float(fraction))

        try:
            result = self._job(report, self._cancel)
            if self._cancel.is_set():
                raise CancelledError("cancelled by the user")
        except BaseException as exc:  # handed to the GUI thread, which decides how to show it
            if not isinstance(exc, Exception):
                raise
            self.failed.emit(exc)
        else:
            self.finished.emit(result)


class BackgroundTask(QObject):
    """One job in its own QThread. Keep a reference until ``done`` fires."""

    progress = Signal(str, float)
    finished = Signal(object)
    failed = Signal(object)
    done = Signal()

    def __init__(self, job: Job, parent: QObject | None = None):
        super().__init__(parent)
        self.cancel_event = threading.Event()
        self._thread = QThread()
        self._worker = _Worker(job, self.cancel_event)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self.progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self._running = True
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, ms: int = 30000) -> bool:
        """Block until the thread has stopped (used at exit and in tests)."""
        return self._thread.wait(ms)

    def _stop_thread(self) -> None:
        self._thread.quit()
        self._thread.wait(10000)
        self._running = False

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        self._stop_thread()
        self.finished.emit(result)
        self.done.emit()

    @Slot(object)
    def _on_failed(self, exc: object) -> None:
        self._stop_thread()
        self.failed.emit(exc)
        self.done.emit()
