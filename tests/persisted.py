"""Putting operations on the persisted-operation allowlist, as an operator would."""

from __future__ import annotations

from audit.trail import Actor
from operations.allowlist import register


async def allowlist(document: str, *audiences: str) -> str:
    """Allowlist ``document`` for ``audiences``; returns its SHA-256 id."""
    registration = await register(document, audiences, actor=Actor("system"), via="test")
    return registration.operation.sha256
