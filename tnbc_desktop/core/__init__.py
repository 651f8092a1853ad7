"""Headless core: never imports Qt, PySide6 or pyqtgraph (tests/test_headless.py proves it)."""
