"""GGUF → HF safetensors (run by the vLLM venv's Python, which has transformers, gguf and accelerate).

Usage: python convert_gguf.py MODEL.gguf OUT_DIR. The dequantized weights are saved in bfloat16 without the
GGUF quantization config, which vLLM's CPU build cannot load."""

import sys
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer

source, target = Path(sys.argv[1]), Path(sys.argv[2])
tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype="bfloat16")
model.hf_quantizer = None
if hasattr(model.config, "quantization_config"):
    del model.config.quantization_config
partial = target.with_name(target.name + ".partial")
model.save_pretrained(partial)
tokenizer.save_pretrained(partial)
partial.rename(target)
