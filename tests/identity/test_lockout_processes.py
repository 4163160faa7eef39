"""Lockout holds across server processes that share Redis (the production shape)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.services.identity import Identity
from accounts.tables import AuthenticatorState
from api.settings import Settings
from tests.identity.conftest import user_with_password

WORKER = Path(__file__).with_name("guess_worker.py")


@pytest.mark.skipif(
    not os.environ.get("OPENDESK_TEST_REDIS_URL"),
    reason="needs the shared Redis: the embedded default is one process by design "
    "(test_parallel_guesses_never_verify_more_than_the_threshold covers it)",
)
async def test_100_parallel_guesses_from_two_processes_stay_within_the_threshold(
    identity: Identity, settings: Settings
) -> None:
    user = await user_with_password(identity)
    prefix = f"{settings.redis_prefix}-lock-{secrets.token_hex(4)}"
    repo = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "PYTHONPATH": str(repo)}
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), user.email, "203.0.113.50", "50", prefix],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=repo,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]

    assert all(worker.returncode == 0 for worker in workers), outputs
    assert [out.strip() for out, _err in outputs] == ["0", "0"]
    state = await AuthenticatorState.select().where(AuthenticatorState.user == user.id).first()
    threshold = identity.config.lockout.pair_threshold
    assert threshold <= state["consecutive_failures"] <= threshold + len(workers)
