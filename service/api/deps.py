"""What the routes need, built once at start-up and handed out as typed dependencies."""

from __future__ import annotations

import uuid
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
    """Server-side conversation memory for clients that send only a conversation id (bounded, in memory)."""

    limit: int = 1000
    turns: dict[str, list[Message]] = field(default_factory=dict)

    def history(self, conversation_id: str | None) -> tuple[str, list[Message]]:
        if conversation_id and conversation_id in self.turns:
            return conversation_id, self.turns[conversation_id]
        new_id = conversation_id or uuid.uuid4().hex
        if len(self.turns) >= self.limit:
            self.turns.pop(next(iter(self.turns)))
        self.turns[new_id] = []
        return new_id, self.turns[new_id]


@dataclass
class AppState:
    settings: Settings
    catalog: IngestState
    index: PaperIndex | None
    index_error: str
    answers: AnswerService | None
    conversations: Conversations = field(default_factory=Conversations)


def get_state(request: Request) -> AppState:
    return request.app.state.paper_rag  # type: ignore[no-any-return]


def get_answers(state: Annotated[AppState, Depends(get_state)]) -> AnswerService:
    if state.answers is None:
        raise HTTPException(503, f"the index is unavailable: {state.index_error}")
    return state.answers


StateDep = Annotated[AppState, Depends(get_state)]
AnswersDep = Annotated[AnswerService, Depends(get_answers)]
