"""``opendesk observatory`` against a real ``opendesk serve --certfile``: A+, exit 0."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.api.test_cli import run_cli
from tests.edge_http.test_server import CLI, _free_port, _start, _wait_until_up


@pytest.mark.usefixtures("db")
def test_the_served_api_scores_a_plus_on_every_item(tmp_path: Path) -> None:
    env = {**os.environ, "OPENDESK_VAR_DIR": str(tmp_path)}
    subprocess.run([*CLI, "dev-cert"], capture_output=True, env=env, check=True)
    certfile, keyfile = tmp_path / "dev-cert.pem", tmp_path / "dev-key.pem"
    port, closed_port = _free_port(), _free_port()
    server = _start(
        port, "--certfile", str(certfile), "--keyfile", str(keyfile), env=dict(os.environ)
    )
    try:
        _wait_until_up(server, port)
        base = f"https://127.0.0.1:{port}"
        scanned = subprocess.run(
            [
                *CLI,
                "observatory",
                f"{base}/healthz",
                f"{base}/graphql",
                f"{base}/csrf",
                f"{base}/no-such-page",
                "--cafile",
                str(certfile),
                "--http-url",
                f"http://127.0.0.1:{closed_port}/",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    finally:
        server.terminate()
        server.wait(timeout=15)

    assert scanned.returncode == 0, scanned.stdout + scanned.stderr
    assert scanned.stdout.count("grade A+") == 4
    assert "FAIL" not in scanned.stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not-a-url", "not an http(s) URL"),
        ("ftp://127.0.0.1/", "not an http(s) URL"),
        ("http://127.0.0.1:1/", "cannot fetch http://127.0.0.1:1/"),  # nothing listens
    ],
)
def test_a_bad_or_unreachable_url_is_one_line_not_a_traceback(url: str, message: str) -> None:
    result = run_cli("observatory", url)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert message in result.stderr
    assert "Traceback" not in result.stderr
