"""The one Settings object: read from the environment once, validated, passed in.

No other module reads ``os.environ``. A bad value raises :class:`SettingsError` whose
message is one line naming the variable, so the CLI can print it instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    # Migrations (DDL) run as the schema owner; the API connects as a role without DDL
    # rights (``opendesk db roles``). Unset: migrations use database_url.
    migration_database_url: str | None = None
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

    # From a request's first byte to its last; slower clients get 408 (slow-loris).
    request_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Bodies over large_body_bytes are processed large_body_concurrency at a time per
    # worker; large_body_queue more wait up to large_body_wait_seconds, then 503 SERVER_BUSY
    # (api/edge/large_body_lane.py): a flood of big bodies cannot take the core.
    large_body_bytes: int = Field(default=65_536, ge=1024, le=100 * 1024 * 1024)
    large_body_concurrency: int = Field(default=1, ge=1, le=256)
    large_body_queue: int = Field(default=32, ge=0, le=10_000)
    large_body_wait_seconds: float = Field(default=5.0, gt=0, le=60)
    # A slot rests after each large request so large ones hold it at most this share of
    # the time (1 = no rest); a rest lasts at most large_body_max_rest_seconds. 0.1: with
    # 0.25 an equal flood of hostile 1 MB documents still took ~30 % of a worker from
    # normal requests (bench hostile_flood, 2026-12-03: `me` kept 0.67x; with 0.1, 0.82x).
    large_body_duty_cycle: float = Field(default=0.1, gt=0, le=1)
    large_body_max_rest_seconds: float = Field(default=0.25, ge=0, le=10)
    max_page_size: int = Field(default=100, ge=1, le=1000)
    # Execution time per request (resolvers cancelled past it): queries / mutations.
    # Operations per batched request (a JSON list); 1 = batching off. Queries only.
    graphql_max_batch: int = Field(default=1, ge=1, le=50)
    graphql_query_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    graphql_mutation_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # Guard limits measured and logged but not enforced (rollout), comma-separated:
    # document_chars, tokens, aliases, directives, depth, mutations, cost, time, batch.
    graphql_shadow_limits: Annotated[frozenset[str], NoDecode] = frozenset()
    # Per kind of principal: "admin:query=60,partner:query=5,partner:mutation=10" (who:
    # anonymous, partner or a role; kind: query or mutation) replaces the two above for them.
    graphql_timeouts_by_principal: Annotated[tuple[tuple[str, str, float], ...], NoDecode] = ()
    # Persisted (trusted) operations, rolled out in steps (api/persisted.py): off, log
    # (unknown operations logged), allowlist (only listed ones run), require (ids only).
    # Partner keys are held to at least "allowlist" whatever this says.
    persisted_operations: Literal["off", "log", "allowlist", "require"] = "off"
    # OPENDESK_REQUIRE_PERSISTED=1: ids only, for everyone (the same as "require").
    require_persisted: bool = False
    # How stale a process's copy of the allowlist may get (changes elsewhere show within it).
    persisted_refresh_seconds: float = Field(default=10.0, gt=0, le=3600)
    database_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    # PostgreSQL connection pool per process; 0 opens a connection per query (tests,
    # where test clients run the app on a loop of their own and a pool cannot be shared).
    database_pool_size: int = Field(default=10, ge=0, le=200)
    # `opendesk keys rotate`: rows moved per batch, and a pause between batches that
    # spares a busy database (the API keeps serving during a rotation).
    key_rotation_batch_size: int = Field(default=500, ge=1, le=10_000)
    key_rotation_pause_seconds: float = Field(default=0.0, ge=0, le=60)

    # argon2id (RFC 9106 second recommended option by default; see accounts/passwords.py).
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=1024, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(default=4, ge=1, le=16)
    # Concurrent hashes per process (each holds argon2_memory_kib): bounds memory.
    argon2_max_concurrency: int | None = Field(default=None, ge=1, le=64)
    # Callers waiting for one of those slots; one more gets RATE_LIMITED (retryAfter 1)
    # at once instead of an unbounded wait (accounts/passwords.py).
    argon2_max_queue: int = Field(default=64, ge=1, le=10_000)

    # Sessions (OWASP ASVS 7.3: idle and absolute timeouts).
    session_idle_seconds: int = Field(default=30 * 60, ge=60, le=24 * 3600)
    session_lifetime_seconds: int = Field(default=12 * 3600, ge=300, le=30 * 24 * 3600)
    session_samesite: Literal["lax", "strict"] = "lax"
    registration_enabled: bool = False
    # Login lockout (accounts/lockout.py), Keycloak-style: failures within the window lock
    # the (account, address) pair first, the whole account and the address only at higher
    # thresholds (a stranger cannot lock a victim out from one address); the wait starts
    # at lockout_first_wait_seconds and doubles up to lockout_max_wait_seconds. An office
    # behind one NAT address may need a higher lockout_ip_threshold.
    lockout_pair_threshold: int = Field(default=5, ge=1, le=1000)
    lockout_account_threshold: int = Field(default=50, ge=1, le=100_000)
    lockout_ip_threshold: int = Field(default=100, ge=1, le=1_000_000)
    lockout_window_seconds: int = Field(default=15 * 60, ge=60, le=24 * 3600)
    lockout_first_wait_seconds: int = Field(default=30, ge=1, le=3600)
    lockout_max_wait_seconds: int = Field(default=3600, ge=1, le=7 * 24 * 3600)
    # Privacy requests: an erasure waits this long (cancellable) before it runs; the
    # runner looks for due export/erasure jobs this often (0: only `opendesk privacy run`).
    erasure_grace_days: int = Field(default=14, ge=0, le=90)
    privacy_runner_interval_seconds: float = Field(default=5.0, ge=0, le=3600)
    # Attachments (desk/attachments/): per file, per ticket; stored under var_dir.
    # OPENDESK_ATTACHMENT_SCANNER names a scan hook as "module:attribute" (none bundled).
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1, le=100 * 1024 * 1024)
    # At most 20: the cost guard counts 20 attachments per ticket (schema.types.tickets).
    attachment_max_per_ticket: int = Field(default=20, ge=1, le=20)
    attachment_scanner: str = Field(default="", pattern=r"^([A-Za-z_][\w.]*:[A-Za-z_]\w*)?$")
    # Where password-reset links point (the frontend's reset page; the token follows).
    password_reset_link_base: str = "http://127.0.0.1:8000/reset-password#token="  # noqa: S105

    # Rate limits ("N/second|minute|hour|day", the `limits` library's notation); the
    # README "Rate limits" section gives each default's reason.
    rate_limits_enabled: bool = True
    rate_limit_ip: str = "300/minute"
    rate_limit_user: str = "600/minute"
    rate_limit_api_key: str = "1200/minute"
    rate_limit_cost: str = "10000/hour"
    rate_limit_login: str = "10/minute"
    rate_limit_password_reset: str = "5/hour"  # noqa: S105 - a rate, not a secret
    rate_limit_totp: str = "5/minute"
    rate_limit_registration: str = "10/hour"
    rate_limit_reveal: str = "30/hour"
    rate_limit_data_request: str = "10/day"
    # Classes refused (429) while Redis is unreachable; all others fall back to an
    # in-process limiter and log loudly.
    rate_limit_fail_closed: tuple[str, ...] = (
        "login",
        "password_reset",
        "totp",
        "registration",
        "reveal",
    )
    rate_limit_allowlist: tuple[str, ...] = ()
    rate_limit_ipv6_prefix: int = Field(default=64, ge=32, le=128)
    rate_limit_storage_timeout_seconds: float = Field(default=0.5, gt=0, le=10)
    rate_limit_storage_retry_seconds: float = Field(default=1.0, gt=0, le=60)
    ip_blocks_refresh_seconds: float = Field(default=0.5, gt=0, le=10)

    @field_validator(
        "rate_limit_ip",
        "rate_limit_user",
        "rate_limit_api_key",
        "rate_limit_cost",
        "rate_limit_login",
        "rate_limit_password_reset",
        "rate_limit_totp",
        "rate_limit_registration",
        "rate_limit_reveal",
        "rate_limit_data_request",
    )
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        import limits

        try:
            limits.parse(value)
        except ValueError:
            raise ValueError("must read like 300/minute") from None
        return value

    @field_validator("rate_limit_allowlist")
    @classmethod
    def _allowlist_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for network in value:
            if ipaddress.ip_network(network.strip()).prefixlen == 0:
                raise ValueError(f"refusing to exempt every address ({network})")
        return value

    @field_validator("rate_limit_fail_closed")
    @classmethod
    def _known_limit_classes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = {"ip", "user", "api_key", "cost", "login", "password_reset", "totp"}
        known |= {"registration", "reveal", "data_request"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown limit class {unknown[0]!r}")
        return value

    @field_validator("graphql_timeouts_by_principal", mode="before")
    @classmethod
    def _timeouts_by_principal(cls, value: object) -> object:
        from schema.guards.time_limit import OPERATION_KINDS, PRINCIPAL_CLASSES

        if not isinstance(value, str):
            return value
        parsed: dict[tuple[str, str], float] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            target, _, number = item.partition("=")
            who, _, kind = target.strip().partition(":")
            if who not in PRINCIPAL_CLASSES or kind not in OPERATION_KINDS:
                raise ValueError(
                    f"{item!r}: use who:kind=seconds, who one of "
                    f"{', '.join(sorted(PRINCIPAL_CLASSES))}, kind query or mutation"
                )
            try:
                seconds = float(number)
            except ValueError:
                raise ValueError(f"{item!r}: seconds must be a number") from None
            if not 0 < seconds <= 300:
                raise ValueError(f"{item!r}: seconds must be in (0, 300]")
            if (who, kind) in parsed:
                raise ValueError(f"{who}:{kind} is given twice")
            parsed[(who, kind)] = seconds
        return tuple((who, kind, seconds) for (who, kind), seconds in sorted(parsed.items()))

    @field_validator("graphql_shadow_limits", mode="before")
    @classmethod
    def _known_shadow_limits(cls, value: object) -> object:
        from schema.guards.config import SHADOW_LIMITS

        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple | set | frozenset):
            return value  # pydantic reports the type
        shadowed = frozenset(str(name).strip() for name in names) - {""}
        unknown = sorted(shadowed - SHADOW_LIMITS.keys())
        if unknown:
            raise ValueError(f"unknown limit {unknown[0]!r} (known: {', '.join(SHADOW_LIMITS)})")
        return shadowed

    @field_validator("cors_allowed_origins")
    @classmethod
    def _exact_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Credentials go to every listed origin, so "*" or a pattern is never acceptable.
        import re

        for origin in value:
            if not re.fullmatch(
                r"https?://[A-Za-z0-9.-]+(?::\d{1,5})?|https?://\[[0-9a-fA-F:]+\](?::\d{1,5})?",
                origin,
            ):
                raise ValueError(f"{origin!r} is not an exact origin like https://app.example")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _no_wildcard_host(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "*" in value:
            raise ValueError('"*" would accept any Host header; list the host names')
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:///, postgresql:// or postgres://")
        return value

    @field_validator("migration_database_url")
    @classmethod
    def _known_migration_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// or postgres:// (SQLite has no roles)")
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
    def _migrations_reach_the_same_kind_of_database(self) -> Settings:
        if self.migration_database_url and self.uses_sqlite:
            raise ValueError(
                f"{ENV_PREFIX}MIGRATION_DATABASE_URL: set only with a PostgreSQL DATABASE_URL"
            )
        return self

    @model_validator(mode="after")
    def _lockout_locks_the_pair_first(self) -> Settings:
        if self.lockout_first_wait_seconds > self.lockout_max_wait_seconds:
            raise ValueError(
                f"{ENV_PREFIX}LOCKOUT_MAX_WAIT_SECONDS: shorter than LOCKOUT_FIRST_WAIT_SECONDS"
            )
        if self.lockout_pair_threshold > min(
            self.lockout_account_threshold, self.lockout_ip_threshold
        ):
            raise ValueError(
                f"{ENV_PREFIX}LOCKOUT_PAIR_THRESHOLD: must not exceed the account and IP "
                "thresholds (the pair is locked first)"
            )
        return self

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
    def exports_dir(self) -> Path:
        """Export archives (0600, deleted when they expire); shared by every worker."""
        return self.var_dir / "exports"

    @property
    def attachments_dir(self) -> Path:
        """Attachment files (0700 directory, 0600 files, random names); never served as
        files: only through the authorised download route. Shared by every worker."""
        return self.var_dir / "attachments"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def schema_owner_url(self) -> str:
        """Where migrations (and ``opendesk db roles --apply``) connect."""
        return self.migration_database_url or self.database_url


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
