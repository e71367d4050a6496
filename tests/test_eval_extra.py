"""The evaluation's packages (ragas, langchain-community, rank-bm25) are the `eval` extra, left out of the
service's Docker image: without them the service and the CLI still run, and `paper-rag eval` says what to
install. Run in a fresh process where importing those packages fails, as in that image."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

WITHOUT_EVAL_EXTRA = "import sys\nfor name in ('ragas', 'rank_bm25', 'langchain_community'): sys.modules[name] = None\n"


def run_without_extra(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EVAL_EXTRA + code], capture_output=True, text=True, timeout=300, cwd=REPO
    )


def test_the_service_builds_and_eval_names_the_extra_without_the_eval_packages(tmp_path):
    app = run_without_extra(
        "from fastapi.testclient import TestClient\n"
        "from paper_rag.settings import Settings\n"
        "from service.api.app import create_app\n"
        f"with TestClient(create_app(Settings(data_dir={str(tmp_path)!r}))) as client:\n"
        "    print(client.get('/healthz').json(), client.get('/openapi.json').status_code)\n"
    )
    assert app.returncode == 0, app.stderr[-3000:]
    assert "{'status': 'ok'} 200" in app.stdout
    evaluation = run_without_extra(
        f"sys.argv = ['paper-rag', 'eval', '--data-dir', {str(tmp_path)!r}]\nfrom cli.main import main; main()"
    )
    assert evaluation.returncode == 1, evaluation.stderr[-2000:]
    said = " ".join(evaluation.stderr.split())
    assert "eval extra" in said and "pip install -e '.[eval]'" in said, said
    assert "Traceback" not in evaluation.stderr
