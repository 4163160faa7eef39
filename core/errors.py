"""Expected errors, each with a stable code clients can rely on.

Anything that is not an ``ExpectedError`` is unexpected: the schema masks it and logs it
with an error id. Messages here are shown to clients, so they never carry data the
principal may not see.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ExpectedError(Exception):
    code: ClassVar[str] = "BAD_REQUEST"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: dict[str, Any] = {"code": self.code, **extensions}


class BadUserInput(ExpectedError):
    """An argument failed validation; ``field`` is its path in the input, e.g. ``input.subject``."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        if field is None:
            super().__init__(message)
        else:
            super().__init__(message, field=field)


class Unauthenticated(ExpectedError):
    code = "UNAUTHENTICATED"


class Forbidden(ExpectedError):
    """The principal may not do this. Carries no detail about the data."""

    code = "FORBIDDEN"

    def __init__(self, message: str = "Not allowed.") -> None:
        super().__init__(message)


class NotFound(ExpectedError):
    """Absent or not visible to the principal: the two are indistinguishable on purpose."""

    code = "NOT_FOUND"

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class RateLimited(ExpectedError):
    """Too many attempts of this kind; ``retryAfter`` says when to try again."""

    code = "RATE_LIMITED"

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many attempts. Try again later.", retryAfter=max(int(retry_after), 1))
