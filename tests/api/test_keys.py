"""Keys: generated privately for development, required and checked in production."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from api.keys import development_key_path, install_app_keyring
from api.settings import Settings
from privacy.crypto import KeyringError
from tests.api.test_cli import run_cli


@pytest.fixture(autouse=True)
def _restore_the_runs_keyring(settings: Settings) -> Iterator[None]:
    """create_app installs its keys as the process keyring: put the run's back, so later
    tests in this process decrypt what they (and the CLI) sealed with them."""
    yield
    install_app_keyring(settings)


def test_first_start_generates_private_development_keys(settings: Settings, tmp_path: Path) -> None:
    local = settings.model_copy(update={"var_dir": tmp_path / "var"})

    create_app(local)

    key_file = development_key_path(local)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700


def test_second_start_reuses_the_same_keys(settings: Settings, tmp_path: Path) -> None:
    local = settings.model_copy(update={"var_dir": tmp_path / "var"})
    first = create_app(local).state.resources.keyring
    second = create_app(local).state.resources.keyring

    assert first.to_key_file_json() == second.to_key_file_json()


def test_world_readable_key_file_is_refused(settings: Settings, tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    assert run_cli("keys", "init", "--file", str(key_file)).returncode == 0
    key_file.chmod(0o644)

    with pytest.raises(KeyringError):
        create_app(settings.model_copy(update={"keys_file": key_file}))


def test_keys_init_never_overwrites(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    first = run_cli("keys", "init", "--file", str(key_file))
    before = key_file.read_bytes()
    second = run_cli("keys", "init", "--file", str(key_file))

    assert first.returncode == 0
    assert second.returncode == 1
    assert key_file.read_bytes() == before
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_serve_with_a_loose_key_file_exits_with_one_line(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    run_cli("keys", "init", "--file", str(key_file))
    key_file.chmod(0o640)

    result = run_cli("serve", env={"OPENDESK_KEYS_FILE": str(key_file)})

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "0600" in result.stderr
