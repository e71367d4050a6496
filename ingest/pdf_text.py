"""PDF → paragraphs in reading order with page numbers and section paths (PyMuPDF).

What it repairs, each a known trait of arXiv PDFs: two-column pages (read left column, then right,
with full-width lines as separators), ligatures (also the \\x1b–\\x1f control codes of bitmap fonts),
line-end hyphens, running headers/footers/page numbers, the rotated arXiv stamp. Headings are found by
numbering + font (bold or larger than body text); references and appendices are tagged by section kind.
Tables come out row by row (pieces of one visual row are joined left to right) after their caption;
page.find_tables() reads cells better but costs ~70 ms a page, most of the ingest budget.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from paper_rag.schema import SectionKind
from paper_rag.text import printable

# Bump when a change here changes the paragraphs of an unchanged PDF: the ingest fingerprint records it.
PARSER_VERSION = 3  # 2: control characters and lone surrogates cleaned; 3: image blocks not extracted

# Image blocks are left out: only text is read, and decoding every figure took over half the parse time
# (all 29 papers: 12.4 s -> 5.6 s). Without them PyMuPDF also stops splitting words at drop caps ("R obustly").
_TEXT_FLAGS = pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_LIGATURES & ~pymupdf.TEXT_PRESERVE_IMAGES
_MARGIN = 0.07  # top/bottom share of the page where running headers and footers live
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+([A-Z][^.]{1,90})$")
_LETTERED = re.compile(r"^(?:Appendix\s+)?([A-H](?:\.\d{1,2}){0,3})[.:]?\s+([A-Z][^.]{1,90})$")
_NAMED = re.compile(
    r"^(abstract|introduction|related work|background|conclusions?|discussion|limitations|references|"
    r"bibliography|acknowledge?ments?|appendix|appendices|broader impacts?|ethics statement|"
    r"supplementary material)$",
    re.IGNORECASE,
)
CAPTION = re.compile(r"^(Table|Figure|Fig\.)\s+\d+[:.]")


class PdfError(Exception):
    """A file that cannot be ingested; the message says why in words a person can act on."""


@dataclass
class _Line:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    bold: bool


@dataclass
class Paragraph:
    page: int  # 1-based
    text: str
    section: str
    section_kind: SectionKind
    continues_previous: bool = False  # same paragraph, carried over from the previous page


@dataclass
class ParsedPdf:
    pages: int
    paragraphs: list[Paragraph] = field(default_factory=list)
    metadata_title: str = ""


def open_pdf(path: Path) -> pymupdf.Document:
    """Open a PDF or raise PdfError saying what is wrong with it."""
    if not path.exists():
        raise PdfError("file not found")
    if path.stat().st_size == 0:
        raise PdfError("empty file (0 bytes)")
    with path.open("rb") as handle:
        if b"%PDF-" not in handle.read(1024):
            raise PdfError("not a PDF (no %PDF header)")
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises several types for damaged files
        raise PdfError(f"corrupt PDF: {exc}") from exc
    if doc.needs_pass:
        doc.close()
        raise PdfError("encrypted PDF (needs a password)")
    if doc.page_count == 0 or doc.is_repaired:
        doc.close()
        raise PdfError("truncated or damaged PDF (no intact page tree; its cross-reference table had to be rebuilt)")
    return doc


def parse_pdf(path: Path) -> ParsedPdf:
    doc = open_pdf(path)
    try:
        try:
            pages = [_page_lines(page) for page in doc]
        except Exception as exc:
            raise PdfError(f"cannot read the text of the PDF: {exc}") from exc
        if sum(len(line.text) for lines in pages for line in lines) < 200:
            raise PdfError("no text layer (scanned or image-only PDF); OCR it first")
        pages = _drop_running_lines(pages, [page.rect.height for page in doc])
        body_size = _body_font_size(pages)
        vocabulary = Counter(w.lower() for lines in pages for line in lines for w in line.text.split())
        parsed = ParsedPdf(
            pages=doc.page_count, metadata_title=printable((doc.metadata or {}).get("title", "") or "").strip()
        )
        sections = _SectionTracker()
        for number, (page, lines) in enumerate(zip(doc, pages, strict=True), start=1):
            ordered = _reading_order(lines, page.rect.width)
            _append_paragraphs(parsed.paragraphs, ordered, number, body_size, sections, vocabulary)
        return parsed
    finally:
        doc.close()


def _page_lines(page: pymupdf.Page) -> list[_Line]:
    lines: list[_Line] = []
    for block in page.get_text("dict", flags=_TEXT_FLAGS)["blocks"]:
        for line in block.get("lines", []):
            if abs(line["dir"][1]) > 0.1:  # rotated text: the arXiv stamp in the margin
                continue
            spans = [s for s in line["spans"] if s["text"].strip()]
            if not spans:
                continue
            text = printable("".join(s["text"] for s in line["spans"])).strip()
            chars = sum(len(s["text"]) for s in spans)
            size = sum(s["size"] * len(s["text"]) for s in spans) / chars
            bold = all(s["flags"] & 16 or "bold" in s["font"].lower() for s in spans)
            x0, y0, x1, y1 = line["bbox"]
            lines.append(_Line(text, x0, y0, x1, y1, size, bold))
    return lines


def _drop_running_lines(pages: list[list[_Line]], heights: list[float]) -> list[list[_Line]]:
    """Drop page numbers and headers/footers that repeat (digits aside) in the page margins."""

    def key(line: _Line) -> str:
        return re.sub(r"\d+", "#", line.text.lower())

    def in_margin(line: _Line, height: float) -> bool:
        return line.y1 < height * _MARGIN or line.y0 > height * (1 - _MARGIN)

    repeats = Counter(
        k for lines, h in zip(pages, heights, strict=True) for k in {key(li) for li in lines if in_margin(li, h)}
    )
    threshold = max(3, len(pages) // 4)
    return [
        [
            li
            for li in lines
            if not (in_margin(li, h) and (repeats[key(li)] >= threshold or re.fullmatch(r"[\divxlc]+", li.text)))
        ]
        for lines, h in zip(pages, heights, strict=True)
    ]


def _body_font_size(pages: list[list[_Line]]) -> float:
    sizes = Counter[float]()
    for lines in pages:
        for line in lines:
            sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _reading_order(lines: list[_Line], width: float) -> list[_Line]:
    """Rows merged left to right; on two-column pages, the left column before the right one."""
    mid = width / 2
    left = [li for li in lines if li.x1 <= mid + 10]
    right = [li for li in lines if li.x0 >= mid - 10]
    two_columns = sum(1 for li in right if li.x1 - li.x0 > width * 0.25) >= 5 and len(left) >= 5
    if not two_columns:
        return _merge_rows(lines)
    spanning = sorted((li for li in lines if li.x0 < mid - 10 and li.x1 > mid + 10), key=lambda li: li.y0)
    ordered: list[_Line] = []
    top = -1.0
    for boundary in [*spanning, None]:
        bottom = boundary.y0 if boundary else float("inf")
        for column in (left, right):
            band = [li for li in column if top <= li.y0 < bottom and li not in spanning]
            ordered += _merge_rows(band)
        if boundary:
            ordered.append(boundary)
            top = boundary.y0
    return ordered


def _merge_rows(lines: list[_Line]) -> list[_Line]:
    """Join the pieces of one visual row, left to right ("3.1" and "Encoder and Decoder Stacks" are
    separate lines; so are table cells). Pieces share a row when their vertical extents mostly overlap."""
    rows: list[list[_Line]] = []
    for line in sorted(lines, key=lambda li: li.y0):
        row = rows[-1] if rows else None
        if row:
            top, bottom = min(li.y0 for li in row), max(li.y1 for li in row)
            overlap = min(bottom, line.y1) - max(top, line.y0)
            if overlap > 0.5 * min(bottom - top, line.y1 - line.y0):
                row.append(line)
                continue
        rows.append([line])
    merged = []
    for row in rows:
        row.sort(key=lambda li: li.x0)
        merged.append(
            _Line(
                " ".join(li.text for li in row),
                row[0].x0,
                min(li.y0 for li in row),
                max(li.x1 for li in row),
                max(li.y1 for li in row),
                max(li.size for li in row),
                all(li.bold for li in row),
            )
        )
    return merged


class _SectionTracker:
    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []
        self.kind: SectionKind = "front"

    @property
    def path(self) -> str:
        return " > ".join(title for _, title in self.stack)

    def enter(self, level: int, title: str, kind: SectionKind) -> None:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, title))
        # After the references everything is back matter; appendices never return to the body.
        if self.kind == "references" and kind != "references":
            kind = "appendix"
        if self.kind == "appendix" and kind == "body":
            kind = "appendix"
        self.kind = kind


def _heading(line: _Line, body_size: float) -> tuple[int, str, SectionKind] | None:
    text = re.sub(r"\s+", " ", line.text).strip()
    emphasised = line.bold or line.size >= body_size + 0.9
    if not emphasised or len(text.split()) > 14 or len(text) < 4 and not _NAMED.match(text):
        return None
    if re.search(r"\s\d{1,3}$", text):  # a table-of-contents entry ("2 Approach 5")
        return None
    if match := _NUMBERED.match(text):
        number, title = match.groups()
        if sum(ch.isdigit() for ch in title) > 4:  # a table row, not a heading
            return None
        return number.count(".") + 1, f"{number} {title}", "body"
    if match := _LETTERED.match(text):
        number, title = match.groups()
        return number.count(".") + 1, f"{number} {title}", "appendix"
    if _NAMED.match(text.rstrip(":")):
        name = text.rstrip(":").lower()
        kind: SectionKind = (
            "references"
            if name in ("references", "bibliography")
            else "appendix"
            if name.startswith("append") or name.startswith("supplementary")
            else "front"
            if name == "abstract"
            else "body"
        )
        return 1, text.rstrip(":").title() if text.isupper() else text.rstrip(":"), kind
    return None


def _join_hyphenated(previous: str, following: str, vocabulary: Counter[str]) -> str:
    """Join a line-end hyphen: "compu-" + "tation" → "computation", but keep real compounds ("multi-head")."""
    if not (re.search(r"[A-Za-z]-$", previous) and following[:1].islower()):
        return f"{previous} {following}"
    head = previous.rsplit(" ", 1)[-1][:-1]
    tail = following.split(" ", 1)[0]
    joined, compound = f"{head}{tail}".lower(), f"{head}-{tail}".lower()
    if vocabulary[compound] > vocabulary[joined]:
        return f"{previous}{following}"
    return f"{previous[:-1]}{following}"


def _append_paragraphs(
    out: list[Paragraph],
    rows: list[_Line],
    page: int,
    body_size: float,
    sections: _SectionTracker,
    vocabulary: Counter[str],
) -> None:
    current: list[_Line] = []
    first_on_page = True

    def flush() -> None:
        nonlocal first_on_page
        if not current:
            return
        text = current[0].text
        for row in current[1:]:
            text = _join_hyphenated(text, row.text, vocabulary)
        previous = out[-1] if out else None
        continues = (
            first_on_page
            and previous is not None
            and previous.section == sections.path
            and not re.search(r"[.!?:]$", previous.text)
            and text[:1].islower()
        )
        out.append(Paragraph(page, text, sections.path, sections.kind, continues_previous=continues))
        current.clear()
        first_on_page = False

    for row in rows:
        heading = _heading(row, body_size)
        if heading:
            flush()
            sections.enter(*heading)
            continue
        last = current[-1] if current else None
        gap = row.y0 - last.y1 if last else 0.0
        new_paragraph = (
            last is None
            or gap > 0.7 * row.size
            or gap < -row.size  # vertical gap, or a column jump
            or CAPTION.match(row.text) is not None
        )
        if new_paragraph:
            flush()
        current.append(row)
    flush()
