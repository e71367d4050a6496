"""Checks on what a client sends that the schema alone cannot express: text that is valid UTF-8 with no control
characters, a question neither blank nor too long, paper ids that exist, a conversation of bounded size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import HTTPException
from pydantic import AfterValidator

from paper_rag.catalog import IngestState
from paper_rag.settings import Settings
from paper_rag.text import CONTROL_CHARS, surrogate_at
from service.generator import Message


def clean_text(value: str) -> str:
    position = surrogate_at(value)
    if position is not None:
        # Never echo the text back: a lone surrogate cannot be written as UTF-8 (nor logged safely).
        raise ValueError(f"holds a lone surrogate at character {position}; send valid UTF-8 text")
    return CONTROL_CHARS.sub(" ", value)  # a NUL-only question is blank, not a question


Text = Annotated[str, AfterValidator(clean_text)]


def checked_question(question: str, settings: Settings) -> str:
    question = clean_text(question).strip()
    if not question:
        raise HTTPException(422, "question is empty")
    if len(question) > settings.max_question_chars:
        raise HTTPException(422, f"question is {len(question)} characters; the limit is {settings.max_question_chars}")
    return question


def checked_papers(papers: Sequence[str] | None, catalog: IngestState) -> list[str] | None:
    """The paper filter, every id known: an unknown id is named instead of silently matching nothing."""
    if not papers:
        return None
    catalog.reload()
    unknown = sorted({p for p in papers if p not in catalog.papers})
    if unknown:
        shown = ", ".join(repr(p[:40]) for p in unknown[:5])
        raise HTTPException(422, f"papers: not in the index: {shown} (GET /v1/papers lists the papers)")
    return list(dict.fromkeys(papers))


def checked_history(messages: Sequence[Message], settings: Settings) -> list[Message]:
    """The conversation the client carries: each message bounded; only the newest HISTORY_MESSAGES are read."""
    for number, message in enumerate(messages):
        if len(message["content"]) > settings.max_message_chars:
            size = len(message["content"])
            raise HTTPException(
                422, f"messages.{number}.content is {size} characters; the limit is {settings.max_message_chars}"
            )
    return list(messages[-settings.history_messages :]) if settings.history_messages else []
