"""Numbers as values, so a claim's "1e-4", "65B" or "100k" matches a passage's "0.0001", "65 billion" or
"100,000"."""

from __future__ import annotations

import re

_SCALE_WORDS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_SCALE_SUFFIX = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_NUMBER = re.compile(
    r"(?<![\w.])(?P<value>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\.\d+)"
    r"(?:\s*(?:[eE]|×\s*10\^?|x\s*10\^)\s*(?P<exp>[-−–]?\d+))?"
    r"(?:(?P<suffix>[kKMBT])(?![a-zA-Z])|\s*(?P<word>thousand|million|billion|trillion)\b)?"
)


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def number_values(text: str) -> list[tuple[str, set[float]]]:
    """Each number in the text with the values it may stand for: "65B" is 65 and 65e9, "1e-4" is 0.0001."""
    found = []
    for match in _NUMBER.finditer(text):
        raw = match.group(0).strip()
        value = float(match.group("value").replace(",", ""))
        values = {_round(value)}
        if match.group("exp"):
            exponent = int(match.group("exp").replace("−", "-").replace("–", "-"))
            values = {_round(value * 10**exponent)}
        scale = _SCALE_SUFFIX.get(match.group("suffix") or "") or _SCALE_WORDS.get(match.group("word") or "")
        if scale:
            values.add(_round(value * scale))
        found.append((raw, values))
    return found


def value_set(text: str) -> set[float]:
    return set().union(*(values for _, values in number_values(text)))


def unsupported_numbers(claim: str, supported: set[float]) -> list[str]:
    """The claim's numbers that stand for no value in `supported`."""
    missing = []
    for raw, values in number_values(claim):
        if not values & supported:
            missing.append(raw)
    return missing
