"""BM25 sparse vectors, one encoder for both index adapters (qdrant-edge's offline Bm25 model).

Documents get term-frequency weights with BM25's (k, b, avg_len) saturation; queries get weight 1 per
term; Qdrant's IDF modifier on the sparse vector supplies the IDF at query time. Together they score
BM25, computed inside Qdrant.
"""

from __future__ import annotations

import re

import qdrant_edge as qe

# Chunks run ~160 words plus a title prefix; after stop-word removal that is ~110 tokens.
AVG_DOC_TOKENS = 110.0

_TOKEN = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")
# The reference scorer's stop list: short English function words (Qdrant's own list is similar).
_STOPWORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was were which "
    "with we our can not but also these those than then into their there they been such this will".split()
)


class Bm25Encoder:
    def __init__(self) -> None:
        self._model = qe.Bm25(qe.Bm25Config(k=1.2, b=0.75, avg_len=AVG_DOC_TOKENS, language="english"))

    def document(self, text: str) -> qe.SparseVector:
        return self._model.embed_document(text)

    def query(self, text: str) -> qe.SparseVector:
        return self._model.embed_query(text)


def reference_tokens(text: str) -> list[str]:
    """Tokenizer for the rank-bm25 reference scorer: lowercase words, stop words dropped, no stemming."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]
