"""Key terms of a question or claim, and how rare each is in the corpus: what evidence selection, the
coverage gate and the claim checks compare."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

# Question and function words: they say what is asked, not what it is about.
STOPWORDS = frozenset(
    """a an the and or but nor of to in on at by for with from into onto over under than then as is are was were be
    been being am do does did doing done have has had having can could will would shall should may might must it its
    this that these those there here which who whom whose what when where why how whether if so such not no yes
    very more most less least much many some any each every all both either neither other another same own only also
    just about above below between through during before after again further once per via up down out off i we you
    he she they them their our your his her my me us paper papers according say says said state states stated
    report reports reported use uses used using give gives given show shows shown find found claim claims claimed
    often commonly common actually really true false exactly describe described call called work works
    approximately roughly like one""".split()
)

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-.+]*[A-Za-z0-9+]|[A-Za-z0-9]")


def stem(word: str) -> str:
    """A light suffix strip, enough to match 'gradients' to 'gradient' and 'routed' to 'route'."""
    word = word.lower()
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if len(word) - len(suffix) >= 4 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def tokens(text: str) -> list[str]:
    return [t.strip(".-") for t in _TOKEN.findall(text) if t.strip(".-")]


def content_terms(text: str) -> list[str]:
    """Stemmed words that carry meaning (no stopwords, no one-letter tokens), in order, repeats kept; a
    hyphenated word counts as its parts, so "chain-of-thought" matches "chain of thought"."""
    words = [part for t in tokens(text) for part in t.split("-")]
    return [stem(w) for w in words if w and w.lower() not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def named_terms(text: str) -> list[str]:
    """Terms that name something: acronyms and mixed-case names (ReAct, QLoRA), letter-digit mixes (H800, 8x7B,
    GPT-4), capitalised words past the first. These are what a question cannot be answered without."""
    named = []
    for position, token in enumerate(tokens(text)):
        if token.lower() in STOPWORDS or len(token) < 2:
            continue
        has_digit = any(ch.isdigit() for ch in token)
        mixed = has_digit and any(ch.isalpha() for ch in token)
        inner_upper = any(ch.isupper() for ch in token[1:])
        capitalised = token[0].isupper() and position > 0
        if mixed or inner_upper or capitalised:
            named.append(token)
    return named


class TermStats:
    """Document frequencies over the indexed chunks; idf() weighs a term by how rare it is."""

    def __init__(self, documents: Iterable[str]) -> None:
        self.df: Counter[str] = Counter()
        self.n = 0
        for text in documents:
            self.n += 1
            self.df.update(set(content_terms(text)))

    def idf(self, term: str) -> float:
        return math.log(1 + (self.n + 1) / (self.df.get(term, 0) + 0.5))
