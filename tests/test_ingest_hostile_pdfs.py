"""PDFs that are valid but hostile: a text layer of control characters and glyphs mapped to lone surrogates
(and a title holding them), and a 500-page document. Each ingests through the real job without a crash, its
stored text is clean, and memory does not grow with the page count."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pymupdf

from paper_rag.text import CONTROL_CHARS
from tests.conftest import REPO, run_cli

# A ToUnicode map sending '~' and '|' to lone surrogates: what a broken PDF producer writes.
SURROGATE_CMAP = b"""/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def /CMapType 2 def
1 begincodespacerange <00> <FF> endcodespacerange
2 beginbfchar <7E> <D800> <7C> <DFFF> endbfchar
endcmap CMapName currentdict /CMap defineresource pop end end"""
HOSTILE_BODY = (
    "The striped model\x01 keeps\x07 local heads and global heads apart~| in each layer, and the gain holds "
    "across\x00 every benchmark we tried\x7f. "
) * 6


def write_hostile_pdf(path: Path) -> None:
    with pymupdf.open() as doc:
        for n in range(1, 4):
            page = doc.new_page()
            page.insert_textbox(
                pymupdf.Rect(72, 72, 540, 120), f"{n} Striped heads, part {n}", fontsize=12, fontname="hebo"
            )
            page.insert_textbox(pymupdf.Rect(72, 130, 540, 760), HOSTILE_BODY, fontsize=10, fontname="helv")
        fonts = {font[0] for page in doc for font in page.get_fonts()}
        for font in fonts:
            cmap = doc.get_new_xref()
            doc.update_object(cmap, "<<>>")
            doc.update_stream(cmap, SURROGATE_CMAP)
            doc.xref_set_key(font, "ToUnicode", f"{cmap} 0 R")
        info = doc.get_new_xref()  # a UTF-16 title holding a lone surrogate, a NUL and a BEL
        doc.update_object(info, "<< /Title <FEFF005A0065D8000062007200610000000700200048> >>")
        doc.xref_set_key(-1, "Info", f"{info} 0 R")
        doc.save(path)


def write_long_pdf(path: Path, pages: int) -> None:
    with pymupdf.open() as doc:
        for n in range(1, pages + 1):
            page = doc.new_page()
            if n % 50 == 1:
                page.insert_textbox(
                    pymupdf.Rect(72, 40, 540, 70), f"{n // 50 + 1} Part {n // 50 + 1}", fontsize=12, fontname="hebo"
                )
            text = f"Page {n} reports run {n}: the model reached {n % 97}.{n % 10} points on task {n % 13}. " * 4
            page.insert_textbox(pymupdf.Rect(72, 80, 540, 760), text, fontsize=10, fontname="helv")
        doc.save(path)


def ingest_peak_rss_mb(data_dir: Path, pdf_dir: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """`paper-rag ingest` in a fresh process that reports its own peak resident memory on exit."""
    code = (
        "import atexit, resource, sys\n"
        "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "atexit.register(lambda: print('PEAK_RSS_KB', peak(), file=sys.stderr))\n"
        "from cli.main import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "ingest", "--data-dir", str(data_dir), "--pdf-dir", str(pdf_dir)],
        capture_output=True, text=True, timeout=1200, cwd=REPO,
    )  # fmt: skip
    peak = re.search(r"PEAK_RSS_KB (\d+)", result.stderr)
    assert peak, result.stderr[-2000:]
    return result, int(peak.group(1)) / 1024


def test_control_characters_and_surrogate_glyphs_ingest_as_clean_text(tmp_path):
    pdf_dir = tmp_path / "pdf"
    pdf_dir.mkdir()
    write_hostile_pdf(pdf_dir / "striped.pdf")
    data_dir = tmp_path / "data"
    result = run_cli("ingest", "--data-dir", str(data_dir), "--pdf-dir", str(pdf_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((data_dir / "ingest-state-papers.json").read_text())["papers"]["striped"]
    assert record["chunks"] >= 1 and record["title"].startswith("Ze") and record["title"].endswith("H")
    assert not CONTROL_CHARS.search(record["title"]), record["title"]
    found = run_cli("search", "striped model global heads", "--json", "--data-dir", str(data_dir))
    assert found.returncode == 0, found.stderr[-2000:]
    texts = [hit["text"] for hit in json.loads(found.stdout)["results"]]
    assert texts and all("striped model keeps local heads" in t.replace("  ", " ") for t in texts), texts[:1]
    assert not any(CONTROL_CHARS.search(t) for t in texts)
    for text in texts:
        text.encode("utf-8")  # no lone surrogate survived


def test_a_500_page_pdf_ingests_with_memory_that_does_not_grow_with_pages(tmp_path):
    peaks = {}
    for pages in (50, 500):
        pdf_dir = tmp_path / f"pdf-{pages}"
        pdf_dir.mkdir()
        write_long_pdf(pdf_dir / f"long-{pages}.pdf", pages)
        result, peaks[pages] = ingest_peak_rss_mb(tmp_path / f"data-{pages}", pdf_dir)
        assert result.returncode == 0, result.stderr[-3000:]
        record = json.loads((tmp_path / f"data-{pages}" / "ingest-state-papers.json").read_text())["papers"]
        assert record[f"long-{pages}"]["pages"] == pages and record[f"long-{pages}"]["chunks"] >= pages // 4
    # Ten times the pages: the text and vectors grow by a few MB; the embedder and engine dominate.
    print(f"peak RSS of ingest: {peaks}")
    assert peaks[500] < peaks[50] + 250, peaks
