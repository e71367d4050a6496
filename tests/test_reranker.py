"""The reranker: synthetic-question parsing and filtering (plumbing), and the real CrossEncoder path: a tiny
student trained in the test on one paper's committed questions, loaded by search with its manifest checked."""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter

from fastapi.testclient import TestClient

from paper_rag.rerank.features import FEATURES
from paper_rag.rerank.linear import LinearRanker, fit
from paper_rag.rerank.model import COMMITTED_FEATURES, Reranker, blended_order, resolve_reranker
from paper_rag.rerank.question_filter import assign_status, copies_chunk, golden_evidence, load_rows
from paper_rag.rerank.questions import parse_questions
from paper_rag.schema import Chunk, SearchHit
from paper_rag.settings import PROJECT_ROOT, Settings
from service.api.app import create_app
from tests.conftest import run_cli

QUESTIONS = PROJECT_ROOT / "corpus" / "reranker_questions.jsonl"


def _row(question: str, **extra) -> dict:
    return {
        "question": question,
        "paper_id": "p1",
        "page_start": 3,
        "page_end": 3,
        "chunk_text": "We train the model with a learning rate of 0.001 for ten epochs on four GPUs in total.",
    } | extra


def _hit(paper_id: str, page: int) -> SearchHit:
    return SearchHit(Chunk(paper_id, "T", "S", "body", page, page, "text", 0), 1.0)


def test_parse_questions_keeps_numbered_questions_with_their_kinds():
    reply = "1. How many GPUs train Model X?\n2) Why does Model X use warmup?\nSure! Here you go.\n3. Extra?"
    assert parse_questions(reply, ["number", "mechanism"]) == [
        ("How many GPUs train Model X?", "number"),
        ("Why does Model X use warmup?", "mechanism"),
    ]


def test_filter_gives_each_question_its_reason(tmp_path):
    rows = [
        _row("What learning rate does Model X use?"),
        _row("What learning rate does Model X use?"),  # same again
        _row("What does the passage say about learning rates?"),
        _row("Is it true that we train the model with a learning rate of 0.001 for ten epochs?"),
        _row("Which optimizer trains Model X on GPUs?"),  # retrieval does not find page 3 of p1
        _row("What BLEU score does the big Transformer reach?"),
        _row("What specific method is used in Model X?", title="Model X: a paper"),
        _row("How long is Model Y trained, and on what hardware?", paper_id="p2"),  # chunk quoted by the golden set
    ]
    found = [[_hit("p1", 3)], [_hit("p1", 3)], [], [], [_hit("p1", 9), _hit("p2", 3)], [_hit("p1", 3)], [], []]
    golden = [{"bleu", "score", "big", "transformer", "reach"}]
    golden_file = tmp_path / "golden.jsonl"
    quote = {"paper_id": "p2", "page": 3, "evidence": "a Learning rate of 0.001 for ten epochs"}
    golden_file.write_text(json.dumps({"question": "Q?", "gold": [quote]}) + "\n")
    statuses = [
        r["status"]
        for r in assign_status(
            rows, golden_terms=golden, evidence=golden_evidence(golden_file), search_many=lambda qs: found
        )
    ]
    assert statuses == [
        "kept", "duplicate", "vague", "copies_chunk", "not_retrievable", "golden_overlap", "generic", "golden_evidence"
    ]  # fmt: skip
    assert not copies_chunk("What learning rate trains it?", rows[0]["chunk_text"])


def test_committed_questions_have_provenance_and_statuses():
    rows = load_rows(QUESTIONS)
    assert len(rows) >= 500
    counts = Counter(r["status"] for r in rows)
    assert counts["kept"] >= 300 and set(counts) <= {
        "kept", "vague", "generic", "copies_chunk", "duplicate", "golden_overlap", "golden_evidence", "not_retrievable"
    }  # fmt: skip
    for row in rows[:50]:
        assert row["question"].endswith("?") and row["paper_id"] and row["chunk_text"] and row["model"]
        assert row["page_start"] <= row["page_end"]


def test_corpus_cross_encoder_is_the_one_trained_in_the_data_dir_else_unavailable_with_what_to_do(tmp_path):
    settings = Settings(data_dir=tmp_path, reranker_model="corpus-minilm")
    reranker = Reranker(settings=settings)
    reranker.warm_up()
    info = reranker.describe()
    assert info["state"] == "unavailable" and info["kind"] == "cross-encoder"
    assert "paper-rag reranker train --kind cross-encoder" in info["reason"]
    assert reranker.rerank("q", [_hit("p1", 1), _hit("p1", 2)]) == [_hit("p1", 1), _hit("p1", 2)]  # fusion order
    (tmp_path / "models" / "reranker").mkdir(parents=True)
    (tmp_path / "models" / "reranker" / "model.safetensors").write_bytes(b"")
    assert resolve_reranker(settings) == str(tmp_path / "models" / "reranker")
    assert resolve_reranker(Settings(data_dir=tmp_path, reranker_model="org/hub-model")) == "org/hub-model"


