"""Shared core of paper-rag: settings, chunk schema, embedder, BM25 encoder and the Qdrant index adapters.

ingest/, service/ and eval/ depend on this package and never on each other's internals.
"""
