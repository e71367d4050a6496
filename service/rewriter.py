"""Follow-up questions rewritten to stand alone, so retrieval and the generator see what is really asked."""

from __future__ import annotations

from collections.abc import Sequence

from service.generator import Generator, GeneratorUnavailableError, Message
from service.prompting import rewrite_messages

MAX_REWRITE_CHARS = 400


class QueryRewriter:
    def __init__(self, *, generator: Generator) -> None:
        self._generator = generator

    async def standalone(self, question: str, history: Sequence[Message]) -> str:
        """The follow-up rewritten with the conversation; without a usable rewrite, the last question and the
        follow-up together (cut to a bounded length)."""
        if not history:
            return question
        try:
            rewritten = (await self._generator.complete(rewrite_messages(history, question), max_tokens=64)).strip()
        except GeneratorUnavailableError:
            rewritten = ""
        rewritten = rewritten.splitlines()[0].strip().strip('"') if rewritten else ""
        if 8 <= len(rewritten) <= MAX_REWRITE_CHARS:
            return rewritten
        last_user = next((m["content"] for m in reversed(history) if m["role"] == "user"), "")
        return f"{last_user[:MAX_REWRITE_CHARS]} {question}".strip()
