"""The name an attachment is shown and downloaded under: a label, never a path.

The stored file has a random name (desk/attachments/store.py); this is only what the
user sees. Still, it ends up in a ``Content-Disposition`` header and on the user's disk,
so it is cut down to its last path component, stripped of control and formatting
characters (including bidi overrides that disguise an extension), capped in length, and
given the extension of the type its content was found to be.
"""

from __future__ import annotations

import re
import unicodedata

from desk.attachments.content_types import AllowedType

MAX_FILENAME_CHARS = 120
FALLBACK_NAME = "attachment"
_SEPARATORS = re.compile(r"[/\\]")
_SPACES = re.compile(r"\s+")
# Characters that have a meaning to shells, Windows or HTTP headers: replaced.
_RESERVED = re.compile(r'[<>:"|?*;]')


def safe_filename(raw: str | None, kind: AllowedType) -> str:
    """A display name for an upload named ``raw`` whose content is ``kind``.

    Never empty, never a path (no ``/``, ``\\``, leading dots or ``..``), no control or
    formatting characters, at most ``MAX_FILENAME_CHARS`` characters, and ending in one
    of ``kind``'s extensions (the canonical one is appended otherwise).
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = _SEPARATORS.split(name)[-1]
    name = "".join(
        " " if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} else char for char in name
    )
    name = _RESERVED.sub("_", name)
    name = _SPACES.sub(" ", name).strip().lstrip(".").strip()
    stem, dot, extension = name.rpartition(".")
    if not dot or f".{extension.lower()}" not in kind.extensions:
        stem, extension = name, kind.extensions[0].lstrip(".")
    stem = stem.strip() or FALLBACK_NAME
    room = MAX_FILENAME_CHARS - len(extension) - 1
    return f"{stem[:room].rstrip()}.{extension.lower()}"
