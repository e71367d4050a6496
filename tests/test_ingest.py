"""The ingest job end to end through the CLI, on real PDFs, the real embedder and the embedded Qdrant engine."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pymupdf
import pytest
from qdrant_client import QdrantClient

from ingest.pipeline import FileOutcome, Ingestor, ingest_fingerprint, list_pdfs
from paper_rag.catalog import IngestState
from paper_rag.embedder import Embedder
from paper_rag.index import IndexUnavailableError, open_index
from paper_rag.index.edge import EdgeIndex
from paper_rag.index.server import ServerIndex
from paper_rag.settings import Settings
from tests.conftest import REPO, corpus_pdf, run_cli


def make_bad_pdfs(folder: Path) -> dict[str, str]:
    """Every kind of bad input, each with the reason the report must give."""
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "notes.pdf").write_text("these are plain-text notes, not a PDF\n")
    real = corpus_pdf("1706.03762").read_bytes()
    (folder / "truncated.pdf").write_bytes(real[: len(real) // 3])
    with pymupdf.open() as doc:
        doc.new_page().insert_text((72, 72), "a secret paper about attention")
        doc.save(folder / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="user")
    with pymupdf.open() as doc:
        doc.new_page().draw_rect(pymupdf.Rect(100, 100, 300, 300), color=(0, 0, 0), fill=(0.5, 0.5, 0.5))
        doc.save(folder / "scanned.pdf")
    return {
        "empty.pdf": "empty file",
        "notes.pdf": "not a PDF",
        "truncated.pdf": "truncated or damaged",
        "locked.pdf": "encrypted",
        "scanned.pdf": "no text layer",
    }


def indexed_ids(data_dir: Path, paper_id: str) -> set[str]:
    index = EdgeIndex(path=Settings(data_dir=data_dir).shard_dir)
    try:
        return index.point_ids(paper_id)
    finally:
        index.close()


def test_bad_files_are_reported_and_good_ones_ingested(tmp_path, pdf_folder):
    folder = pdf_folder("1406.2661")
    expected = make_bad_pdfs(folder)
    result = run_cli("ingest", "--data-dir", str(tmp_path / "data"), "--pdf-dir", str(folder))
    assert result.returncode == 2, result.stdout + result.stderr
    for name, reason in expected.items():
        line = next((ln for ln in result.stderr.splitlines() if "failed" in ln and name in ln), "")
        assert reason in line, f"{name}: {reason!r} not reported; stderr:\n{result.stderr}"
    state = IngestState(Settings(data_dir=tmp_path / "data").ingest_state_path)
    assert list(state.papers) == ["1406.2661"]
    assert len(indexed_ids(tmp_path / "data", "1406.2661")) == state.papers["1406.2661"].chunks > 20


def test_reingest_unchanged_writes_nothing_and_changed_file_replaces_chunks(tmp_path, pdf_folder):
    folder = pdf_folder("1406.2661", "2503.14476")
    data = tmp_path / "data"
    assert run_cli("ingest", "--data-dir", str(data), "--pdf-dir", str(folder)).returncode == 0
    state_path = Settings(data_dir=data).ingest_state_path
    before_state = state_path.read_bytes()
    before_ids = indexed_ids(data, "1406.2661")

    again = run_cli("ingest", "--data-dir", str(data), "--pdf-dir", str(folder))
    assert again.returncode == 0
    assert again.stdout.count("unchanged") == 2, again.stdout
    assert state_path.read_bytes() == before_state
    assert indexed_ids(data, "1406.2661") == before_ids

    # A new version of the GAN paper: its last three pages removed.
    with pymupdf.open(folder / "1406.2661.pdf") as doc:
        doc.select(range(doc.page_count - 3))
        doc.save(tmp_path / "shorter.pdf")
    (tmp_path / "shorter.pdf").replace(folder / "1406.2661.pdf")
    changed = run_cli("ingest", "--data-dir", str(data), "--pdf-dir", str(folder))
    assert changed.returncode == 0, changed.stderr
    after_ids = indexed_ids(data, "1406.2661")
    record = IngestState(state_path).papers["1406.2661"]
    assert record.pages == 6
    assert len(after_ids) == record.chunks < len(before_ids)  # no stale points left behind
    assert len(indexed_ids(data, "2503.14476")) == IngestState(state_path).papers["2503.14476"].chunks

    deleted = run_cli("delete", "1406.2661", "--data-dir", str(data))
    assert deleted.returncode == 0
    assert indexed_ids(data, "1406.2661") == set()
    listed = json.loads(run_cli("papers", "--json", "--data-dir", str(data)).stdout)
    assert [p["paper_id"] for p in listed["papers"]] == ["2503.14476"]


def test_kill_9_during_ingest_then_ingest_again_gives_a_complete_index(tmp_path, pdf_folder):
    folder = pdf_folder("1406.2661", "2203.02155", "2401.05566")  # a small paper, then two long ones
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    assert run_cli("ingest", "--data-dir", str(reference), "--pdf-dir", str(folder)).returncode == 0
    expected = {
        pid: indexed_ids(reference, pid) for pid in IngestState(Settings(data_dir=reference).ingest_state_path).papers
    }

    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from cli.main import main; main()",
            "ingest",
            "--data-dir",
            str(crashed),
            "--pdf-dir",
            str(folder),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    shard_wal = Settings(data_dir=crashed).shard_dir / "wal"
    deadline = time.monotonic() + 300
    # Kill 3.5 s after the first paper is recorded: the second (long) paper is then mid-write.
    while time.monotonic() < deadline and process.poll() is None:
        state_path = Settings(data_dir=crashed).ingest_state_path
        if state_path.exists() and len(IngestState(state_path).papers) >= 1 and shard_wal.exists():
            time.sleep(3.5)
            break
        time.sleep(0.2)
    assert process.poll() is None, "ingest finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = IngestState(Settings(data_dir=crashed).ingest_state_path).papers
    assert 1 <= len(partial) < len(expected)

    resumed = run_cli("ingest", "--data-dir", str(crashed), "--pdf-dir", str(folder))
    assert resumed.returncode == 0, resumed.stderr
    for paper_id, ids in expected.items():
        assert indexed_ids(crashed, paper_id) == ids, paper_id
    index = EdgeIndex(path=Settings(data_dir=crashed).shard_dir)
    try:
        assert index.count() == sum(len(ids) for ids in expected.values())  # no duplicates, nothing extra
    finally:
        index.close()


def test_usage_errors_exit_1(tmp_path):
    missing = run_cli("ingest", "--data-dir", str(tmp_path), "--pdf-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr
    assert run_cli("search").returncode == 1
    assert run_cli("ingest", "--no-such-flag").returncode == 1


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(settings=Settings())


def ingest_in_process(settings: Settings, embedder: Embedder) -> list[FileOutcome]:
    index = open_index(settings)
    try:
        return Ingestor(settings=settings, index=index, embedder=embedder).run(list_pdfs(settings.resolved_pdf_dir))
    finally:
        index.close()


def test_changed_settings_or_a_state_file_without_fingerprint_ingest_again_with_the_reason(
    tmp_path, pdf_folder, embedder, caplog
):
    settings = Settings(data_dir=tmp_path / "data", pdf_dir=pdf_folder("1406.2661"))
    [first] = ingest_in_process(settings, embedder)
    assert first.status == "ingested"
    record = IngestState(settings.ingest_state_path).papers["1406.2661"]
    assert record.fingerprint == ingest_fingerprint(settings)
    assert record.fingerprint["chunk_tokens"] == 256 and record.fingerprint["vector_size"] == 384
    assert [o.status for o in ingest_in_process(settings, embedder)] == ["unchanged"]

    smaller = settings.model_copy(update={"chunk_tokens": 160})
    with caplog.at_level(logging.INFO, logger="ingest.pipeline"):
        [changed] = ingest_in_process(smaller, embedder)
    assert changed.status == "ingested" and changed.reason == "settings changed: chunk_tokens 256 -> 160"
    assert "1406.2661: ingesting again: settings changed: chunk_tokens 256 -> 160" in caplog.text
    assert len(indexed_ids(settings.data_dir, "1406.2661")) == changed.chunks > first.chunks  # no stale points
    assert [o.status for o in ingest_in_process(smaller, embedder)] == ["unchanged"]

    # A state file written before fingerprints were recorded still loads; its papers are ingested again.
    raw = json.loads(settings.ingest_state_path.read_text())
    del raw["papers"]["1406.2661"]["fingerprint"]
    settings.ingest_state_path.write_text(json.dumps(raw))
    assert IngestState(settings.ingest_state_path).papers["1406.2661"].fingerprint is None
    [old] = ingest_in_process(smaller, embedder)
    assert old.status == "ingested" and old.reason.startswith("settings changed: no settings fingerprint recorded")
    assert IngestState(settings.ingest_state_path).papers["1406.2661"].fingerprint == ingest_fingerprint(smaller)


def test_index_of_another_vector_size_is_refused_with_what_to_do(tmp_path):
    # A 768-d model folder, config files only: the index reads the vector size without loading weights.
    model = tmp_path / "wide-model"
    (model / "1_Pooling").mkdir(parents=True)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (model / "modules.json").write_text(json.dumps(modules))
    (model / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 768, "pooling_mode_mean_tokens": True})
    )
    (model / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512}))
    settings = Settings(data_dir=tmp_path / "data")
    open_index(settings).close()  # a shard made for the packaged 384-d model
    with pytest.raises(IndexUnavailableError, match="holds 384-d dense vectors but the embedding model") as error:
        open_index(settings.model_copy(update={"embedding_model": str(model)}))
    assert f"delete {settings.shard_dir}" in str(error.value)
    EdgeIndex(path=settings.shard_dir, vector_size=384).close()

    client = QdrantClient(path=str(tmp_path / "local-qdrant"))  # the server adapter, on qdrant-client's local mode
    try:
        ServerIndex(client=client, collection="papers", vector_size=384)
        with pytest.raises(IndexUnavailableError, match="DELETE /collections/papers"):
            ServerIndex(client=client, collection="papers", vector_size=768)
    finally:
        client.close()
