"""The HTML rendering of a plain-text body (``bodyHtml``): inert by construction.

Bodies are stored as the user typed them and ``body`` returns them as data. ``bodyHtml``
is offered for clients that want paragraphs and clickable links without writing a
renderer: the text is escaped first, so nothing the user typed is ever markup; then
paragraphs, line breaks and http(s) links are added; then nh3 cleans the result against
an allowlist of exactly those tags, so a mistake in the first two steps still cannot
produce a script, a handler, a style or a ``javascript:`` link.
"""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = frozenset({"p", "br", "a"})
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https"})
LINK_REL = "noopener noreferrer nofollow"

# A link runs to the next whitespace or a character that cannot be part of a bare URL in
# prose; punctuation that usually ends a sentence is left outside it.
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


def render_body_html(text: str) -> str:
    """HTML for ``text``: ``<p>``, ``<br>`` and ``<a href="http(s)://…">`` only, every
    link with ``rel="noopener noreferrer nofollow"``; everything else is escaped text."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not normalised:
        return ""
    paragraphs = _PARAGRAPH_BREAK.split(normalised)
    markup = "".join(
        "<p>" + "<br>".join(_linkify(line) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs
    )
    return nh3.clean(
        markup,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        url_relative="deny",
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _linkify(line: str) -> str:
    """``line`` escaped, with each http(s) URL in it made a link to itself."""
    pieces: list[str] = []
    position = 0
    for match in _URL.finditer(line):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        pieces.append(html.escape(line[position : match.start()]))
        pieces.append(f'<a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>')
        position = end
    pieces.append(html.escape(line[position:]))
    return "".join(pieces)
