"""The OpenAPI document is the contract: schemathesis generates requests for every operation, valid and not, and
every reply must be no server error, a status the document declares, and a body matching its schema. Run with
the generator down (a closed port) and up (the real local vLLM), on a real one-paper index."""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from paper_rag.settings import Settings
from service.api.app import create_app

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
BOUNDED = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)


# 503 is the documented reply when the generator is down or the answer queue is full; any other 5xx fails.
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]}}}
)


def contract(app_settings: Settings):
    """The schema of a running app: schemathesis runs its start-up once (index, models) and keeps it."""
    app = create_app(app_settings)
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    finally:
        shutdown_lifespans()  # closes the index, so the next app can open it


@pytest.fixture(scope="module")
def api_generator_down(small_settings):
    yield from contract(small_settings)


@pytest.fixture(scope="module")
def api_generator_up(small_settings, llm_env, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("contract") / "data"
    shutil.copytree(small_settings.data_dir, data_dir)  # its own shard: the embedded engine is one-process
    up = Settings(
        data_dir=data_dir,
        llm_base_url=llm_env["LLM_BASE_URL"],
        llm_model_path=llm_env["LLM_MODEL_PATH"],
        llm_max_tokens=48,
    )
    yield from contract(up)


def assert_conforms(schema, max_examples: int) -> None:
    """Every operation, `max_examples` generated requests each (valid ones and ones that break the schema)."""
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/ask", "/v1/chat", "/v1/search", "/v1/papers", "/readyz"}
    for operation in operations:

        @settings(BOUNDED, max_examples=max_examples)
        @given(case=operation.as_strategy())
        def conforms(case) -> None:
            case.call_and_validate(checks=CHECKS)

        conforms()


def test_every_reply_matches_the_spec_with_the_generator_down(api_generator_down):
    assert_conforms(api_generator_down, max_examples=30)


def test_every_reply_matches_the_spec_with_the_generator_up(api_generator_up):
    assert_conforms(api_generator_up, max_examples=10)
