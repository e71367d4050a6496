"""The local model recipes: hash-pinned part wheels, numeric part order, and the unknown-model error (no download)."""

import re
from pathlib import Path

import pytest

from paper_rag.settings import Settings
from service.local_model import LOCAL_MODELS, ModelSetupError, ordered_parts, prepare_local_model, requirement_lines

PINNED = re.compile(r"[a-z0-9-]+==[0-9.]+ --hash=sha256:[0-9a-f]{64}")


@pytest.mark.parametrize("name", sorted(LOCAL_MODELS))
def test_every_part_wheel_is_pinned_by_version_and_hash(name: str) -> None:
    lines = requirement_lines(LOCAL_MODELS[name].requirements)
    assert lines
    assert [line for line in lines if not PINNED.fullmatch(line)] == []


def test_parts_join_in_numeric_order() -> None:
    shuffled = [Path(f"model_part{n}/data/part{n:02d}.bin") for n in (10, 2, 1, 9, 11, 3, 4, 5, 6, 7, 8)]
    assert [int(path.stem[4:]) for path in ordered_parts(shuffled, 11)] == list(range(1, 12))
    with pytest.raises(ModelSetupError, match="expected model parts 1 to 12"):
        ordered_parts(shuffled, 12)


def test_unknown_model_without_a_folder_names_the_known_ones(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, llm_model="no-such-model", llm_model_path=None)
    with pytest.raises(ModelSetupError) as error:
        prepare_local_model(settings)
    assert "no-such-model" in str(error.value)
    assert all(name in str(error.value) for name in LOCAL_MODELS)
