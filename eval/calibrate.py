"""Calibrating abstention gates: for each confidence score in the answers, what a threshold would abstain on.

`python -m eval.calibrate REPORT_DIR [--cap 0.05]` prints the curve of each score and the chosen threshold.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from eval.metrics import mean

CAP = 0.05  # the largest false-abstention rate a chosen threshold may cost


def _scores(answer: dict[str, Any] | None) -> dict[str, float]:
    """The numeric entries of answer["scores"] (higher = more confident the question is answerable)."""
    scores = (answer or {}).get("scores") or {}
    return {k: float(v) for k, v in scores.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def calibration_curves(questions: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per score name, one point per distinct observed value t: abstention recall on unanswerable questions and
    false-abstention rate on the others, had the service abstained exactly when score < t.
    Questions without an answer, or whose answer lacks the score, are left out of that score's curve."""
    observed: dict[str, list[tuple[float, bool]]] = {}
    for q in questions:
        for name, value in _scores(q.get("answer")).items():
            observed.setdefault(name, []).append((value, q["kind"] == "unanswerable"))
    curves = {}
    for name, pairs in sorted(observed.items()):
        curves[name] = [
            {
                "threshold": t,
                "recall": mean([float(v < t) for v, unanswerable in pairs if unanswerable]),
                "false_abstention": mean([float(v < t) for v, unanswerable in pairs if not unanswerable]),
                "abstained": sum(v < t for v, _ in pairs),
                "questions": len(pairs),
            }
            for t in sorted({v for v, _ in pairs})
        ]
    return curves


def choose_threshold(curve: list[dict[str, Any]], cap: float = CAP) -> dict[str, Any] | None:
    """The point of highest recall whose false-abstention rate is at most `cap` (the lowest threshold on ties)."""
    allowed = [p for p in curve if p["recall"] is not None and (p["false_abstention"] or 0.0) <= cap]
    return max(allowed, key=lambda p: (p["recall"], -p["threshold"]), default=None)


def sample_points(curve: list[dict[str, Any]], count: int = 5) -> list[dict[str, Any]]:
    """About `count` points spread evenly over the curve, first and last included."""
    if len(curve) <= count:
        return curve
    return [curve[round(i * (len(curve) - 1) / (count - 1))] for i in range(count)]


def calibration_summary(questions: list[dict[str, Any]], cap: float = CAP, count: int = 5) -> dict[str, Any]:
    """Per score: a few points of its curve and the chosen point, for the report."""
    return {
        name: {"points": sample_points(curve, count), "chosen": choose_threshold(curve, cap)}
        for name, curve in calibration_curves(questions).items()
    }


def _row(point: dict[str, Any]) -> str:
    def fmt(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    return (
        f"| {point['threshold']:.4g} | {fmt(point['recall'])} | {fmt(point['false_abstention'])} | "
        f"{point['abstained']}/{point['questions']} |"
    )


def curve_table_md(points: list[dict[str, Any]]) -> str:
    """A markdown table of curve points."""
    header = "| abstain if score < | recall | false abstention | abstained |\n|---|---|---|---|"
    return "\n".join([header, *(_row(p) for p in points)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("report_dir", type=Path)
    parser.add_argument("--cap", type=float, default=CAP, help="Largest false-abstention rate allowed.")
    args = parser.parse_args(argv)
    questions = json.loads((args.report_dir / "results.json").read_text())["questions"]
    curves = calibration_curves(questions)
    if not curves:
        print("No answer carries numeric scores: nothing to calibrate.")
    for name, curve in curves.items():
        chosen = choose_threshold(curve, args.cap)
        print(f"## {name}\n\n{curve_table_md(curve)}\n")
        print(f"chosen (highest recall with false abstention <= {args.cap}):")
        print((curve_table_md([chosen]) if chosen else "none") + "\n")


if __name__ == "__main__":
    main()
