"""Embedder throughput per precision path and batch size on this machine's CPU, with accuracy against fp32.

Paths: torch fp32, fp32 weights with bf16 autocast (what EMBEDDING_PRECISION=bf16 runs), and bf16 weights.
The texts are real chunks (what ingest embeds: `Chunk.index_text`) read from the index in --data-dir.
Usage: python bench/bench_embedder_paths.py [--data-dir data] [--passages 384] [--out bench/results/embedder_paths.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paper_rag.embedder import cpu_has_fast_bf16, resolve_model_path  # noqa: E402
from paper_rag.index import open_index  # noqa: E402
from paper_rag.settings import Settings  # noqa: E402


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def cpu_flags() -> list[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            wanted = {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "amx_int8"}
            return sorted(wanted & set(line.split(":", 1)[1].split()))
    return []


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--passages", type=int, default=384)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "embedder_paths.json")
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    settings = Settings(data_dir=args.data_dir)
    index = open_index(settings)
    texts = [c.index_text for c in index.chunks()][: args.passages]
    index.close()
    path = str(resolve_model_path(settings.embedding_model))
    fp32 = SentenceTransformer(path, device="cpu", local_files_only=True)
    bf16_weights = SentenceTransformer(path, device="cpu", local_files_only=True).to(torch.bfloat16)

    def encode(model, batch: int, autocast: bool) -> np.ndarray:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            vectors = model.encode(texts, batch_size=batch, normalize_embeddings=True, convert_to_tensor=True)
        return vectors.float().numpy()

    reference = encode(fp32, 16, False)
    rows = []
    for name, model, autocast in (
        ("fp32", fp32, False),
        ("bf16 autocast", fp32, True),
        ("bf16 weights", bf16_weights, False),
    ):
        for batch in (16, 32, 64):
            encode(model, batch, autocast)  # warm
            started = time.perf_counter()
            vectors = encode(model, batch, autocast)
            seconds = time.perf_counter() - started
            cosine = float(np.min(np.sum(vectors * reference, axis=1)))
            rows.append(
                {
                    "path": name,
                    "batch": batch,
                    "passages_per_s": round(len(texts) / seconds, 1),
                    "min_cosine_to_fp32": round(cosine, 5),
                }
            )
            print(rows[-1], flush=True)
    result = {
        "cpu": cpu_name(),
        "flags": cpu_flags(),
        "threads": torch.get_num_threads(),
        "fast_bf16": cpu_has_fast_bf16(),
        "passages": len(texts),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
