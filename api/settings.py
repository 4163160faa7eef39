"""The one Settings object: read from the environment once, validated, passed in.

No other module reads ``os.environ``. A bad value raises :class:`SettingsError` whose
message is one line naming the variable, so the CLI can print it instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "OPENDESK_"
DEFAULT_VAR_DIR = Path("var")
DEFAULT_DATABASE_URL = "sqlite:///var/opendesk.sqlite3"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable in one line."""


class Settings(BaseSettings):
    """Every tunable of the service; defaults are the embedded development setup."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Literal["development", "production"] = "development"
    debug: bool = False
    var_dir: Path = DEFAULT_VAR_DIR
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    # Separate Redis key namespace so several deployments (or test runs) can share a server.
    redis_prefix: str = Field(default="opendesk", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)

    # GraphiQL is served only to signed-in admins/auditors; "open" exists for local hacking
    # and is refused in production.
    graphiql: Literal["off", "restricted", "open"] = "restricted"
    # The service sits behind TLS (directly or via a terminating proxy): cookies get
    # Secure/__Host-, HSTS is sent.
    tls: bool = False
    trusted_proxies: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "testserver")
    cors_allowed_origins: tuple[str, ...] = ()
    keys_file: Path | None = None

    max_page_size: int = Field(default=100, ge=1, le=1000)
    database_timeout_seconds: float = Field(default=5.0, gt=0, le=120)

    @field_validator("database_url")
    @classmethod
    def _known_database_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:///, postgresql:// or postgres://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _production_refuses_development_defaults(self) -> Settings:
        if self.env != "production":
            return self
        problems: list[tuple[str, str]] = []
        if self.debug:
            problems.append(("DEBUG", "debug must be off in production"))
        if self.graphiql == "open":
            problems.append(("GRAPHIQL", "open GraphiQL is refused in production"))
        if self.database_url.startswith("sqlite"):
            problems.append(("DATABASE_URL", "production needs PostgreSQL, not SQLite"))
        if self.redis_url is None:
            problems.append(("REDIS_URL", "production needs Redis for shared state"))
        if self.keys_file is None:
            problems.append(("KEYS_FILE", "production refuses development keys"))
        if not self.tls and not self.trusted_proxies:
            problems.append(("TLS", "production needs TLS or a trusted TLS-terminating proxy"))
        if problems:
            name, reason = problems[0]
            raise ValueError(f"{ENV_PREFIX}{name}: {reason}")
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (plus explicit overrides, for tests).

    Raises SettingsError with a one-line message naming the first bad variable.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(_first_problem(error)) from None


def _first_problem(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    location = [str(part) for part in first.get("loc", ()) if part != "__root__"]
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if location:
        return f"{ENV_PREFIX}{location[0].upper()}: {message}"
    return message
