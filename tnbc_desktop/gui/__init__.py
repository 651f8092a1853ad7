"""The desktop application (PySide6 + pyqtgraph): the only package that imports Qt.

It binds widgets to the core's frozen results (``DCEStudy``, ``Mask``, ``CaseResult``) and never computes
anything the core computes; long work runs in :mod:`tnbc_desktop.gui.worker`. Entry point:
:func:`tnbc_desktop.gui.app.run_gui`.
"""
