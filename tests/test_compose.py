"""docker-compose.yml parses and agrees with the settings (no Docker engine runs here to start it)."""

from __future__ import annotations

import yaml

from paper_rag.settings import Settings
from tests.conftest import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SETTING_NAMES = {name.upper() for name in Settings.model_fields}
PASSED_THROUGH = {"HF_HUB_OFFLINE"}  # read by the libraries, not by our settings


def test_services_are_all_there():
    assert set(COMPOSE["services"]) == {"qdrant", "vllm", "api", "ingest"}


def test_images_are_pinned_and_have_healthchecks():
    for name in ("qdrant", "vllm"):
        service = COMPOSE["services"][name]
        assert ":" in service["image"] and not service["image"].endswith(":latest")
        assert service["healthcheck"]["test"]


def test_vllm_has_gpu_served_name_context_length_and_ipc_host():
    vllm = COMPOSE["services"]["vllm"]
    flags = {arg.split("=")[0] for arg in vllm["command"]}
    assert {"--served-model-name", "--max-model-len", "--model"} <= flags
    assert vllm["ipc"] == "host"
    assert vllm["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]


def test_app_environment_names_are_settings():
    served_name = next(a.split("=")[1] for a in COMPOSE["services"]["vllm"]["command"] if "served-model-name" in a)
    for name in ("api", "ingest"):
        environment = COMPOSE["services"][name]["environment"]
        unknown = set(environment) - SETTING_NAMES - PASSED_THROUGH
        assert not unknown, f"{name}: {unknown} are not settings"
        assert environment["LLM_MODEL"] == served_name
        assert environment["QDRANT_URL"].startswith("http://qdrant:")
    assert COMPOSE["services"]["ingest"]["command"][-1].endswith("paper-rag ingest")


def test_the_api_needs_a_key_and_ports_bind_to_loopback():
    api = COMPOSE["services"]["api"]
    assert api["environment"]["API_KEY"].startswith("${API_KEY:?")  # no key, no start: never silently open
    assert api["ports"] == ["${API_BIND:-127.0.0.1}:8000:8000"]
    assert COMPOSE["services"]["qdrant"]["ports"] == ["127.0.0.1:6333:6333"]
