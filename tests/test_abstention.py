"""The gates before the model and the manifest names they use (pure: real manifest, hand-made passages)."""

from __future__ import annotations

from paper_rag.manifest import load_manifest, papers_named
from paper_rag.numbers import unsupported_numbers, value_set
from paper_rag.settings import Settings
from paper_rag.terms import TermStats, named_terms
from service.abstention import AbstentionGate, GateThresholds
from tests.test_grounding import hit

MANIFEST = load_manifest(Settings().corpus_manifest)
INGESTED = {"2312.00752", "2101.03961", "2309.00267"}  # Mamba, Switch Transformer, RLAIF
PASSAGES = [
    hit("2101.03961", "Switch Transformer routes each token to a single expert, which reduces computation.", 3),
    hit("2309.00267", "RLAIF uses an off-the-shelf LLM to label preferences, unlike Constitutional AI, which ...", 2),
]
STATS = TermStats(h.chunk.index_text for h in PASSAGES)


def gate(**thresholds: float) -> AbstentionGate:
    values = {"min_dense": 0.3, "min_coverage": 0.0, "min_named_coverage": 0.0} | thresholds
    return AbstentionGate(
        thresholds=GateThresholds(**values), manifest=MANIFEST, ingested=lambda: INGESTED, stats=lambda: STATS
    )


def test_a_longer_name_wins_over_the_name_inside_it():
    named = [m.paper.short_name for m in papers_named("What does Mamba-2 add to Mamba's selective scan?", MANIFEST)]
    assert named == ["Mamba-2", "Mamba"]
    assert [m.paper.short_name for m in papers_named("What is Switch Transformer routing?", MANIFEST)] == [
        "Switch Transformer"
    ]


def test_question_about_a_paper_in_the_manifest_but_not_ingested_names_it_and_how_to_add_it():
    abstention, scores = gate().check("What success rate did Tree of Thoughts reach on Game of 24?", PASSAGES, 0.5)
    assert abstention is not None and abstention.code == "not_ingested"
    assert "Tree of Thoughts" in abstention.reason and "2305.10601" in abstention.reason
    assert "paper-rag corpus fetch" in abstention.reason
    assert set(scores) == {"best_dense", "coverage", "named_coverage"}


def test_a_paper_not_ingested_but_discussed_by_an_ingested_one_does_not_block():
    abstention, _ = gate().check("Are RLAIF and Constitutional AI the same technique?", PASSAGES, 0.6)
    assert abstention is None


def test_off_topic_question_is_declined_first():
    abstention, _ = gate().check("How do I bake sourdough bread?", PASSAGES, 0.1)
    assert abstention is not None and abstention.code == "off_topic"


def test_a_model_no_paper_covers_is_declined_for_low_coverage_and_the_missing_name_given():
    abstention, scores = gate(min_named_coverage=0.99).check(
        "How many experts does Mixtral 8x7B route each token to?", PASSAGES, 0.55
    )
    assert abstention is not None and abstention.code == "low_coverage"
    assert "Mixtral" in abstention.reason and scores["named_coverage"] < 0.99
    covered, _ = gate(min_named_coverage=0.99).check("How many experts does Switch Transformer use?", PASSAGES, 0.6)
    assert covered is None


def test_named_terms_are_names_not_question_words():
    assert named_terms("How many GPU hours on H800s did DeepSeek-R1 take?") == ["GPU", "H800s", "DeepSeek-R1"]


def test_numbers_compare_as_values():
    supported = value_set("a learning rate of 0.0001, 65 billion parameters, 100,000 steps and 16Ψ memory")
    assert unsupported_numbers("1e-4, 65B, 100k steps, 16Ψ", supported) == []
    assert unsupported_numbers("2017 and 7", value_set("in 2017")) == ["7"]
