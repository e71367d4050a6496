"""docker-compose.yml parses and agrees with the settings (no Docker engine runs here to start it)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
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


COMPOSE_TOOL = shutil.which("docker-compose")


@pytest.mark.skipif(
    COMPOSE_TOOL is None and not os.environ.get("CI"),
    reason="docker-compose not installed (apt-get install docker-compose)",
)
def test_the_real_compose_tool_validates_the_file_and_refuses_it_without_a_key():
    assert COMPOSE_TOOL, "CI installs docker-compose (.ci/run): it is missing"
    env = {k: v for k, v in os.environ.items() if k != "API_KEY"}
    check = [COMPOSE_TOOL, "-f", str(REPO / "docker-compose.yml"), "config", "-q"]
    valid = subprocess.run(check, env=env | {"API_KEY": "k"}, capture_output=True, text=True, timeout=60)
    assert valid.returncode == 0, valid.stderr  # no daemon needed: it parses, interpolates and validates
    keyless = subprocess.run(check, env=env, capture_output=True, text=True, timeout=60)
    assert keyless.returncode != 0 and "set API_KEY" in keyless.stderr
