"""Calibration of abstention gates, on small synthetic answers."""

from __future__ import annotations

import pytest

from eval.calibrate import calibration_curves, choose_threshold, sample_points
from eval.metrics import answer_scores
from eval.report import markdown, summarize


def question(kind: str, abstained: bool = False, code: str | None = None, **scores: float) -> dict:
    answer = {"answer": "…", "abstained": abstained, "abstain_code": code, "citations": [], "flags": []}
    answer |= {"scores": {**scores, "label": "not a number", "flag": True}, "timings": {"total_ms": 100.0}}
    return {"id": f"q{id(answer)}", "question": "?", "kind": kind, "gold": [], "must_contain": [], "answer": answer}


QUESTIONS = [
    question("unanswerable", dense=0.1),
    question("unanswerable", dense=0.3),
    question("unanswerable", dense=0.6),
    question("number", dense=0.2),
    question("number", dense=0.5),
    question("mechanism", dense=0.7),
    question("mechanism", dense=0.8),
    question("number"),  # no dense score: left out of that curve
    {**question("number", dense=0.0), "answer": None},  # generation failed
]


def test_the_curve_has_a_point_per_observed_value():
    curves = calibration_curves(QUESTIONS)
    assert list(curves) == ["dense"]  # only numeric entries count
    curve = curves["dense"]
    assert [p["threshold"] for p in curve] == [0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8]
    first, at_half = curve[0], curve[3]
    assert first["recall"] == 0.0 and first["false_abstention"] == 0.0 and first["abstained"] == 0
    # abstain when dense < 0.5: 0.1 and 0.3 (unanswerable), 0.2 (answerable)
    assert at_half["recall"] == pytest.approx(2 / 3) and at_half["false_abstention"] == pytest.approx(1 / 4)
    assert at_half["abstained"] == 3 and at_half["questions"] == 7


def test_the_chosen_threshold_maximises_recall_within_the_cap():
    curve = calibration_curves(QUESTIONS)["dense"]
    assert choose_threshold(curve, cap=0.0)["threshold"] == 0.2  # recall 1/3; 0.1 has recall 0
    assert choose_threshold(curve, cap=0.25)["threshold"] == 0.5  # recall 2/3
    assert choose_threshold(curve, cap=0.5)["threshold"] == 0.7  # recall 1, false abstention 1/2
    assert choose_threshold([], cap=0.05) is None


def test_sample_points_keeps_the_ends():
    curve = [{"threshold": float(t)} for t in range(11)]
    assert [p["threshold"] for p in sample_points(curve, 3)] == [0.0, 5.0, 10.0]
    assert sample_points(curve[:2], 5) == curve[:2]


def test_the_report_has_an_abstention_section():
    questions = [
        q | {"answer_scores": answer_scores(q, q["answer"])}
        for q in [question("unanswerable", True, "low_support", dense=0.1), question("number", dense=0.9)]
    ]
    summary = summarize(questions, {}, {}, None)
    assert summary["abstention"]["codes"] == {"low_support": {"unanswerable": 1}}
    assert summary["abstention"]["calibration"]["dense"]["chosen"]["threshold"] == 0.9
    text = markdown(summary)
    assert "## Abstention" in text and "Calibration of `dense`" in text and "low_support" in text
