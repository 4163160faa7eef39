"""A configured attachment scanner that does not load stops ``opendesk serve`` in one line."""

from __future__ import annotations

import pytest

from api.cli import main


def test_serve_refuses_a_scanner_that_does_not_load(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENDESK_ATTACHMENT_SCANNER", "no_such_scanner_module:Scanner")

    assert main(["serve", "--port", "18099"]) == 1
    assert "OPENDESK_ATTACHMENT_SCANNER: cannot load" in capsys.readouterr().err
