"""The papers the product covers (corpus/papers.tsv) and the names a question may call them by."""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ARXIV_ID = re.compile(r"^\d{4}\.\d{4,5}$")


def is_arxiv_id(paper_id: str) -> bool:
    """A new-style arXiv id (1706.03762), as paper ids of arXiv papers are; other papers have a slug."""
    return bool(ARXIV_ID.match(paper_id))


@dataclass(frozen=True)
class ManifestPaper:
    arxiv_id: str  # "-" for papers not on arXiv
    short_name: str
    title: str
    aliases: tuple[str, ...]

    @property
    def on_arxiv(self) -> bool:
        return self.arxiv_id not in ("", "-")

    def describe(self) -> str:
        where = f" (arXiv {self.arxiv_id})" if self.on_arxiv else ""
        return f"the {self.short_name} paper{where}"


def fold(text: str) -> str:
    """Accents off (Tülu = Tulu), for matching names."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def paper_aliases(short_name: str, title: str) -> tuple[str, ...]:
    """Short names split on '/', without parentheticals (often an organisation, not a name); the title, and
    its part before a colon when that is a name of four words or fewer ("Tree of Thoughts: ...")."""
    names = [re.sub(r"\s*\(.*?\)", "", part).strip() for part in short_name.split("/")]
    title = title.strip('"')
    names.append(title)
    if ":" in title and len((head := title.split(":")[0].strip()).split()) <= 4:
        names.append(head)
    return tuple(dict.fromkeys(fold(n) for n in names if len(n) >= 2))


def load_manifest(path: Path) -> list[ManifestPaper]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        ManifestPaper(row["arxiv_id"], row["short_name"], row["title"], paper_aliases(row["short_name"], row["title"]))
        for row in rows
    ]


def alias_pattern(alias: str) -> re.Pattern[str]:
    """Whole-word match; one-word names match with their case ("Retention" the paper, not "retention")."""
    flags = 0 if len(alias.split()) == 1 else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){re.escape(alias)}(?![\w-]|\.\d)", flags)


@dataclass(frozen=True)
class NamedPaper:
    paper: ManifestPaper
    alias: str
    start: int
    end: int


def papers_named(question: str, papers: list[ManifestPaper]) -> list[NamedPaper]:
    """Manifest papers the question names; a name inside a longer matched name does not count
    ("Mamba" inside "Mamba-2", "Transformer" inside "Switch Transformer")."""
    text = fold(question)
    found = [
        NamedPaper(paper, alias, m.start(), m.end())
        for paper in papers
        for alias in paper.aliases
        for m in alias_pattern(alias).finditer(text)
    ]
    found.sort(key=lambda f: f.start - f.end)  # longest first
    kept: list[NamedPaper] = []
    for match in found:
        if not any(k.start <= match.start and match.end <= k.end for k in kept):
            kept.append(match)
    unique: dict[str, NamedPaper] = {}
    for match in sorted(kept, key=lambda f: f.start):
        unique.setdefault(match.paper.arxiv_id + match.paper.short_name, match)
    return list(unique.values())
