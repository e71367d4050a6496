"""`paper-rag serve` in its own process for a benchmark, on loopback, stopped when the benchmark ends."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def served(
    data_dir: Path, port: int, *, log: Path, ready: str = "/healthz", wait_s: int = 120
) -> Iterator[subprocess.Popen]:
    """The server process once `ready` answers 200 (the server's output goes to `log`)."""
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from cli.main import main; main()",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            cwd=REPO,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(wait_s):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(1)
            else:
                raise SystemExit(f"service not ready ({ready}) after {wait_s} s: see {log}")
            yield server
        finally:
            server.terminate()
            server.wait(timeout=60)
