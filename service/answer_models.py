"""The typed contract of an answer: citations, flags, abstention and the gate scores behind it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

FlagType = Literal[
    "invalid_citation",  # the model cited a passage number that does not exist; removed from the answer
    "citation_inferred",  # the sentence had no citation; the passage holding most of its words was attached
    "uncited_sentence",  # the sentence had no citation and no passage holds it
    "unsupported_number",  # a number in the sentence appears in none of its cited passages
    "unsupported_claim",  # the sentence as a whole is not supported by its cited evidence (reason says why)
]

AbstainCode = Literal[
    "off_topic",  # nothing in the corpus is about the question (dense similarity below the threshold)
    "not_ingested",  # the question is about a paper of the manifest that is not in the index
    "low_coverage",  # the retrieved evidence does not cover the question's key terms
    "model_declined",  # the model said the evidence does not answer the question
    "unsupported_answer",  # the answer's claims are not supported by the evidence it cites
]


class Citation(BaseModel):
    n: int = Field(..., description="The passage number used in the answer's [n] markers.")
    paper_id: str
    title: str
    section: str
    page: int
    page_end: int
    quote: str = Field(..., description="A sentence of the cited passage, verbatim, that supports the claim.")


class Flag(BaseModel):
    type: FlagType
    message: str = Field(..., description="What a reader should know, in plain words.")
    sentence: str | None = Field(None, description="The answer sentence the flag is about.")
    citation: int | None = Field(None, description="The passage number the flag is about.")
    number: str | None = Field(None, description="The number that was not found (unsupported_number).")


class Abstention(BaseModel):
    code: AbstainCode
    reason: str = Field(..., description="Why the service declined, for the reader.")
