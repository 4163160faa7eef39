from __future__ import annotations

import pytest
from litestar.testing import TestClient

from api.edge._asgi import route_path
from api.edge.content_type import GraphQLContentTypeMiddleware, is_allowed_graphql_post
from tests.api_edge.asgi_harness import Recorder, build_litestar_app, call


@pytest.mark.parametrize(
    "value",
    [
        "application/json",
        "Application/JSON",
        " application/json ",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; charset="utf-8"',
    ],
)
def test_json_is_allowed(value: str) -> None:
    assert is_allowed_graphql_post(value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/graphql-response+json",
        "application/graphql",
        "application/json; charset=latin-1",
        "application/json; boundary=x",
        "application/json; charset=utf-8; charset=utf-8",
        "application/jsonx",
        "text/plain, application/json",
    ],
)
def test_anything_else_is_refused(value: str | None) -> None:
    assert not is_allowed_graphql_post(value)


@pytest.mark.parametrize(
    "headers",
    [
        [("content-type", "text/plain")],
        [("content-type", "application/x-www-form-urlencoded")],
        [("content-type", "multipart/form-data; boundary=x")],
        [],
        [("content-type", "application/json"), ("content-type", "text/plain")],
    ],
)
@pytest.mark.parametrize("path", ["/graphql", "/graphql/", "//graphql"])
async def test_non_json_post_to_graphql_is_415(headers: list[tuple[str, str]], path: str) -> None:
    recorder = Recorder()
    app = GraphQLContentTypeMiddleware(recorder)
    result = await call(app, method="POST", path=path, headers=headers, chunks=[b"query={x}"])
    assert result.status == 415
    assert result.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert result.receive_calls == 0
    assert recorder.calls == 0


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("POST", "/graphql", "application/json"),
        ("GET", "/graphql", "text/plain"),
        ("POST", "/upload", "multipart/form-data; boundary=x"),
    ],
)
async def test_other_requests_pass(method: str, path: str, content_type: str) -> None:
    recorder = Recorder()
    app = GraphQLContentTypeMiddleware(recorder)
    result = await call(app, method=method, path=path, headers=[("content-type", content_type)])
    assert result.status == 200
    assert recorder.calls == 1


def test_form_post_never_reaches_litestar_handler() -> None:
    litestar_app, bodies_seen = build_litestar_app()
    with TestClient(GraphQLContentTypeMiddleware(litestar_app)) as client:
        form = client.post("/graphql", data={"query": "mutation { x }"})
        text = client.post("/graphql", content=b"{}", headers={"Content-Type": "text/plain"})
        good = client.post("/graphql", json={"query": "{ x }"})
    assert (form.status_code, text.status_code, good.status_code) == (415, 415, 200)
    assert bodies_seen == [b'{"query":"{ x }"}']


@pytest.mark.parametrize(
    ("path", "routed"),
    [
        ("/graphql", "/graphql"),
        ("/graphql/", "/graphql"),
        ("//graphql", "/graphql"),
        ("/graphql//upload/", "/graphql/upload"),
        ("/", "/"),
        ("///", "/"),
        ("", "/"),
    ],
)
def test_paths_are_compared_as_the_router_matches_them(path: str, routed: str) -> None:
    assert route_path(path) == routed
