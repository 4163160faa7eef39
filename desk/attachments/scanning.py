"""The scan hook: a deployment's malware scanner sees every upload before it is stored.

No scanner is bundled. ``OPENDESK_ATTACHMENT_SCANNER`` names one as ``module:attribute``
(a class or factory called with no arguments, or an instance); unset, every file that
passed the content checks is accepted. A scanner that fails (raises) refuses the file:
an upload is never stored unscanned because the scanner was down.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ScanVerdict:
    accepted: bool
    # Logged and audited; never shown to the uploader (it may name a signature).
    reason: str = ""


@runtime_checkable
class AttachmentScanner(Protocol):
    async def scan(self, data: bytes, content_type: str) -> ScanVerdict:
        """Accept or reject one file (``content_type`` is the sniffed type)."""
        ...


class AcceptAll:
    """The default: no scanner configured."""

    async def scan(self, data: bytes, content_type: str) -> ScanVerdict:
        return ScanVerdict(accepted=True)


def load_scanner(spec: str) -> AttachmentScanner:
    """The scanner ``spec`` names (``module:attribute``), or AcceptAll for ``""``.

    Raises ValueError when it cannot be imported or is not a scanner: start-up stops.
    """
    if not spec:
        return AcceptAll()
    module_name, _, attribute = spec.partition(":")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"cannot load attachment scanner {spec!r}: {error}") from error
    scanner = target() if isinstance(target, type) or not hasattr(target, "scan") else target
    if not isinstance(scanner, AttachmentScanner):
        raise ValueError(f"{spec!r} is not an attachment scanner (no async scan method)")
    return scanner
