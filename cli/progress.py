"""Progress bars: for ingest one over files and one over the current paper's embedding batches; for the other
long jobs (question writing, training) one bar with the time left."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ingest.pipeline import FileOutcome, IngestProgress


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


class RichIngestProgress(IngestProgress):
    def __init__(self, console: Console) -> None:
        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._files = self._bars.add_task("files", total=None)
        self._embedding = self._bars.add_task("embedding", total=None, visible=False)

    def __enter__(self) -> RichIngestProgress:
        self._bars.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._bars.stop()

    def file_started(self, path: Path, index: int, total: int) -> None:
        self._bars.update(self._files, total=total, completed=index - 1, description=f"files ({path.name})")

    def embedding_started(self, paper_id: str, chunks: int) -> None:
        self._bars.reset(self._embedding, total=chunks, visible=True, description=f"embedding {paper_id}")

    def embedded(self, count: int) -> None:
        self._bars.advance(self._embedding, count)

    def file_done(self, outcome: FileOutcome) -> None:
        self._bars.advance(self._files)
        if outcome.status == "failed":
            self._bars.console.print(f"[red]failed[/] {outcome.file.name}: {outcome.error}")
