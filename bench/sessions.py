"""Signing in like a browser: real sessions from real ``login`` mutations.

The login users are made by ``bench.seed``; a signed-in view of a server carries the
session cookie and the CSRF cookie re-issued for that session, as a frontend would.
"""

from __future__ import annotations

import dataclasses
import http.client
import json

from bench.context import Bench, answer
from bench.documents import Document, login_documents
from bench.scenario_support import ScenarioError
from bench.servers import HOST, Server


def sign_in(server: Server, email: str, password: str) -> Server:
    """A view of ``server`` whose headers also carry a real session cookie, from one real
    ``login`` mutation (as a browser does after signing in). Stopping the view stops the
    server: only stop the original."""
    body = login_documents([email], password)[0].body
    connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/graphql",
            body=body,
            headers={"Content-Type": "application/json", **server.headers},
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
        cookies = response.headers.get_all("set-cookie") or []
    finally:
        connection.close()
    # As a browser: the login answer sets the session cookie and re-issues the CSRF cookie
    # bound to that session (the last Set-Cookie of a name wins); the frontend then echoes
    # the new CSRF cookie's value in the header.
    jar = dict(
        part.strip().partition("=")[::2]
        for part in server.headers.get("Cookie", "").split(";")
        if part.strip()
    )
    for cookie in cookies:
        name, _, value = cookie.split(";", 1)[0].partition("=")
        jar[name.strip()] = value.strip()
    session = next((v for k, v in jar.items() if k.endswith("opendesk_session") and v), None)
    if session is None or answer.get("errors"):
        raise RuntimeError(f"{server.name}: login of {email} failed: {str(answer)[:300]}")
    headers = {**server.headers, "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
    csrf = next((v for k, v in jar.items() if k.endswith("_csrf")), None)
    if csrf:
        headers["X-CSRF-Token"] = csrf
    return dataclasses.replace(server, headers=headers)


def delete_redis_prefix(redis_url: str, prefix: str) -> int:
    """Delete every key under ``prefix:`` (this run's namespace only); returns how many."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()


def login_users(bench: Bench) -> tuple[list[str], str]:
    """The seeded login users' emails and their shared password."""
    users = bench.seed.get("login_users") or {}
    emails, password = users.get("emails"), users.get("password")
    if not emails or not password:
        raise ScenarioError("the seed made no login users")
    return list(emails), str(password)


def check_session(server: Server, document: Document, display_name: str | None = None) -> None:
    """Raise ScenarioError unless ``document`` (a `me` query) answers a signed-in user."""
    response = answer(server, document)
    me = (response.get("data") or {}).get("me")
    if not me or response.get("errors") or me.get("id") is None:
        raise ScenarioError(f"{server.name}: `me` has no signed-in user: {str(response)[:300]}")
    if display_name is not None and me.get("displayName") != display_name:
        raise ScenarioError(f"{server.name}: `me` is not {display_name}: {str(response)[:300]}")
