"""Start, stop and check the local vLLM server (CPU build, its own venv); its log is kept in DATA_DIR/logs."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from paper_rag.embedder import cpu_has_fast_bf16
from paper_rag.settings import Settings
from service.local_model import prepare_local_model


class LlmServerError(RuntimeError):
    pass


@dataclass
class LlmStatus:
    pid: int | None
    running: bool
    ready: bool
    log: Path


def _pid_file(settings: Settings) -> Path:
    return settings.data_dir / "vllm.pid"


def log_path(settings: Settings) -> Path:
    return settings.data_dir / "logs" / "vllm.log"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _served(settings: Settings) -> bool:
    try:
        response = httpx.get(
            f"{settings.llm_base_url.rstrip('/')}/models",
            timeout=2.0,
            headers={"Authorization": f"Bearer {settings.llm_api_key}"},
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and any(m["id"] == settings.llm_model for m in response.json()["data"])


def status(settings: Settings) -> LlmStatus:
    pid_file = _pid_file(settings)
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    running = pid is not None and _alive(pid)
    return LlmStatus(pid if running else None, running, _served(settings), log_path(settings))


def local_dtype(settings: Settings) -> str:
    if settings.llm_dtype != "auto":
        return settings.llm_dtype
    return "bfloat16" if cpu_has_fast_bf16() else "float32"


def start(settings: Settings, *, wait_s: float = 600) -> LlmStatus:
    """Start vLLM (unless one already serves the model) and wait until it answers /v1/models."""
    current = status(settings)
    if current.ready:
        return current
    if not current.running:
        model_path = prepare_local_model(settings)
        log = log_path(settings)
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [
            str(settings.vllm_python),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(model_path),
            "--served-model-name",
            settings.llm_model,
            "--host",
            "127.0.0.1",
            "--port",
            str(settings.llm_port),
            "--max-model-len",
            str(settings.llm_max_model_len),
            "--dtype",
            local_dtype(settings),
            "--api-key",
            settings.llm_api_key,
        ]
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2"),
            # vLLM keeps one core for its scheduler by default: half of a 2-core machine. Let the model use all.
            "VLLM_CPU_NUM_OF_RESERVED_CPU": os.environ.get("VLLM_CPU_NUM_OF_RESERVED_CPU", "0"),
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
        }
        with log.open("ab") as handle:
            process = subprocess.Popen(
                command, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        _pid_file(settings).write_text(str(process.pid))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        now = status(settings)
        if now.ready:
            return now
        if not now.running:
            tail = log_path(settings).read_text(errors="replace")[-2000:]
            raise LlmServerError(f"vLLM exited during start-up; the end of {log_path(settings)}:\n{tail}")
        time.sleep(2)
    raise LlmServerError(f"vLLM did not become ready within {wait_s:.0f} s; see {log_path(settings)}")


def stop(settings: Settings) -> bool:
    current = status(settings)
    if current.pid is None:
        return False
    os.killpg(current.pid, signal.SIGTERM)
    for _ in range(50):
        if not _alive(current.pid):
            break
        time.sleep(0.2)
    else:
        os.killpg(current.pid, signal.SIGKILL)
    _pid_file(settings).unlink(missing_ok=True)
    return True
