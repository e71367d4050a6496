"""Text normalisation shared by parsing, tests and evaluation: ligatures, line-end hyphens, whitespace."""

from __future__ import annotations

import re

_LIGATURES = {
    "\x1b": "ff", "\x1c": "fi", "\x1d": "fl", "\x1e": "ffi", "\x1f": "ffl",
    "ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st",
}  # fmt: skip
_LIGATURE_RE = re.compile("|".join(map(re.escape, _LIGATURES)))


def fix_ligatures(text: str) -> str:
    """Ligature glyphs, and the \\x1b–\\x1f control codes bitmap fonts use for them, as plain letters."""
    return _LIGATURE_RE.sub(lambda m: _LIGATURES[m.group(0)], text)


# C0 controls and DEL except tab and newlines (\x1b-\x1f are ligatures in some fonts: fix those first).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def printable(text: str) -> str:
    """Text safe to store, embed and send as JSON: ligatures fixed, control characters as spaces, and any lone
    surrogate (which cannot be written as UTF-8) as U+FFFD."""
    text = CONTROL_CHARS.sub(" ", fix_ligatures(text))
    return text.encode("utf-8", "replace").decode("utf-8") if surrogate_at(text) is not None else text


def surrogate_at(text: str) -> int | None:
    """Where the first lone surrogate is (text that cannot be written as UTF-8), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def normalize_for_match(text: str) -> str:
    """Whitespace, ligatures and line-end hyphens evened out: for comparing text across extractions."""
    text = fix_ligatures(text)
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)
    return re.sub(r"\s+", " ", text).strip().lower()


# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    "e.g i.e al fig figs eq eqs sec secs tab cf vs resp approx no ref refs et etc appx app dr mr ms st".split()
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9(\[“\"])")


def split_sentences(text: str) -> list[str]:
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start()].rstrip("\"')]").split()
        last = before[-1].rstrip(".").lower() if before else ""
        # "et al.", "Fig.", initials ("J."), and decimals are not sentence ends.
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        sentences.append(text[start : match.start()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]
