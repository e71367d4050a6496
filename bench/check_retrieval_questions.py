"""Check bench/retrieval_questions.jsonl against the corpus PDFs.

Usage: python bench/check_retrieval_questions.py [--pdf-dir DIR] [--questions FILE]
The PDF folder is taken from $CORPUS_MIRROR, else from --pdf-dir.
"""

import argparse
import collections
import json
import os
import re
import sys
from pathlib import Path

import pymupdf

LIGATURES = {"\ufb01": "fi", "\ufb02": "fl", "\ufb00": "ff", "\ufb03": "ffi", "\ufb04": "ffl"}


def normalise(text, join_hyphens=True):
    """Map ligatures, handle line-end hyphens, collapse whitespace, lowercase."""
    for lig, plain in LIGATURES.items():
        text = text.replace(lig, plain)
    # "compu-\ntation" -> "computation"; the variant keeps the hyphen ("multi-head").
    text = re.sub(r"(?<=\w)-[ \t]*\n\s*(?=\w)", "" if join_hyphens else "-", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def page_variants(doc, page_no):
    """Both hyphen treatments of a 1-based page, so true compounds still match."""
    raw = doc[page_no - 1].get_text()
    return normalise(raw, True), normalise(raw, False)


def main():
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser()
    ap.add_argument("--pdf-dir", help="folder with <paper_id>.pdf (used if $CORPUS_MIRROR is unset)")
    ap.add_argument("--questions", default=str(here / "retrieval_questions.jsonl"))
    args = ap.parse_args()
    pdf_dir = os.environ.get("CORPUS_MIRROR") or args.pdf_dir
    if not pdf_dir:
        sys.exit("set CORPUS_MIRROR or pass --pdf-dir")

    with open(args.questions, encoding="utf-8") as handle:
        questions = [json.loads(line) for line in handle if line.strip()]
    errors, docs = [], {}
    ids = collections.Counter(q["id"] for q in questions)
    errors += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    for q in questions:
        pid = q["paper_id"]
        if pid not in docs:
            docs[pid] = pymupdf.open(Path(pdf_dir) / f"{pid}.pdf")
        doc, evidence = docs[pid], normalise(q["evidence"])
        if not 8 <= len(evidence.split()) <= 25:
            errors.append(f"{q['id']}: evidence has {len(evidence.split())} words (need 8-25)")
        if not q["gold_pages"]:
            errors.append(f"{q['id']}: no gold pages")
        for page in q["gold_pages"]:
            if not 1 <= page <= len(doc):
                errors.append(f"{q['id']}: page {page} outside 1..{len(doc)}")
            elif not any(evidence in v for v in page_variants(doc, page)):
                errors.append(f"{q['id']}: evidence not found on {pid} p{page}")

    per_paper = collections.Counter(q["paper_id"] for q in questions)
    if len(questions) < 40:
        errors.append(f"only {len(questions)} questions (need >= 40)")
    if len(per_paper) < 20:
        errors.append(f"only {len(per_paper)} papers (need >= 20)")
    errors += [f"paper {p} has {n} questions (max 3)" for p, n in per_paper.items() if n > 3]

    print(f"{len(questions)} questions, {len(per_paper)} papers, max {max(per_paper.values())} per paper")
    for e in errors:
        print("FAIL:", e)
    print("OK" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
