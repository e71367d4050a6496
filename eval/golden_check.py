"""Load and validate the golden evaluation set (eval/golden.jsonl) against the corpus PDFs.

Each line is one question:
    {"id": "g001", "question": "...", "kind": "number",
     "gold": [{"paper_id": "1706.03762", "page": 8, "evidence": "verbatim 8-30 word span from that page"}],
     "reference_answer": "...", "must_contain": ["28.4"]}
Unanswerable items have gold == [], must_contain == [], reference_answer "The corpus does not say." and
"absent": 1-3 strings that no corpus PDF contains.

`python -m eval.golden_check [--golden PATH] [--pdf-dir DIR]` prints counts and problems; exits 1 on any problem.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from paper_rag.text import normalize_for_match, split_sentences

KIND_MINIMUMS = {
    "number": 30,
    "mechanism": 22,
    "comparison": 15,
    "multi_paper": 15,
    "misconception": 15,
    "unanswerable": 20,
}
KINDS = frozenset(KIND_MINIMUMS)
MIN_ITEMS = 120
MIN_PAPERS = 25
EVIDENCE_WORDS = (8, 30)
UNANSWERABLE_REFERENCE = "The corpus does not say."

REQUIRED_FIELDS = ("id", "question", "kind", "gold", "reference_answer", "must_contain")
OPTIONAL_FIELDS = ("absent",)
GOLD_FIELDS = ("paper_id", "page", "evidence")

DEFAULT_GOLDEN = Path(__file__).resolve().parent / "golden.jsonl"


def load_golden(path: Path | str) -> list[dict[str, Any]]:
    """The golden items, one JSON object per non-blank line."""
    items = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not valid JSON ({error})") from error
    return items


@cache
def _page_texts(pdf: Path) -> tuple[str, ...]:
    """Normalised text of every page of one PDF (read once per process)."""
    import pymupdf

    with pymupdf.open(pdf) as doc:
        return tuple(normalize_for_match(page.get_text()) for page in doc)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _check_schema(item: dict[str, Any], where: str) -> list[str]:
    problems = []
    missing = [f for f in REQUIRED_FIELDS if f not in item]
    if missing:
        return [f"{where}: missing fields {missing}"]
    unknown = sorted(set(item) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        problems.append(f"{where}: unknown fields {unknown}")
    for field in ("id", "question", "reference_answer"):
        if not isinstance(item[field], str) or not item[field].strip():
            problems.append(f"{where}: {field} must be a non-empty string")
    kind = item["kind"]
    if kind not in KINDS:
        problems.append(f"{where}: unknown kind {kind!r}")
    if not isinstance(item["gold"], list):
        problems.append(f"{where}: gold must be a list")
        return problems
    if not isinstance(item["must_contain"], list) or not all(isinstance(m, str) for m in item["must_contain"]):
        problems.append(f"{where}: must_contain must be a list of strings")
        return problems
    sentences = len(split_sentences(item["reference_answer"])) if isinstance(item["reference_answer"], str) else 0
    if not 1 <= sentences <= 3:
        problems.append(f"{where}: reference_answer has {sentences} sentences (want 1-3)")

    if kind == "unanswerable":
        if item["gold"]:
            problems.append(f"{where}: unanswerable item must have gold == []")
        if item["must_contain"]:
            problems.append(f"{where}: unanswerable item must have must_contain == []")
        if item["reference_answer"] != UNANSWERABLE_REFERENCE:
            problems.append(f"{where}: unanswerable reference_answer must be {UNANSWERABLE_REFERENCE!r}")
        absent = item.get("absent")
        if not _is_str_list(absent) or not 1 <= len(absent) <= 3:
            problems.append(f"{where}: unanswerable item needs 'absent': 1-3 non-empty strings")
        return problems

    if "absent" in item:
        problems.append(f"{where}: only unanswerable items may have 'absent'")
    if not item["gold"]:
        problems.append(f"{where}: answerable item needs at least one gold entry")
    must = item["must_contain"]
    if not _is_str_list(must) or not 1 <= len(must) <= 3:
        problems.append(f"{where}: must_contain needs 1-3 non-empty strings")
    for number, gold in enumerate(item["gold"], 1):
        if not isinstance(gold, dict) or set(gold) != set(GOLD_FIELDS):
            problems.append(f"{where}: gold[{number}] must have exactly the fields {list(GOLD_FIELDS)}")
            continue
        if not isinstance(gold["paper_id"], str) or not gold["paper_id"]:
            problems.append(f"{where}: gold[{number}].paper_id must be a non-empty string")
        if not isinstance(gold["page"], int) or isinstance(gold["page"], bool) or gold["page"] < 1:
            problems.append(f"{where}: gold[{number}].page must be a 1-based integer")
        if not isinstance(gold["evidence"], str):
            problems.append(f"{where}: gold[{number}].evidence must be a string")
            continue
        words = len(gold["evidence"].split())
        low, high = EVIDENCE_WORDS
        if not low <= words <= high:
            problems.append(f"{where}: gold[{number}].evidence has {words} words (want {low}-{high})")
    if kind == "multi_paper":
        papers = {g.get("paper_id") for g in item["gold"] if isinstance(g, dict)}
        if len(papers) < 2:
            problems.append(f"{where}: multi_paper item needs gold from 2+ papers")
    return problems


def _check_against_corpus(item: dict[str, Any], where: str, pdf_dir: Path) -> list[str]:
    problems = []
    reference = item["reference_answer"].lower()
    for term in item["must_contain"]:
        if term.lower() not in reference:
            problems.append(f"{where}: must_contain {term!r} is not in reference_answer")
    for number, gold in enumerate(item["gold"], 1):
        pdf = pdf_dir / f"{gold['paper_id']}.pdf"
        if not pdf.is_file():
            problems.append(f"{where}: gold[{number}] paper {gold['paper_id']!r} has no PDF in {pdf_dir}")
            continue
        pages = _page_texts(pdf)
        if not 1 <= gold["page"] <= len(pages):
            problems.append(f"{where}: gold[{number}] page {gold['page']} outside 1-{len(pages)} of {gold['paper_id']}")
            continue
        if normalize_for_match(gold["evidence"]) not in pages[gold["page"] - 1]:
            found = [i for i, text in enumerate(pages, 1) if normalize_for_match(gold["evidence"]) in text]
            hint = f" (found on page {found})" if found else ""
            problems.append(f"{where}: gold[{number}] evidence not on {gold['paper_id']} page {gold['page']}{hint}")
    return problems


def _check_absent(items: Iterable[dict[str, Any]], pdf_dir: Path) -> list[str]:
    pdfs = sorted(pdf_dir.glob("*.pdf"))
    if not pdfs:
        return [f"no PDFs in {pdf_dir}"]
    problems = []
    for item in items:
        for term in item.get("absent") or []:
            needle = normalize_for_match(term)
            hits = [
                f"{pdf.stem} p{page}" for pdf in pdfs for page, text in enumerate(_page_texts(pdf), 1) if needle in text
            ]
            if hits:
                problems.append(f"{item['id']}: absent string {term!r} occurs in {', '.join(hits[:3])}")
    return problems


def summarize(items: Iterable[dict[str, Any]]) -> tuple[Counter[str], set[str]]:
    """Questions per kind, and the papers that gold evidence comes from."""
    items = [item for item in items if isinstance(item, dict)]
    kinds = Counter(str(item.get("kind")) for item in items)
    papers = {
        g["paper_id"] for item in items for g in item.get("gold") or [] if isinstance(g, dict) and "paper_id" in g
    }
    return kinds, papers


def check_golden(items: list[dict[str, Any]], pdf_dir: Path) -> list[str]:
    """Every problem with the golden set; an empty list means it is valid."""
    pdf_dir = Path(pdf_dir)
    problems: list[str] = []
    if not pdf_dir.is_dir():
        return [f"PDF folder {pdf_dir} does not exist"]

    ids = Counter(item.get("id") for item in items if isinstance(item, dict))
    problems += [f"duplicate id {i!r} ({n} times)" for i, n in ids.items() if n > 1]

    valid = []
    for number, item in enumerate(items, 1):
        where = str(item.get("id") or f"item {number}") if isinstance(item, dict) else f"item {number}"
        if not isinstance(item, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        schema = _check_schema(item, where)
        problems += schema
        if not schema:
            problems += _check_against_corpus(item, where, pdf_dir)
            valid.append(item)
    problems += _check_absent([item for item in valid if item["kind"] == "unanswerable"], pdf_dir)

    kinds, papers = summarize(items)
    if len(items) < MIN_ITEMS:
        problems.append(f"only {len(items)} items (want >= {MIN_ITEMS})")
    if len(papers) < MIN_PAPERS:
        problems.append(f"gold covers only {len(papers)} papers (want >= {MIN_PAPERS})")
    for kind, minimum in KIND_MINIMUMS.items():
        if kinds[kind] < minimum:
            problems.append(f"only {kinds[kind]} {kind} items (want >= {minimum})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate the golden evaluation set against the corpus PDFs.")
    parser.add_argument("--golden", type=Path, default=DEFAULT_GOLDEN, help="golden JSONL (default: %(default)s)")
    parser.add_argument(
        "--pdf-dir",
        type=Path,
        default=Path(os.environ["CORPUS_MIRROR"]) if os.environ.get("CORPUS_MIRROR") else None,
        help="folder of corpus PDFs named <paper_id>.pdf (default: $CORPUS_MIRROR)",
    )
    args = parser.parse_args(argv)
    if args.pdf_dir is None:
        parser.error("no PDF folder: pass --pdf-dir or set CORPUS_MIRROR")

    items = load_golden(args.golden)
    kinds, papers = summarize(items)
    print(f"{len(items)} items in {args.golden}")
    for kind in sorted(KIND_MINIMUMS):
        print(f"  {kind:<14}{kinds[kind]:>4}  (min {KIND_MINIMUMS[kind]})")
    for kind in sorted(set(kinds) - KINDS):
        print(f"  {kind:<14}{kinds[kind]:>4}  (unknown kind)")
    print(f"papers covered by gold: {len(papers)}")
    print("  " + ", ".join(sorted(papers)))

    problems = check_golden(items, args.pdf_dir)
    if problems:
        print(f"{len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("OK: no problems")
    return 0


if __name__ == "__main__":
    sys.exit(main())
