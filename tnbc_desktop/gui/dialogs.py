"""Every modal question or message goes through the functions here, so tests can monkeypatch them.

``show_message(parent, kind, title, text)`` with kind in {"info", "warning", "error"};
``ask_yes_no(parent, title, text) -> bool``; ``ask_item(parent, title, text, items) -> str | None``;
``ask_open_paths(parent, title, filter, directory=False, multiple=False) -> list[str]``;
``ask_save_path(parent, title, filter, suggested) -> str | None``.
"""
from __future__ import annotations

import sys

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

# Scripted runs (screenshots, CI) must never wait on a dialog: messages go to stderr, questions get "no".
NON_INTERACTIVE = False


def show_message(parent: QWidget | None, kind: str, title: str, text: str) -> None:
    if NON_INTERACTIVE:
        print(f"tnbc-desktop gui: {kind}: {title}: {text}", file=sys.stderr)
        return
    box = {"info": QMessageBox.information, "warning": QMessageBox.warning}.get(kind, QMessageBox.critical)
    box(parent, title, text)


def ask_yes_no(parent: QWidget | None, title: str, text: str) -> bool:
    if NON_INTERACTIVE:
        return False
    answer = QMessageBox.question(parent, title, text, QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
    return answer == QMessageBox.Yes


def ask_item(parent: QWidget | None, title: str, text: str, items: list[str]) -> str | None:
    if NON_INTERACTIVE:
        return None
    item, ok = QInputDialog.getItem(parent, title, text, items, 0, False)
    return item if ok else None


def ask_open_paths(parent: QWidget | None, title: str, file_filter: str = "", directory: bool = False,
                   multiple: bool = False) -> list[str]:
    if directory:
        path = QFileDialog.getExistingDirectory(parent, title)
        return [path] if path else []
    if multiple:
        paths, _ = QFileDialog.getOpenFileNames(parent, title, "", file_filter)
        return list(paths)
    path, _ = QFileDialog.getOpenFileName(parent, title, "", file_filter)
    return [path] if path else []


def ask_save_path(parent: QWidget | None, title: str, file_filter: str, suggested: str = "") -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, file_filter)
    return path or None
