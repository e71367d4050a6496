"""Aggregates per-question scores into results.json, questions.csv, report.md and a self-contained report.html."""

from __future__ import annotations

import csv
import html
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.calibrate import CAP, calibration_summary, curve_table_md
from eval.judge import METRICS
from eval.metrics import mean

RETRIEVAL_COLUMNS = ("paper_hit@1", "paper_hit@5", "page_hit@1", "page_hit@5", "page_hit@10", "mrr@10", "ndcg@10")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    return {"p50": round(float(np.percentile(values, 50)), 1), "p95": round(float(np.percentile(values, 95)), 1)}


def summarize(
    questions: list[dict[str, Any]], retrieval: dict[str, dict[str, Any]], skipped: dict[str, str], judge: str | None
) -> dict[str, Any]:
    answerable = [q for q in questions if q["kind"] != "unanswerable"]
    table = {}
    for config, per_question in retrieval.items():
        rows = [per_question[q["id"]] for q in answerable]
        table[config] = {c: _round(mean([r["scores"][c] for r in rows])) for c in RETRIEVAL_COLUMNS}
        table[config]["latency_ms"] = _percentiles([r["ms"] for r in per_question.values() if "ms" in r])
    answered = [q for q in questions if q.get("answer")]
    abstained = [q for q in answered if q["answer"]["abstained"]]
    unanswerable = [q for q in answered if q["kind"] == "unanswerable"]
    answers = {
        "questions": len(answered),
        "generation_errors": sum(1 for q in questions if q.get("error")),
        "must_contain_accuracy": _round(mean([q["answer_scores"]["must_contain"] for q in answered])),
        "citation_precision": _round(mean([q["answer_scores"]["citation_precision"] for q in answered])),
        "citation_validity": _round(mean([q["answer_scores"]["citation_validity"] for q in answered])),
        "abstention_precision": _round(
            sum(q["kind"] == "unanswerable" for q in abstained) / len(abstained) if abstained else None
        ),
        "abstention_recall": _round(mean([q["answer_scores"]["correct_abstention"] for q in unanswerable])),
        "false_abstention_rate": _round(mean([q["answer_scores"]["false_abstention"] for q in answered])),
    }
    ragas: dict[str, Any] = {}
    for metric in METRICS:
        outcomes = [q["ragas"][metric] for q in answered if q.get("ragas")]
        values = [o["value"] for o in outcomes if "value" in o]
        ragas[metric] = {
            "mean": _round(mean(values)),
            "scored": len(values),
            "parse_failures": sum(1 for o in outcomes if "error" in o and o["error"] != "NaN"),
            "nan": sum(1 for o in outcomes if o.get("error") == "NaN"),
            "skipped_abstained": sum(1 for o in outcomes if "skipped" in o),
        }
    stages = {
        stage: _percentiles([t[stage] for t in (q["answer"]["timings"] for q in answered) if t.get(stage) is not None])
        for stage in ("retrieve_ms", "rerank_ms", "first_token_ms", "total_ms")
    }
    prompt_tokens = [q["answer"]["prompt_tokens"] for q in answered if q["answer"].get("prompt_tokens") is not None]
    kinds = sorted({q["kind"] for q in questions})
    per_kind = {
        kind: {
            "questions": sum(q["kind"] == kind for q in questions),
            "page_hit@5 (hybrid)": _round(
                mean(
                    [
                        retrieval["hybrid"][q["id"]]["scores"]["page_hit@5"]
                        for q in questions
                        if q["kind"] == kind and q["gold"]
                    ]
                )
            )
            if "hybrid" in retrieval
            else None,
            **{
                column: _round(mean([q["answer_scores"][column] for q in answered if q["kind"] == kind]))
                for column in ("must_contain", "citation_precision", "abstained")
            },
        }
        for kind in kinds
    }
    return {
        "retrieval": table,
        "skipped_configs": skipped,
        "answers": answers,
        "ragas": ragas,
        "judge": judge,
        "latency_ms": stages,
        "prompt_tokens_median": float(np.median(prompt_tokens)) if prompt_tokens else None,
        "abstention": abstention_summary(answered, answers),
        "per_kind": per_kind,
        "worst": worst_questions(questions, retrieval),
    }


def abstention_summary(answered: list[dict[str, Any]], answers: dict[str, Any]) -> dict[str, Any]:
    """Recall and false abstention, abstain codes by kind of question, and the calibration of the answers' scores."""
    codes: dict[str, Counter[str]] = {}
    for q in answered:
        code = q["answer"].get("abstain_code") or ("(no code)" if q["answer"]["abstained"] else None)
        if code:
            codes.setdefault(code, Counter())["unanswerable" if q["kind"] == "unanswerable" else "answerable"] += 1
    return {
        "recall": answers["abstention_recall"],
        "false_abstention": answers["false_abstention_rate"],
        "codes": {code: dict(counts) for code, counts in sorted(codes.items())},
        "calibration": calibration_summary(answered),
    }


