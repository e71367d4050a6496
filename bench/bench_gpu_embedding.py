"""Embedding throughput of all-MiniLM-L6-v2 on a GPU at scale (run on a lent GPU machine; not part of CI).

Encodes the corpus chunk texts (dumped from an index, repeated to --total passages) at several batch
sizes in fp16 and prints passages/s. Usage:
python bench/bench_gpu_embedding.py --texts texts.json --model MODEL_DIR [--total 100000]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from sentence_transformers import SentenceTransformer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--total", type=int, default=100_000)
    args = parser.parse_args()
    with open(args.texts) as handle:
        corpus = json.load(handle)
    texts = (corpus * (args.total // len(corpus) + 1))[: args.total]
    model = SentenceTransformer(args.model, device="cuda", model_kwargs={"torch_dtype": torch.float16})
    model.encode(texts[:2048], batch_size=256)
    results = {"device": torch.cuda.get_device_name(), "passages": len(texts)}
    for batch_size in (64, 256, 1024):
        torch.cuda.synchronize()
        started = time.perf_counter()
        model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
        torch.cuda.synchronize()
        results[f"batch_{batch_size}_passages_per_s"] = round(len(texts) / (time.perf_counter() - started))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
