"""Shared reportlab pieces: fonts (DejaVu, for non-Latin names), styles, escaped paragraphs, tables, images."""
from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, Table, TableStyle
from xml.sax.saxutils import escape

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
PAGE_SIZE = A4
MARGIN_X = 28.0
MARGIN_TOP = 44.0
MARGIN_BOTTOM = 34.0
FRAME_WIDTH = PAGE_SIZE[0] - 2 * MARGIN_X
FRAME_HEIGHT = PAGE_SIZE[1] - MARGIN_TOP - MARGIN_BOTTOM
GRID = colors.HexColor("#B0B0B0")
HEAD_BG = colors.HexColor("#E8EEF4")
WARN = colors.HexColor("#B00020")


def register_fonts() -> None:
    """Register DejaVuSans (+Bold) from matplotlib's bundled fonts once (covers Latin, Greek, Cyrillic)."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(ttf / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(ttf / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=7.2, leading=8.8)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=6.3, leading=7.6),
        "cell": ParagraphStyle("cell", parent=body, fontSize=6.8, leading=8.0),
        "title": ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=12, leading=14, spaceAfter=2),
        "h2": ParagraphStyle("h2", parent=body, fontName=FONT_BOLD, fontSize=8.6, leading=10.5, spaceBefore=4,
                             spaceAfter=2, textColor=colors.HexColor("#1F3A5F")),
        "warn": ParagraphStyle("warn", parent=body, textColor=WARN),
    }


def printable(value: object) -> str:
    """``str(value)`` with characters DejaVuSans has no glyph for (e.g. CJK) written as ``<U+674E>``, so
    they stay visible in the PDF instead of being drawn as empty boxes / NULs."""
    register_fonts()
    cmap = pdfmetrics.getFont(FONT).face.charToGlyph
    s = "" if value is None else str(value)
    return "".join(ch if ord(ch) in cmap or ch in "\n\t" else f"<U+{ord(ch):04X}>" for ch in s)


def text(value: object, style: ParagraphStyle, bold_prefix: str = "") -> Paragraph:
    """A Paragraph whose content is escaped input text (never parsed as markup)."""
    body = escape(printable(value))
    if bold_prefix:
        body = f"<b>{escape(bold_prefix)}</b> {body}"
    return Paragraph(body, style)


def table(rows: Sequence[Sequence[object]], style: ParagraphStyle, col_widths: Sequence[float] | None = None,
          header: bool = True, bold_first_col: bool = False) -> Table:
    """Grid table of escaped text; the first row is a header when ``header``."""
    cells = []
    for r, row in enumerate(rows):
        out = []
        for c, value in enumerate(row):
            bold = (header and r == 0) or (bold_first_col and c == 0)
            body = escape(printable(value))
            out.append(Paragraph(f"<b>{body}</b>" if bold else body, style))
        cells.append(out)
    tbl = Table(cells, colWidths=col_widths, hAlign="LEFT")
    cmds = [("GRID", (0, 0), (-1, -1), 0.3, GRID), ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.2), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
            ("LEFTPADDING", (0, 0), (-1, -1), 2.5), ("RIGHTPADDING", (0, 0), (-1, -1), 2.5)]
    if header:
        cmds.append(("BACKGROUND", (0, 0), (-1, 0), HEAD_BG))
    tbl.setStyle(TableStyle(cmds))
    return tbl


def png_image(png: bytes, width_pt: float) -> Image:
    """A platypus Image of PNG bytes scaled to ``width_pt`` keeping its aspect ratio."""
    img = Image(io.BytesIO(png))
    scale = width_pt / float(img.imageWidth)
    img.drawWidth = width_pt
    img.drawHeight = float(img.imageHeight) * scale
    return img


def fmt(value: object, digits: int = 2, missing: str = "-") -> str:
    """Number as text with ``digits`` decimals; ``missing`` for None/NaN."""
    if value is None:
        return missing
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if f != f:
        return missing
    return f"{f:.{digits}f}"


def fmt_ci(point: object, low: object, high: object, digits: int = 2) -> str:
    if point is None:
        return "-"
    if low is None or high is None:
        return fmt(point, digits)
    return f"{fmt(point, digits)} ({fmt(low, digits)}-{fmt(high, digits)})"
