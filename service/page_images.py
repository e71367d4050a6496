"""A cited PDF page as a PNG, with the quoted text highlighted in yellow as PDF viewers do.

The quote is found with PyMuPDF's text search; one that spans lines or a column break is found piece by piece
(runs of words), each piece highlighted. Whether it was found travels with the image, so a caller can say so
rather than show a page with nothing marked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import pymupdf

ZOOM = 2.0  # 144 dpi: body text of a two-column paper reads comfortably
PIECE_WORDS = 6
Found = Literal["full", "partial", "none", "no quote"]


@dataclass(frozen=True)
class PageImage:
    png: bytes
    found: Found
    anchor: tuple[float, float] | None = None  # where the highlight starts: (x, y) as fractions of the page


def highlight_rects(page: pymupdf.Page, quote: str) -> tuple[list[pymupdf.Quad], Found]:
    """Where the quote is on the page: the whole quote, else each run of PIECE_WORDS words that is found."""
    words = re.sub(r"\s+", " ", quote).strip().split(" ")
    whole = page.search_for(" ".join(words), quads=True)
    if whole:
        return whole, "full"
    quads: list[pymupdf.Quad] = []
    pieces = [" ".join(words[i : i + PIECE_WORDS]) for i in range(0, len(words), PIECE_WORDS)]
    hits = 0
    for piece in pieces:
        found = page.search_for(piece, quads=True) if len(piece) >= 12 else []
        hits += bool(found)
        quads += found
    if not hits:
        return [], "none"
    return quads, "full" if hits == len(pieces) else "partial"


@lru_cache(maxsize=64)
def render_page(pdf: Path, sha256: str, page_number: int, quote: str) -> PageImage:
    """The page (1-based) rendered, the quote highlighted; cached by file content, page and quote."""
    with pymupdf.open(pdf) as doc:
        page = doc[page_number - 1]
        found: Found = "no quote"
        anchor = None
        if quote.strip():
            quads, found = highlight_rects(page, quote)
            if quads:
                page.add_highlight_annot(quads)  # in memory only: the file is never written
                first = quads[0].rect
                anchor = (round(first.x0 / page.rect.width, 3), round(first.y0 / page.rect.height, 3))
        png = page.get_pixmap(matrix=pymupdf.Matrix(ZOOM, ZOOM), annots=True).tobytes("png")
    return PageImage(png, found, anchor)