def test_corpus_feature_reranker_is_the_committed_one_unless_one_was_trained_in_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path, reranker_model="corpus-features")
    assert resolve_reranker(settings) == str(COMMITTED_FEATURES)
    manifest = json.loads((COMMITTED_FEATURES / "manifest.json").read_text())
    assert manifest["features"] == list(FEATURES) and manifest["data_sha256"]
    assert LinearRanker.load(COMMITTED_FEATURES).features == FEATURES
    trained = tmp_path / "models" / "feature-reranker"
    shutil.copytree(COMMITTED_FEATURES, trained)
    assert resolve_reranker(settings) == str(trained)
    # Without the retriever (it reads each leg's list) it is unavailable, says why, and keeps the fusion order.
    reranker = Reranker(settings=settings)
    assert reranker.rerank("q", [_hit("p1", 1), _hit("p1", 2)]) == [_hit("p1", 1), _hit("p1", 2)]
    assert reranker.state == "unavailable" and "retriever" in reranker.reason


def test_linear_fit_weighs_up_the_feature_that_finds_the_page_and_scores_are_probabilities():
    rng = random.Random(0)
    lists = []
    for _ in range(60):  # the positive has term_coverage 1, the rest random noise everywhere
        rows = [[rng.random() for _ in FEATURES] for _ in range(5)]
        rows[0][FEATURES.index("term_coverage")] = 1.5
        lists.append((rows, [1, 0, 0, 0, 0]))
    ranker = fit(lists, epochs=200)
    weights = dict(zip(ranker.features, ranker.weights, strict=True))
    assert weights["term_coverage"] == max(weights.values()) > 0.5
    scores = ranker.scores(lists[0][0])
    assert abs(sum(scores) - 1) < 1e-9 and scores.index(max(scores)) == 0


def test_a_reranker_trained_here_is_what_search_uses(tiny_reranker, corpus_data_dir, tmp_path):
    """The tiny student trained by the fixture through the CLI: search uses it, --no-rerank gives the fusion
    order, and damaged weights are refused by their sha256 while search still answers."""
    manifest = json.loads((tiny_reranker / "manifest.json").read_text())
    assert manifest["layers"] == 1 and manifest["steps"] > 0 and manifest["questions"] <= 24
    assert set(manifest["scores"]) == {"fusion", "untrained_base", "trained"}
    question = "How does the model handle long input sequences?"
    env = {"DATA_DIR": str(corpus_data_dir), "RERANKER_MODEL": str(tiny_reranker)}
    reranked = json.loads(run_cli("search", question, "--json", "--k", "5", env=env).stdout)
    assert reranked["reranker"]["state"] == "available" and reranked["reranker"]["applied"]
    assert reranked["reranker"]["manifest"]["weights_sha256"] == manifest["weights_sha256"]
    fusion = json.loads(run_cli("search", question, "--json", "--k", "5", "--no-rerank", env=env).stdout)
    assert fusion["reranker"]["applied"] is False and len(fusion["results"]) == 5

    damaged = tmp_path / "damaged"
    shutil.copytree(tiny_reranker, damaged)
    weights = damaged / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    refused = json.loads(
        run_cli("search", question, "--json", "--k", "5", env=env | {"RERANKER_MODEL": str(damaged)}).stdout
    )
    assert refused["reranker"]["state"] == "unavailable" and "sha256" in refused["reranker"]["reason"]
    assert [r["text"] for r in refused["results"]] == [r["text"] for r in fusion["results"]]


