"""Attachments over HTTP: the one multipart route, and the authorised download.

Uploads follow the GraphQL multipart request spec, on their own path
(``POST /graphql/upload``) so that ``/graphql`` stays JSON-only: the edge lets multipart
through to this path alone, and only with an ``X-CSRF-Token`` header (which a
cross-site form cannot send, and which the CSRF layer then verifies); the body limit
here is the attachment limit, not the JSON one; and this controller runs exactly one
operation, ``uploadAttachment``, with at most one file.

Downloads (``GET /attachments/{id}``) answer whoever may see the ticket (others get the
same 404 as for a missing id), as ``Content-Disposition: attachment`` with the sniffed
type, ``nosniff`` and a sandboxing CSP, never cached.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, ClassVar
from urllib.parse import quote

from cross_web import HTTPException
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError
from litestar import Request, get
from litestar.datastructures import State, UploadFile
from litestar.exceptions import ClientException
from litestar.params import FromPath
from litestar.response import Response
from strawberry.file_uploads.utils import replace_placeholders_with_files
from strawberry.http import GraphQLRequestData

from api.resources import Resources
from api.route_principal import route_principal
from api.settings import Settings
from desk.services.attachments import visible_attachment

UPLOAD_PATH = "/graphql/upload"
UPLOAD_OPERATION = "uploadAttachment"
MAX_FILES_PER_REQUEST = 1
# The multipart envelope around the file: boundaries, part headers, operations, map.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
DOWNLOAD_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"
_NOT_FOUND = {"error": "Not found.", "code": "NOT_FOUND"}


def upload_body_limit(settings: Settings) -> int:
    return settings.attachment_max_bytes + MULTIPART_OVERHEAD_BYTES


def upload_controller(graphql_controller: type[Any], settings: Settings) -> type[Any]:
    """The /graphql controller (same schema, context, guards and persisted-operation
    gate) at UPLOAD_PATH, taking multipart bodies and the upload mutation only."""

    class UploadController(graphql_controller):  # type: ignore[misc]
        path = UPLOAD_PATH
        graphql_ide = None
        allow_queries_via_get = False
        multipart_uploads_enabled = True
        request_max_body_size = upload_body_limit(settings)
        protocols: ClassVar[tuple[str, ...]] = ()

        async def parse_multipart(self, request: Any) -> dict[str, Any]:
            try:
                form = (await request.get_form_data()).form
            except ValueError:
                raise HTTPException(400, "Unable to parse the multipart body") from None
            files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
            if len(files) > MAX_FILES_PER_REQUEST:
                raise HTTPException(400, f"At most {MAX_FILES_PER_REQUEST} file per request")
            try:
                operations = json.loads(form.get("operations", ""))
                files_map = json.loads(form.get("map", "{}"))
                if not isinstance(operations, dict) or not isinstance(files_map, dict):
                    raise TypeError("operations and map must be JSON objects")
                replaced: dict[str, Any] = replace_placeholders_with_files(
                    operations, files_map, form
                )
            except (KeyError, IndexError, TypeError, ValueError, AttributeError):
                raise HTTPException(400, "Invalid multipart upload request") from None
            return replaced

        async def execute_operation(
            self,
            request: Any,
            request_adapter: Any,
            request_data: Any,
            context: Any,
            root_value: Any,
            sub_response: Any,
        ) -> Any:
            if isinstance(request_data, list):
                raise ClientException("Uploads are not batched")
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )

        def refuse_operation(self, request_data: GraphQLRequestData) -> GraphQLError | None:
            # After the persisted-operation gate: an id is checked as the text it names.
            if _is_upload_operation(request_data.query):
                return None
            return GraphQLError(
                f"Only the {UPLOAD_OPERATION} mutation is served here.",
                extensions={"code": "BAD_REQUEST"},
            )

    return UploadController


def _is_upload_operation(query: str | None) -> bool:
    """One mutation whose one root field is the upload (no fragments, no other field)."""
    if query is None:
        return False
    try:
        document = parse(query, max_tokens=500)
    except GraphQLSyntaxError:
        return False
    if len(document.definitions) != 1:
        return False
    operation = document.definitions[0]
    if not isinstance(operation, OperationDefinitionNode):
        return False
    selections = operation.selection_set.selections
    return (
        operation.operation is OperationType.MUTATION
        and len(selections) == 1
        and isinstance(selections[0], FieldNode)
        and selections[0].name.value == UPLOAD_OPERATION
    )


@get("/attachments/{attachment_id:str}", include_in_schema=False)
async def download_attachment(
    request: Request[Any, Any, Any], attachment_id: FromPath[str], state: State
) -> Response[Any]:
    resources: Resources = state.resources
    principal = await route_principal(request, state)
    try:
        identifier = uuid.UUID(attachment_id)
    except ValueError:
        return Response(_NOT_FOUND, status_code=404)
    record = await visible_attachment(principal, identifier)
    if record is None or resources.attachments is None:
        return Response(_NOT_FOUND, status_code=404)
    try:
        path = resources.attachments.store.path(record.storage_key)
        content = await asyncio.to_thread(path.read_bytes)
    except (ValueError, FileNotFoundError):  # content erased (or lost): the row stays
        return Response(_NOT_FOUND, status_code=404)
    return Response(
        content,
        media_type=record.content_type,
        headers={
            "content-disposition": content_disposition(record.filename),
            "content-security-policy": DOWNLOAD_CSP,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 name."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
