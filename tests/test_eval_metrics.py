"""Scoring functions of the evaluation harness."""

from __future__ import annotations

import pytest

from eval.harness import select_questions
from eval.metrics import answer_scores, retrieval_scores

GOLD = [{"paper_id": "1706.03762", "page": 8, "evidence": "establishing a new state-of-the-art BLEU score of 28.4"}]


def result(paper_id: str, page: int, text: str = "") -> dict:
    return {"paper_id": paper_id, "page_start": page, "page_end": page, "text": text}


def test_retrieval_scores_rank_the_first_gold_page():
    scores = retrieval_scores([result("1706.03762", 2), result("2106.09685", 8), result("1706.03762", 8)], GOLD)
    assert scores["paper_hit@1"] == 1.0 and scores["page_hit@1"] == 0.0
    assert scores["page_hit@5"] == 1.0 and scores["mrr@10"] == pytest.approx(1 / 3)
    assert scores["ndcg@10"] == pytest.approx(0.5)


def test_a_gold_page_found_twice_counts_once_in_ndcg():
    scores = retrieval_scores([result("1706.03762", 8), result("1706.03762", 8)], GOLD)
    assert scores["ndcg@10"] == 1.0


def answer(text: str, citations: list[dict], abstained: bool = False, flags: list | None = None) -> dict:
    passages = [
        {"n": 1, **result("1706.03762", 8, "... establishing a new state-of-the-art BLEU score of 28.4 ...")},
        {"n": 2, **result("1706.03762", 3, "The encoder is composed of a stack of N = 6 identical layers.")},
    ]
    return {"answer": text, "abstained": abstained, "citations": citations, "passages": passages, "flags": flags or []}


def test_answer_scores_for_an_answerable_question():
    item = {"kind": "number", "gold": GOLD, "must_contain": ["28.4"]}
    good = answer_scores(item, answer("It reaches 28.4 BLEU [1] with 6 layers [2].", [{"n": 1}, {"n": 2}]))
    assert good["must_contain"] == 1.0 and good["citation_precision"] == 0.5 and good["false_abstention"] == 0.0
    wrong = answer_scores(item, answer("It reaches 29.1 BLEU [1].", [{"n": 1}], flags=[{"type": "invalid_citation"}]))
    assert wrong["must_contain"] == 0.0 and wrong["citation_validity"] == 0.5
    abstained = answer_scores(item, answer("The corpus does not say.", [], abstained=True))
    assert abstained["false_abstention"] == 1.0 and abstained["correct_abstention"] is None


def test_answer_scores_for_an_unanswerable_question():
    item = {"kind": "unanswerable", "gold": [], "must_contain": []}
    assert answer_scores(item, answer("The corpus does not say.", [], abstained=True))["correct_abstention"] == 1.0
    answered = answer_scores(item, answer("GPT-4 has 1.8T parameters [1].", [{"n": 1}]))
    assert answered["correct_abstention"] == 0.0 and answered["must_contain"] is None


def test_select_questions_takes_the_first_of_each_kind_in_order():
    items = [{"id": f"q{i}", "kind": kind} for i, kind in enumerate("aabacbbca")]
    chosen = select_questions(items, per_kind=2)
    assert [i["id"] for i in chosen] == ["q0", "q1", "q2", "q4", "q5", "q7"]
    assert [i["id"] for i in select_questions(items, per_kind=2, limit=3)] == ["q0", "q1", "q2"]
    assert select_questions(items) == items


def must_contain(text: str, *terms: str) -> float | None:
    item = {"kind": "number", "gold": GOLD, "must_contain": list(terms)}
    return answer_scores(item, answer(text, []))["must_contain"]


def test_citation_markers_and_a_references_list_do_not_count():
    assert must_contain("The model has six layers [5].", "5") == 0.0
    assert must_contain("Six layers [2][5] and heads [1, 5].", "5") == 0.0
    assert must_contain("It reaches 28.4 BLEU [1].\n\nReferences:\n[1] 1706.03762, p. 5", "5") == 0.0
    assert must_contain("See below.\n**Sources**\n- gradient paper", "gradient") == 0.0
    assert must_contain("Sources of error are gradients [1].", "gradient") == 1.0
    assert must_contain("The [CLS] token [3] is pooled.", "[CLS]") == 1.0


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        ("Published in 2017.", "7", 0.0),
        ("It reaches 28.4 BLEU.", "8", 0.0),
        ("It is 8x faster.", "8", 0.0),
        ("Version 1.5 is out.", "1", 0.0),
        ("Over 3,000 books.", "3", 0.0),
        ("It reaches 28.4 BLEU.", "28.4", 1.0),
        ("The score is 28.4.", "28.4", 1.0),
        ("A 13B model.", "13B", 1.0),
        ("With 30% fewer steps.", "30", 1.0),
        ("It needs 16GB of memory.", "16", 1.0),
        ("It fits in 48 GB.", "48GB", 1.0),
        ("It fits in 48GB.", "48 GB", 1.0),
        ("Roughly 1-2 million tokens.", "2 million", 1.0),
    ],
)
def test_numbers_match_whole(text, term, expected):
    assert must_contain(text, term) == expected


def test_words_match_as_case_insensitive_substrings():
    assert must_contain("Clipping the Gradients helps.", "gradient") == 1.0
    assert must_contain("Clipping helps.", "gradient") == 0.0