def test_the_service_loads_a_reranker_from_the_data_dir_by_default_and_names_it(
    tiny_reranker, corpus_data_dir, tmp_path
):
    data_dir = tmp_path / "data"
    shutil.copytree(corpus_data_dir, data_dir, ignore=shutil.ignore_patterns("pdf"))
    shutil.copytree(tiny_reranker, data_dir / "models" / "reranker")
    settings = Settings(
        data_dir=data_dir, llm_base_url="http://127.0.0.1:9/v1", llm_timeout_s=5, reranker_model="corpus-minilm"
    )
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz").json()  # 503: no generator here, but the reranker is named
        assert ready["reranker"]["state"] == "available" and ready["reranker"]["model"] == "corpus-minilm"
        assert ready["reranker"]["path"] == str(data_dir / "models" / "reranker")
        assert ready["reranker"]["manifest"]["weights_sha256"]
        params = {"q": "How many GPU hours did training take?", "k": 10}
        reranked = client.get("/v1/search", params=params).json()
        fusion = client.get("/v1/search", params=params | {"rerank": "false"}).json()
        wider = client.get("/v1/search", params=params | {"rerank": "false", "k": 30}).json()
    assert reranked["reranker"]["applied"] is True and fusion["reranker"]["applied"] is False
    # The reranked ten come from the fused candidates (RERANK_CANDIDATES = 30).
    assert {r["text"] for r in reranked["results"]} <= {r["text"] for r in wider["results"]}
    assert len(reranked["results"]) == len(fusion["results"]) == 10


def test_blended_order_is_the_cross_encoders_at_weight_0_and_lets_fusion_break_near_ties():
    scores = [0.50, 0.90, 0.89, 0.10]  # candidates in fusion order
    assert blended_order(scores, 0.0) == [1, 2, 0, 3]
    # With the fusion order weighed in as much, the fusion-first candidate climbs over a near tie.
    assert blended_order(scores, 1.0) == [1, 0, 2, 3]


def test_a_feature_reranker_trained_here_reorders_search_and_damaged_weights_are_refused(corpus_data_dir, tmp_path):
    """`paper-rag reranker train` (the default kind) on one paper's committed questions: its manifest, search
    reranked by it, and a ranker.json that no longer matches its manifest's sha256 refused with the reason."""
    kept = [r for r in load_rows(QUESTIONS) if r["status"] == "kept"]
    paper = Counter(r["paper_id"] for r in kept).most_common(1)[0][0]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in kept if r["paper_id"] == paper))
    folder = tmp_path / "feature-reranker"
    env = {"RERANKER_QUESTIONS": str(questions), "DATA_DIR": str(corpus_data_dir)}
    trained = run_cli("reranker", "train", "--limit", "60", "--out", str(folder), env=env)
    assert trained.returncode == 0, trained.stderr[-3000:]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "features" and manifest["questions"] <= 60 and manifest["features"] == list(FEATURES)
    assert set(manifest["scores"]) == {"fusion", "trained"}

    question = "How does the model handle long input sequences?"
    env = {"DATA_DIR": str(corpus_data_dir), "RERANKER_MODEL": str(folder)}
    reranked = json.loads(run_cli("search", question, "--json", "--k", "5", env=env).stdout)
    assert reranked["reranker"]["state"] == "available" and reranked["reranker"]["applied"]
    assert reranked["reranker"]["kind"] == "features"
    assert reranked["reranker"]["manifest"]["weights_sha256"] == manifest["weights_sha256"]
    assert all(0 <= r["score"] <= 1 for r in reranked["results"])
    fusion = json.loads(run_cli("search", question, "--json", "--k", "5", "--no-rerank", env=env).stdout)

    original = (folder / "ranker.json").read_text()
    ranker = json.loads(original)
    ranker["bias"] += 1.0
    (folder / "ranker.json").write_text(json.dumps(ranker))
    refused = json.loads(run_cli("search", question, "--json", "--k", "5", env=env).stdout)
    assert refused["reranker"]["state"] == "unavailable" and "sha256" in refused["reranker"]["reason"]
    assert [r["text"] for r in refused["results"]] == [r["text"] for r in fusion["results"]]

    # The service with RERANKER_MODEL set to it: /readyz and /v1/search name it, and it reorders the candidates.
    data_dir = tmp_path / "data"
    shutil.copytree(corpus_data_dir, data_dir, ignore=shutil.ignore_patterns("pdf"))
    (folder / "ranker.json").write_text(original)  # undamaged again
    settings = Settings(
        data_dir=data_dir, llm_base_url="http://127.0.0.1:9/v1", llm_timeout_s=5, reranker_model=str(folder)
    )
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz").json()
        assert ready["reranker"]["state"] == "available" and ready["reranker"]["kind"] == "features"
        params = {"q": "How many GPU hours did training take?", "k": 10}
        reranked = client.get("/v1/search", params=params).json()
        wider = client.get("/v1/search", params=params | {"rerank": "false", "k": 30}).json()
    assert reranked["reranker"]["applied"] is True and len(reranked["results"]) == 10
    assert {r["text"] for r in reranked["results"]} <= {r["text"] for r in wider["results"]}
