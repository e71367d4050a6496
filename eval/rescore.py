"""Rescoring a stored report with the current answer metrics, without running the pipeline again.

`python -m eval.rescore REPORT_DIR [--out OUT_DIR]` writes a full report to OUT_DIR (default REPORT_DIR-rescored)
and prints the old and new headline numbers. Retrieval scores and latencies are kept as stored.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from eval.metrics import answer_scores
from eval.report import summarize, write_reports


def rescore(results: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The questions with answer_scores recomputed, and their new summary (the stored run and retrieval kept)."""
    old = results["summary"]
    questions = [
        {**q, "answer_scores": answer_scores(q, q["answer"]) if q.get("answer") else None} for q in results["questions"]
    ]
    retrieval = {
        config: {q["id"]: {"scores": q["retrieval"][config]} for q in questions if config in q["retrieval"]}
        for config in old["retrieval"]
    }
    summary = {**old, **summarize(questions, retrieval, old["skipped_configs"], old["judge"])}
    summary["retrieval"] = old["retrieval"]  # the same scores, with the latencies the stored report measured
    return questions, summary


HEADLINE = ("must_contain_accuracy", "citation_precision", "abstention_recall", "false_abstention_rate")


def headline(summary: dict[str, Any]) -> dict[str, float | None]:
    """The numbers compared before and after: answer metrics, then must_contain by kind."""
    numbers = {k: summary["answers"][k] for k in HEADLINE}
    numbers |= {f"must_contain ({kind})": row["must_contain"] for kind, row in summary["per_kind"].items()}
    return numbers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.rescore", description=__doc__.splitlines()[0])
    parser.add_argument("report_dir", type=Path)
    parser.add_argument("--out", type=Path, help="Report folder (default: REPORT_DIR-rescored).")
    args = parser.parse_args(argv)
    results = json.loads((args.report_dir / "results.json").read_text())
    questions, summary = rescore(results)
    out = args.out or args.report_dir.with_name(args.report_dir.name + "-rescored")
    write_reports(out, questions, summary)
    before, after = headline(results["summary"]), headline(summary)
    print(f"| metric | {args.report_dir.name} | rescored |\n|---|---|---|")
    for name, value in after.items():
        print(f"| {name} | {before.get(name)} | {value} |")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
