"""The per-patient PDF report: exactly two A4 pages (reportlab platypus), written atomically.

Page 1: identifiers (or "de-identified"), inputs, early-phase images with habitat overlay and ring,
enhancement curves, Model 3 / PRM / GPRM predictions, Kaplan-Meier panel of the predicted group.
Page 2: model card, quality checks, software versions, limitations. Every page carries the research-use
notice and, for a demo bundle, the demo notice. Each page's content is shrunk to fit its frame if needed,
so a case never spills onto a third page.
"""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from reportlab.platypus import BaseDocTemplate, Frame, KeepInFrame, PageBreak, PageTemplate

from tnbc_desktop import DEMO_BUNDLE_NOTICE, RESEARCH_USE_NOTICE, __version__
from tnbc_desktop.core.case import CaseResult
from tnbc_desktop.core.io.atomic import write_bytes_atomic
from tnbc_desktop.core.report.deid import make_redactor
from tnbc_desktop.core.report.layout import (FONT, FONT_BOLD, FRAME_HEIGHT, FRAME_WIDTH, MARGIN_BOTTOM,
                                             MARGIN_TOP, MARGIN_X, PAGE_SIZE, WARN, styles)
from tnbc_desktop.core.report.pages import page_one, page_two
from tnbc_desktop.errors import OutputError

__all__ = ["write_report", "render_report", "REPORT_TITLE"]

REPORT_TITLE = "TNBC radiogenomic case report"


def _decorate(is_demo: bool, sha: str):
    def on_page(canvas, doc):
        canvas.saveState()
        width, height = PAGE_SIZE
        canvas.setFont(FONT_BOLD, 8)
        canvas.setFillColorRGB(0.1, 0.1, 0.1)
        canvas.drawString(MARGIN_X, height - 18, RESEARCH_USE_NOTICE)
        if is_demo:
            canvas.setFillColor(WARN)
            canvas.drawString(MARGIN_X, height - 29, DEMO_BUNDLE_NOTICE)
        canvas.setFillColorRGB(0.3, 0.3, 0.3)
        canvas.setFont(FONT, 6.5)
        canvas.drawString(MARGIN_X, 18, f"tnbc-desktop {__version__} | bundle sha256 {sha[:16]}... | "
                                        f"{RESEARCH_USE_NOTICE}")
        canvas.drawRightString(width - MARGIN_X, 18, f"page {doc.page} of 2")
        canvas.restoreState()
    return on_page


def render_report(result: CaseResult, deidentify: bool = False, now: datetime | None = None) -> bytes:
    """The report PDF as bytes (two pages)."""
    from tnbc_desktop.versions import library_versions

    st = styles()
    redact = make_redactor(result, deidentify)
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf, pagesize=PAGE_SIZE, leftMargin=MARGIN_X, rightMargin=MARGIN_X, topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM, title=REPORT_TITLE, author="tnbc-desktop",
        subject="Research use only" + (" - de-identified" if deidentify else ""),
        creator=f"tnbc-desktop {__version__}", keywords="", invariant=1 if deidentify else 0,
    )
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, FRAME_WIDTH, FRAME_HEIGHT, id="body", leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame],
                                       onPage=_decorate(result.bundle.is_demo, result.bundle.sha256))])
    first = page_one(result, deidentify, redact, st, now)
    second = page_two(result, redact, st, library_versions())
    story = [KeepInFrame(FRAME_WIDTH, FRAME_HEIGHT - 2, first, mode="shrink"), PageBreak(),
             KeepInFrame(FRAME_WIDTH, FRAME_HEIGHT - 2, second, mode="shrink")]
    doc.build(story)
    return buf.getvalue()


def write_report(result: CaseResult, path: str | Path, deidentify: bool = False,
                 now: datetime | None = None) -> Path:
    """Write the two-page PDF report for ``result`` to ``path`` atomically; returns the path.

    Raises :class:`OutputError` when the report cannot be drawn or written (any previous file is intact).
    """
    target = Path(path)
    try:
        pdf = render_report(result, deidentify=deidentify, now=now)
    except OutputError:
        raise
    except Exception as exc:  # reportlab / matplotlib failures become one plain message
        raise OutputError(f"the report could not be drawn ({type(exc).__name__}: {exc})", target) from exc
    return write_bytes_atomic(target, pdf)
