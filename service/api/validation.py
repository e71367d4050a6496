"""Checks on a question that the schema cannot express: not blank, not too long."""

from __future__ import annotations

from fastapi import HTTPException

from paper_rag.settings import Settings


def checked_question(question: str, settings: Settings) -> str:
    question = question.strip()
    if not question:
        raise HTTPException(422, "question is empty")
    if len(question) > settings.max_question_chars:
        raise HTTPException(422, f"question is {len(question)} characters; the limit is {settings.max_question_chars}")
    return question
