# paper-rag: `make run` sets everything up and runs on the embedded defaults; `make test` runs the tests.
# Offline machines: set CORPUS_MIRROR to a folder of the corpus PDFs (arXiv is tried first).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAGAS_DO_NOT_TRACK := true

.PHONY: setup run ingest test lint bench clean

$(BIN)/paper-rag: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned to the CPU build: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(BIN)/paper-rag

ingest: setup
	$(BIN)/paper-rag corpus fetch
	$(BIN)/paper-rag ingest

run: ingest
	$(BIN)/paper-rag papers
	$(BIN)/paper-rag search "What BLEU does the big Transformer reach on WMT 2014 English-German?" --k 3

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_retrieval_quality.py

clean:
	rm -rf data