def abstention_md(abstention: dict[str, Any]) -> str:
    lines = [
        f"recall {_fmt(abstention['recall'])}, false abstention {_fmt(abstention['false_abstention'])}\n",
        "| abstain_code | unanswerable | answerable |\n|---|---|---|",
        *(
            f"| {code} | {c.get('unanswerable', 0)} | {c.get('answerable', 0)} |"
            for code, c in abstention["codes"].items()
        ),
    ]
    for name, calibration in abstention["calibration"].items():
        chosen = calibration["chosen"]
        lines.append(f"\n### Calibration of `{name}` (abstain if {name} < threshold)\n")
        lines.append(curve_table_md(calibration["points"]))
        lines.append(f"\nchosen (highest recall with false abstention <= {CAP}):")
        lines.append(curve_table_md([chosen]) if chosen else "none")
    return "\n".join(lines)


def worst_questions(questions: list[dict[str, Any]], retrieval: dict[str, dict[str, Any]], limit: int = 15) -> list:
    worst = []
    for q in questions:
        problems = []
        hybrid = retrieval.get("hybrid", {}).get(q["id"])
        if q["gold"] and hybrid and not hybrid["scores"]["page_hit@10"]:
            problems.append("retrieval miss (no gold page in hybrid top 10)")
        answer, scores = q.get("answer"), q.get("answer_scores") or {}
        if q.get("error"):
            problems.append(f"generation failed: {q['error'][:80]}")
        if answer:
            if scores.get("false_abstention"):
                problems.append("wrong abstention (answerable, but abstained)")
            if q["kind"] == "unanswerable" and not answer["abstained"]:
                problems.append("missed abstention (unanswerable, but answered)")
            if scores.get("must_contain") == 0.0:
                problems.append("wrong number" if q["kind"] == "number" else "missing key term")
            if not answer["abstained"] and not answer["citations"]:
                problems.append("missing citation")
        if problems:
            worst.append(
                {
                    "id": q["id"],
                    "kind": q["kind"],
                    "question": q["question"],
                    "problems": problems,
                    "answer": (answer or {}).get("answer", "")[:300],
                }
            )
    return sorted(worst, key=lambda w: -len(w["problems"]))[:limit]


