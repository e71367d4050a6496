"""What the routes need, built once at start-up and handed out as typed dependencies."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from paper_rag.catalog import IngestState
from paper_rag.index import PaperIndex
from paper_rag.settings import Settings
from service.answering import AnswerService
from service.generator import Message


@dataclass
class Conversations:
    """Server-side conversation memory for clients that send only a conversation id: at most `limit`
    conversations (the oldest forgotten first), each keeping its newest `keep` messages."""

    limit: int = 1000
    keep: int = 8
    turns: dict[str, list[Message]] = field(default_factory=dict)

    def history(self, conversation_id: str | None) -> tuple[str, list[Message]]:
        if conversation_id and conversation_id in self.turns:
            return conversation_id, list(self.turns[conversation_id])
        new_id = conversation_id or uuid.uuid4().hex
        if len(self.turns) >= self.limit:
            self.turns.pop(next(iter(self.turns)))
        self.turns[new_id] = []
        return new_id, []

    def remember(self, conversation_id: str, question: str, answer: str) -> None:
        turns = self.turns.setdefault(conversation_id, [])
        turns += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        del turns[: max(0, len(turns) - self.keep)]


class AnswerSlots:
    """Back-pressure: at most `limit` answers in progress; one more is refused at once (503 with Retry-After)
    rather than queued behind the generator without bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_progress = 0

    @property
    def full(self) -> bool:
        return self.in_progress >= self.limit

    def reserve(self) -> Reservation:
        """A slot, held until released; raises AnswerQueueFullError when none is free."""
        if self.full:
            raise AnswerQueueFullError(self.limit)
        self.in_progress += 1
        return Reservation(self)

    @contextmanager
    def hold(self) -> Iterator[None]:
        reservation = self.reserve()
        try:
            yield
        finally:
            reservation.release()


class Reservation:
    def __init__(self, slots: AnswerSlots) -> None:
        self._slots: AnswerSlots | None = slots

    def release(self) -> None:
        """Idempotent: a stream releases it when it ends, or its finalizer when it never started."""
        if self._slots is not None:
            self._slots.in_progress -= 1
            self._slots = None

    def held_by(self, stream: AsyncIterator[str]) -> AsyncIterator[str]:
        """`stream`, holding this slot until it ends, fails or is closed; released too when a response never
        starts it (then the unstarted generator is garbage-collected)."""

        async def holding() -> AsyncIterator[str]:
            try:
                async for item in stream:
                    yield item
            finally:
                self.release()

        wrapped = holding()
        weakref.finalize(wrapped, self.release)
        return wrapped


class AnswerQueueFullError(RuntimeError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} answers are in progress, the most this service takes at once: retry shortly")


@dataclass
class AppState:
    settings: Settings
    catalog: IngestState
    index: PaperIndex | None
    index_error: str
    answers: AnswerService | None
    slots: AnswerSlots
    conversations: Conversations = field(default_factory=Conversations)


def get_state(request: Request) -> AppState:
    return request.app.state.paper_rag  # type: ignore[no-any-return]


def get_answers(state: Annotated[AppState, Depends(get_state)]) -> AnswerService:
    if state.answers is None:
        raise HTTPException(503, f"the index is unavailable: {state.index_error}")
    return state.answers


StateDep = Annotated[AppState, Depends(get_state)]
AnswersDep = Annotated[AnswerService, Depends(get_answers)]
