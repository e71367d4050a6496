"""GET /v1/papers/{paper_id}/pages/{page}.png?quote=: the cited page, the quote highlighted."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from paper_rag.catalog import PaperRecord
from paper_rag.settings import Settings
from service.api.deps import StateDep
from service.api.errors import V1_ERRORS, declared
from service.api.validation import Text
from service.page_images import render_page

router = APIRouter(prefix="/v1", tags=["papers"])


def pdf_of(record: PaperRecord, settings: Settings) -> Path:
    """The ingested file, in PDF_DIR or CORPUS_MIRROR; only a plain file name is looked up, inside them."""
    name = Path(record.file).name
    folders = [settings.resolved_pdf_dir, *([settings.corpus_mirror] if settings.corpus_mirror else [])]
    for folder in folders:
        path = (folder / name).resolve()
        if name == record.file and path.parent == folder.resolve() and path.is_file():
            return path
    raise HTTPException(404, f"the PDF of {record.paper_id} ({name}) is in neither PDF_DIR nor CORPUS_MIRROR")


@router.get(
    "/papers/{paper_id}/pages/{page}.png",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {}},
            "description": "The page at 144 dpi. X-Quote-Found: full, partial (some pieces of the quote), none "
            "(the quote is not on this page: nothing highlighted) or no quote. X-Quote-Anchor: x,y of the highlight's "
            "start as fractions of the page, when found.",
        },
        **declared(*V1_ERRORS, 404),
    },
)
async def page_image(
    state: StateDep,
    paper_id: str,
    page: int,
    quote: Annotated[Text, Query(max_length=2000, description="Text to highlight, e.g. a citation's quote.")] = "",
) -> Response:
    state.catalog.reload()
    record = state.catalog.papers.get(paper_id)
    if record is None:
        raise HTTPException(404, f"paper {paper_id[:40]!r} is not in the index (GET /v1/papers lists them)")
    if not 1 <= page <= record.pages:
        raise HTTPException(404, f"{paper_id} has pages 1 to {record.pages}; there is no page {page}")
    pdf = pdf_of(record, state.settings)
    image = await asyncio.to_thread(render_page, pdf, record.sha256, page, quote)
    headers = {"X-Quote-Found": image.found, "Cache-Control": "private, max-age=3600"}
    if image.anchor:
        headers["X-Quote-Anchor"] = f"{image.anchor[0]},{image.anchor[1]}"
    return Response(image.png, media_type="image/png", headers=headers)