def write_reports(out: Path, questions: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"summary": summary, "questions": questions}, indent=1))
    with (out / "questions.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        configs = list(summary["retrieval"])
        writer.writerow(
            [
                "id",
                "kind",
                "question",
                *[f"{c} page_hit@5" for c in configs],
                "must_contain",
                "citation_precision",
                "abstained",
                *METRICS,
                "total_ms",
                "answer",
            ]
        )
        for q in questions:
            scores, ragas = q.get("answer_scores") or {}, q.get("ragas") or {}
            writer.writerow(
                [
                    q["id"],
                    q["kind"],
                    q["question"],
                    *[q["retrieval"].get(c, {}).get("page_hit@5", "") for c in configs],
                    scores.get("must_contain", ""),
                    scores.get("citation_precision", ""),
                    scores.get("abstained", ""),
                    *[ragas.get(m, {}).get("value", ragas.get(m, {}).get("error", "")) for m in METRICS],
                    (q.get("answer") or {}).get("timings", {}).get("total_ms", ""),
                    (q.get("answer") or {}).get("answer", ""),
                ]
            )
    (out / "report.md").write_text(markdown(summary))
    (out / "report.html").write_text(html_report(summary, questions))


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def retrieval_table_md(summary: dict[str, Any]) -> str:
    lines = [
        "| configuration | " + " | ".join(RETRIEVAL_COLUMNS) + " | p50 ms | p95 ms |",
        "|---" * (len(RETRIEVAL_COLUMNS) + 3) + "|",
    ]
    for config, row in summary["retrieval"].items():
        lines.append(
            f"| {config} | "
            + " | ".join(_fmt(row[c]) for c in RETRIEVAL_COLUMNS)
            + f" | {_fmt(row['latency_ms']['p50'])} | {_fmt(row['latency_ms']['p95'])} |"
        )
    for config, reason in summary["skipped_configs"].items():
        lines.append(f"| {config} | skipped: {reason[:80]} |" + " |" * (len(RETRIEVAL_COLUMNS) + 1))
    return "\n".join(lines)


def markdown(summary: dict[str, Any]) -> str:
    a, parts = summary["answers"], []
    parts.append("# Evaluation report\n")
    parts.append("## Retrieval (answerable questions; a page hit = a result covering a gold page)\n")
    parts.append(retrieval_table_md(summary) + "\n")
    parts.append("## Answers (the service pipeline)\n")
    parts.append("| metric | value |\n|---|---|\n" + "\n".join(f"| {k} | {_fmt(v)} |" for k, v in a.items()) + "\n")
    parts.append(f"## ragas (judge: {summary['judge'] or 'not run'})\n")
    parts.append(
        "| metric | mean | scored | parse failures | NaN | skipped (abstained) |\n|---|---|---|---|---|---|\n"
        + "\n".join(
            f"| {m} | {_fmt(r['mean'])} | {r['scored']} | {r['parse_failures']} | {r['nan']} | "
            f"{r['skipped_abstained']} |"
            for m, r in summary["ragas"].items()
        )
        + "\n"
    )
    parts.append("## Latency of the answer pipeline (ms)\n")
    parts.append(
        "| stage | p50 | p95 |\n|---|---|---|\n"
        + "\n".join(f"| {s} | {_fmt(v['p50'])} | {_fmt(v['p95'])} |" for s, v in summary["latency_ms"].items())
        + "\n"
    )
    parts.append(f"median prompt tokens: {_fmt(summary.get('prompt_tokens_median'))}\n")
    if "abstention" in summary:
        parts.append("## Abstention\n")
        parts.append(abstention_md(summary["abstention"]) + "\n")
    parts.append("## By kind\n")
    columns = ["questions", "page_hit@5 (hybrid)", "must_contain", "citation_precision", "abstained"]
    parts.append(
        "| kind | "
        + " | ".join(columns)
        + " |\n|---" * 1
        + "|---" * len(columns)
        + "|\n"
        + "\n".join(
            f"| {k} | " + " | ".join(_fmt(v[c]) for c in columns) + " |" for k, v in summary["per_kind"].items()
        )
        + "\n"
    )
    parts.append("## Worst questions\n")
    parts += [f"- **{w['id']}** ({w['kind']}) {w['question']} — {'; '.join(w['problems'])}" for w in summary["worst"]]
    return "\n".join(parts) + "\n"


def _svg_bars(
    title: str, labels: Sequence[str], values: Sequence[float | None], maximum: float = 1.0, counts: bool = False
) -> str:
    width, bar, gap, left = 640, 18, 8, 200
    height = 30 + len(labels) * (bar + gap)
    rows = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 30 + i * (bar + gap)
        length = 0 if value is None else (width - left - 60) * min(value / maximum, 1.0)
        rows.append(
            f'<text x="{left - 8}" y="{y + 13}" text-anchor="end" font-size="12">{html.escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" fill="#2f5bd3"/>'
            f'<text x="{left + length + 6:.1f}" y="{y + 13}" font-size="12">'
            f"{int(value or 0) if counts else _fmt(value)}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<text x="0" y="16" font-size="14" font-weight="600">{html.escape(title)}</text>{"".join(rows)}</svg>'
    )


def _svg_histogram(title: str, values_ms: Sequence[float]) -> str:
    if not values_ms:
        return ""
    seconds = np.array(values_ms) / 1000
    counts, edges = np.histogram(seconds, bins=min(12, max(3, len(seconds) // 3)))
    labels = [f"{edges[i]:.1f}–{edges[i + 1]:.1f} s" for i in range(len(counts))]
    return _svg_bars(title, labels, [float(c) for c in counts], maximum=float(max(counts)), counts=True)


def html_report(summary: dict[str, Any], questions: list[dict[str, Any]]) -> str:
    configs = list(summary["retrieval"])
    charts = [
        _svg_bars(
            "Gold page in top 5, by configuration", configs, [summary["retrieval"][c]["page_hit@5"] for c in configs]
        ),
        _svg_bars("MRR@10, by configuration", configs, [summary["retrieval"][c]["mrr@10"] for c in configs]),
        _svg_bars("Answers", list(summary["answers"])[2:], [v for v in list(summary["answers"].values())[2:]]),
        _svg_bars("ragas (means)", list(summary["ragas"]), [r["mean"] for r in summary["ragas"].values()]),
        _svg_bars(
            "must_contain accuracy by kind",
            list(summary["per_kind"]),
            [v["must_contain"] for v in summary["per_kind"].values()],
        ),
        _svg_histogram(
            "Answer latency (total), seconds",
            [q["answer"]["timings"]["total_ms"] for q in questions if q.get("answer")],
        ),
    ]
    body = markdown(summary).replace("&", "&amp;").replace("<", "&lt;")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>paper-rag evaluation</title>"
        "<style>body{font:14px system-ui,sans-serif;max-width:1000px;margin:24px auto;color:#1d2330}"
        "svg{display:block;margin:18px 0}pre{white-space:pre-wrap;background:#f7f8fa;padding:12px}</style>"
        "</head><body><h1>paper-rag evaluation</h1>"
        + "".join(charts)
        + f"<h2>Tables</h2><pre>{body}</pre></body></html>"
    )
