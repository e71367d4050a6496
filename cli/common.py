"""What every `paper-rag` command shares: the consoles, the --data-dir option, settings, opening the index."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from paper_rag.index import IndexUnavailableError, PaperIndex, open_index
from paper_rag.settings import Settings

out = Console()
err = Console(stderr=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (default: DATA_DIR or ./data).")]
EXIT_PARTIAL, EXIT_USAGE = 2, 1


def settings_for(data_dir: Path | None, **overrides: object) -> Settings:
    """Settings from the environment, with the options given on the command line over them."""
    values = {k: v for k, v in {"data_dir": data_dir, **overrides}.items() if v is not None}
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        for problem in exc.errors():
            name = ".".join(str(part) for part in problem["loc"]).upper()
            err.print(f"[red]error:[/] setting {name}: {problem['msg']}")
        raise typer.Exit(EXIT_USAGE) from None


def open_index_or_exit(settings: Settings) -> PaperIndex:
    try:
        return open_index(settings)
    except IndexUnavailableError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc


def require_eval_extra() -> None:
    """The evaluation's packages are an extra (the service's image leaves them out): say how to get them."""
    missing = [name for name in ("ragas", "rank_bm25") if importlib.util.find_spec(name) is None]
    if missing:
        err.print(
            f"[red]error:[/] {', '.join(missing)} not installed: the evaluation needs the eval extra "
            + escape("(`pip install -e '.[eval]'`; `make setup` installs it)")
        )
        raise typer.Exit(EXIT_USAGE)
