"""The comparator: the product's schema shape over the same tables and rows, served by
plain Strawberry + Litestar with no security layers (bench only).

No edge middleware, no guards, no scoping, no error masking: just the documented
Strawberry setup (dataloaders, a dict context, ``ParserCache`` and ``ValidationCache``
on, as the issue's targets compare "both with caches on") on the same Piccolo tables
and engine settings as the product, under plain uvicorn. ``me`` is the user named in
``BENCH_PRINCIPAL`` (the same agent the product server acts as).

Run: ``BENCH_PRINCIPAL=... OPENDESK_DATABASE_URL=... python -m bench.comparator --port P``.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import strawberry
from litestar import Litestar
from piccolo.engine.postgres import PostgresEngine
from strawberry.dataloader import DataLoader
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.litestar import make_graphql_controller

from accounts.tables import User
from api.database import bind_engine, engine_from_url
from api.settings import load_settings
from bench.product_server import principal_from_environment
from desk.tables import Comment, Ticket

CACHE_SIZE = 512  # the product's SchemaConfig.cache_size
_USER_COLUMNS = (User.id, User.display_name, User.role)


@strawberry.type(name="User")
class UserNode:
    id: strawberry.ID
    display_name: str
    role: str


@strawberry.type(name="Comment")
class CommentNode:
    id: strawberry.ID
    body: str


@strawberry.type(name="Ticket")
class TicketNode:
    id: strawberry.ID
    subject: str
    body: str
    status: str
    requester_id: strawberry.Private[uuid.UUID]
    ticket_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def requester(self, info: strawberry.Info) -> UserNode | None:
        loaders: Loaders = info.context["loaders"]
        return await loaders.users.load(self.requester_id)

    @strawberry.field
    async def comments(self, info: strawberry.Info, first: int) -> list[CommentNode]:
        loaders: Loaders = info.context["loaders"]
        return await loaders.comments.load((self.ticket_id, first))


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class TicketEdge:
    cursor: str
    node: TicketNode


@strawberry.type
class TicketConnection:
    edges: list[TicketEdge]
    page_info: PageInfo


def _user(row: dict[str, Any]) -> UserNode:
    return UserNode(
        id=strawberry.ID(str(row["id"])), display_name=row["display_name"], role=row["role"]
    )


def _cursor(row: dict[str, Any]) -> str:
    payload = json.dumps([row["created_at"].isoformat(), str(row["id"])], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


class Loaders:
    """Per-request dataloaders, as Strawberry's documentation sets them up."""

    def __init__(self) -> None:
        self.users: DataLoader[uuid.UUID, UserNode | None] = DataLoader(self._users)
        self.comments: DataLoader[tuple[uuid.UUID, int], list[CommentNode]] = DataLoader(
            self._comments
        )

    async def _users(self, keys: Sequence[uuid.UUID]) -> list[UserNode | None]:
        rows = await User.select(*_USER_COLUMNS).where(User.id.is_in(list(keys)))
        found = {row["id"]: _user(row) for row in rows}
        return [found.get(key) for key in keys]

    async def _comments(self, keys: Sequence[tuple[uuid.UUID, int]]) -> list[list[CommentNode]]:
        rows = await (
            Comment.select(Comment.id, Comment.ticket, Comment.body)
            .where(Comment.ticket.is_in([ticket_id for ticket_id, _ in keys]))
            .order_by(Comment.created_at, Comment.id)
        )
        by_ticket: dict[uuid.UUID, list[CommentNode]] = defaultdict(list)
        for row in rows:
            by_ticket[row["ticket"]].append(
                CommentNode(id=strawberry.ID(str(row["id"])), body=row["body"])
            )
        return [by_ticket.get(ticket_id, [])[:first] for ticket_id, first in keys]


@strawberry.type
class Query:
    @strawberry.field
    async def me(self, info: strawberry.Info) -> UserNode | None:
        row = await User.select(*_USER_COLUMNS).where(User.id == info.context["me_id"]).first()
        return _user(row) if row else None

    @strawberry.field
    async def tickets(self, first: int) -> TicketConnection:
        rows = (
            await Ticket.select()
            .order_by(Ticket.created_at, Ticket.id, ascending=False)
            .limit(first + 1)
        )
        edges = [
            TicketEdge(
                cursor=_cursor(row),
                node=TicketNode(
                    id=strawberry.ID(str(row["id"])),
                    subject=row["subject"],
                    body=row["body"],
                    status=row["status"],
                    requester_id=row["requester"],
                    ticket_id=row["id"],
                ),
            )
            for row in rows[:first]
        ]
        end_cursor = edges[-1].cursor if edges else None
        return TicketConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > first, end_cursor=end_cursor),
        )


def create_comparator_app() -> Litestar:
    """uvicorn factory: plain Strawberry on Litestar over the configured database."""
    settings = load_settings()
    me_id = principal_from_environment().user_id
    engine = engine_from_url(
        settings.database_url, timeout_seconds=settings.database_timeout_seconds
    )
    schema = strawberry.Schema(
        query=Query,
        extensions=[
            lambda: ParserCache(maxsize=CACHE_SIZE),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
        ],
    )

    async def context() -> dict[str, object]:
        return {"loaders": Loaders(), "me_id": me_id}

    async def open_database() -> None:
        bind_engine(engine)
        if isinstance(engine, PostgresEngine):
            await engine.start_connection_pool(min_size=1, max_size=10)

    async def close_database() -> None:
        if isinstance(engine, PostgresEngine) and engine.pool is not None:
            await engine.close_connection_pool()

    controller = make_graphql_controller(schema, path="/graphql", context_getter=context)
    return Litestar(
        route_handlers=[controller],
        on_startup=[open_database],
        on_shutdown=[close_database],
        openapi_config=None,
    )


def comparator_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.comparator", "--port", str(port)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.comparator")
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args(argv)
    principal_from_environment()

    import uvicorn

    # Plain uvicorn (the product adds its own protocol limits in api/server.py); like the
    # product: no Server banner, no access log, the same keep-alive.
    uvicorn.run(
        "bench.comparator:create_comparator_app",
        factory=True,
        host="127.0.0.1",
        port=arguments.port,
        workers=1,
        server_header=False,
        timeout_keep_alive=5,
        log_level="warning",
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
