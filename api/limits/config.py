"""What is limited, how much, and what happens when the shared store is unreachable.

Plain values, independent of :mod:`api.settings` (see :mod:`api.limits.setup` for the
one place that reads the settings), so tests and other callers build them directly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import limits
from limits import RateLimitItem

from api.edge import IPAddress

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class LimitClass(StrEnum):
    """One kind of limit; the value names its settings field and its Redis keys."""

    IP = "ip"
    USER = "user"
    API_KEY = "api_key"
    COST = "cost"
    LOGIN = "login"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a limit name, not a secret
    TOTP = "totp"
    REGISTRATION = "registration"
    REVEAL = "reveal"
    DATA_REQUEST = "data_request"


class FailureMode(StrEnum):
    """What a limit does while its shared store (Redis) is unreachable."""

    # Refuse (429 / RATE_LIMITED): guessing credentials must never become unlimited.
    CLOSED = "closed"
    # Decide with an in-process limiter of the same size, log loudly, count it.
    OPEN = "open"


DEFAULT_FAIL_CLOSED = frozenset(
    {
        LimitClass.LOGIN,
        LimitClass.PASSWORD_RESET,
        LimitClass.TOTP,
        LimitClass.REGISTRATION,
        LimitClass.REVEAL,
    }
)


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """``rate`` in the ``limits`` notation ("300/minute"); raises ValueError if malformed."""

    limit_class: LimitClass
    rate: str
    failure_mode: FailureMode
    item: RateLimitItem = field(init=False, repr=False, compare=False)
    # The two constant parts of item.key_for(class, key), built once.
    _key_parts: tuple[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        item = limits.parse(self.rate)
        object.__setattr__(self, "item", item)
        sample = item.key_for(self.limit_class.value, "\0")
        prefix, _, suffix = sample.partition("\0")
        object.__setattr__(self, "_key_parts", (prefix, suffix))

    def item_key(self, key: str) -> str:
        """``item.key_for(<class>, key)``, the ``limits`` library's key for ``key`` under
        this policy (the same string, without rebuilding its constant parts per call)."""
        prefix, suffix = self._key_parts
        return f"{prefix}{key}{suffix}"

    @property
    def amount(self) -> int:
        return int(self.item.amount)

    @property
    def window_seconds(self) -> int:
        return int(self.item.get_expiry())


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Every limit, the allowlist and the store's failure handling.

    ``allowlist`` networks are never rate limited (and cannot be blocked).
    ``ipv6_prefix``: IPv6 clients are counted per network of this size (a /64 is one
    subscriber; per-address counting would be evaded by walking the /64).
    ``storage_timeout_seconds`` bounds one call to Redis; after a failure, Redis is not
    asked again for ``storage_retry_seconds`` (requests meanwhile take the failure path
    immediately instead of each waiting for a timeout).
    """

    policies: Mapping[LimitClass, LimitPolicy]
    enabled: bool = True
    allowlist: tuple[IPNetwork, ...] = ()
    ipv6_prefix: int = 64
    storage_timeout_seconds: float = 0.5
    storage_retry_seconds: float = 1.0

    def __post_init__(self) -> None:
        missing = set(LimitClass) - set(self.policies)
        if missing:
            raise ValueError(f"no policy for limit classes {sorted(missing)}")
        if not 32 <= self.ipv6_prefix <= 128:
            raise ValueError("ipv6_prefix must be between 32 and 128")

    @classmethod
    def build(
        cls,
        rates: Mapping[LimitClass, str],
        *,
        fail_closed: frozenset[LimitClass] = DEFAULT_FAIL_CLOSED,
        allowlist: tuple[str, ...] = (),
        **options: object,
    ) -> RateLimitConfig:
        """Policies from ``{class: "N/period"}``; raises ValueError for a bad rate or CIDR."""
        policies = {
            limit_class: LimitPolicy(
                limit_class,
                rate,
                FailureMode.CLOSED if limit_class in fail_closed else FailureMode.OPEN,
            )
            for limit_class, rate in rates.items()
        }
        networks = tuple(ipaddress.ip_network(cidr.strip()) for cidr in allowlist)
        return cls(policies=policies, allowlist=networks, **options)  # type: ignore[arg-type]

    def is_allowlisted(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowlist)

    def client_key(self, address: IPAddress) -> str:
        """The identity an address is counted under: itself (IPv4) or its IPv6 prefix."""
        if isinstance(address, ipaddress.IPv6Address) and self.ipv6_prefix < 128:
            network = ipaddress.IPv6Network((address, self.ipv6_prefix), strict=False)
            return str(network)
        return str(address)
