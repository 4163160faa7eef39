"""Fetch URLs, score them as Mozilla's HTTP Observatory does, print the report.

Scoring (MDN HTTP Observatory, ``src/grader/grader.js``): start at 100, subtract every
penalty; if that leaves 90 or more, add every bonus; never below 0. Grades from the
same chart (100+ is A+).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from api.observatory.checks import Finding, Observed, every_check

MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90
_GRADES = (
    (100, "A+"),
    (90, "A"),
    (85, "A-"),
    (80, "B+"),
    (70, "B"),
    (65, "B-"),
    (60, "C+"),
    (50, "C"),
    (45, "C-"),
    (40, "D+"),
    (30, "D"),
    (25, "D-"),
    (0, "F"),
)
MAX_REDIRECTS = 10


@dataclass(frozen=True, slots=True)
class Report:
    url: str
    status_code: int
    findings: tuple[Finding, ...]

    @property
    def score(self) -> int:
        penalties = sum(f.modifier for f in self.findings if f.modifier < 0)
        bonuses = sum(f.modifier for f in self.findings if f.modifier > 0)
        score = 100 + penalties
        if score >= MINIMUM_SCORE_FOR_EXTRA_CREDIT:
            score += bonuses
        return max(score, 0)

    @property
    def grade(self) -> str:
        return next(grade for floor, grade in _GRADES if self.score >= floor)

    @property
    def every_item_passes(self) -> bool:
        return all(finding.passed for finding in self.findings)

    def lines(self) -> list[str]:
        rows = [f"{self.url} (HTTP {self.status_code})"]
        for finding in self.findings:
            mark = "pass" if finding.passed else "FAIL"
            note = f" ({finding.note})" if finding.note else ""
            rows.append(
                f"  {mark}  {finding.test:<31} {finding.modifier:+4d}  {finding.result}{note}"
            )
        rows.append(f"  score {self.score}, grade {self.grade}")
        return rows


def plain_http_url(url: str) -> str:
    """Where Observatory looks for the HTTP→HTTPS redirect: ``http://`` on port 80."""
    parts = urlsplit(url)
    return urlunsplit(("http", parts.hostname or "", parts.path or "/", parts.query, ""))


async def scan(
    client: httpx.AsyncClient,
    url: str,
    *,
    http_url: str | None = None,
    probe_origin: str = "https://http-observatory.security.mozilla.org",
) -> Report:
    """Fetch ``url`` (following redirects; once more with a foreign ``Origin``, as
    Observatory's CORS test does) and the plain-HTTP ``http_url``, and score them.

    Raises ``httpx.HTTPError`` when ``url`` itself cannot be fetched; a refused or
    failing plain-HTTP connection is the "no HTTP, no redirect needed" result.
    """
    response = await client.get(url, follow_redirects=True)
    cors = await client.get(url, headers={"origin": probe_origin}, follow_redirects=True)
    redirects, answered = await _follow_plain_http(client, http_url or plain_http_url(url))
    observed = Observed(
        url=str(response.url),
        headers=_by_name(response.headers),
        cors_headers=_by_name(cors.headers),
        body=response.text if "html" in response.headers.get("content-type", "") else "",
        probe_origin=probe_origin,
        http_redirects=redirects,
        http_answered=answered,
    )
    return Report(url=url, status_code=response.status_code, findings=every_check(observed))


def _by_name(headers: httpx.Headers) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers.multi_items():
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


async def _follow_plain_http(
    client: httpx.AsyncClient, url: str
) -> tuple[tuple[str, ...] | None, bool]:
    """The redirect chain from ``url`` (None if it did not redirect) and whether
    anything answered there at all."""
    chain: list[str] = []
    try:
        for _ in range(MAX_REDIRECTS):
            response = await client.get(url, follow_redirects=False)
            location = response.headers.get("location")
            if not response.is_redirect or location is None:
                break
            url = str(response.url.join(location))
            chain.append(url)
    except httpx.TransportError:
        if not chain:
            return None, False
    return (tuple(chain) or None), True


async def scan_all(
    urls: Sequence[str], *, verify: str | bool = True, http_url: str | None = None
) -> list[Report]:
    """Reports for ``urls`` fetched over the network (``verify``: a CA file, or False)."""
    async with httpx.AsyncClient(verify=verify, timeout=10) as client:
        return [await scan(client, url, http_url=http_url) for url in urls]


def observatory_command(urls: Sequence[str], *, cafile: str | None, http_url: str | None) -> int:
    """``opendesk observatory``: print every URL's report; 0 only when every item of
    every URL passes and each grades A+. A URL that is not http(s) or cannot be fetched
    is one ``opendesk: …`` line (CommandError), not a traceback."""
    from api.commands import CommandError

    for url in (*urls, *([http_url] if http_url else [])):
        if httpx.URL(url).scheme not in ("http", "https") or not httpx.URL(url).host:
            raise CommandError(f"not an http(s) URL: {url!r}")
    try:
        reports = asyncio.run(scan_all(urls, verify=cafile or True, http_url=http_url))
    except httpx.HTTPError as error:
        raise CommandError(f"cannot fetch {error.request.url}: {error}") from None
    for report in reports:
        print("\n".join(report.lines()))
    passed = all(report.every_item_passes and report.grade == "A+" for report in reports)
    return 0 if passed else 1
