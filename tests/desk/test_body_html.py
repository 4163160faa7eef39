"""``bodyHtml``: the text escaped, then paragraphs, breaks and http(s) links only."""

from __future__ import annotations

import pytest

from desk.body_html import render_body_html

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<svg onload=alert(1)><circle/></svg>",
    '<a href="javascript:alert(1)">click</a>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<!--<script>alert(1)</script>-->",
    '"><b onmouseover=alert(1)>x</b>',
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markup_in_a_body_is_shown_as_text(payload: str) -> None:
    rendered = render_body_html(payload)

    assert "<" not in rendered.removeprefix("<p>").removesuffix("</p>")


def test_a_javascript_url_is_never_a_link() -> None:
    assert "<a" not in render_body_html("javascript:alert(1) and data:text/html,<b>x</b>")


def test_http_links_open_without_referrer_or_opener() -> None:
    rendered = render_body_html("see https://status.example/a?b=1&c=2.")

    assert rendered == (
        '<p>see <a href="https://status.example/a?b=1&amp;c=2" '
        'rel="noopener noreferrer nofollow">https://status.example/a?b=1&amp;c=2</a>.</p>'
    )


def test_a_quote_cannot_break_out_of_a_link() -> None:
    rendered = render_body_html('http://x.example/"onmouseover=alert(1)')

    assert "onmouseover" not in rendered.split(">", 2)[1]
    assert rendered.startswith('<p><a href="http://x.example/" rel=')


def test_lines_become_breaks_and_blank_lines_paragraphs() -> None:
    assert render_body_html("one\r\ntwo\n\n  three") == "<p>one<br>two</p><p>three</p>"


def test_an_empty_body_renders_empty() -> None:
    assert render_body_html("  \n ") == ""
