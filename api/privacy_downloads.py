"""GET /privacy/downloads/{token}: one export archive, once, to its subject (or the admin
who asked for it), over the same sign-in. The token is single-use and short-lived
(privacy/requests.py); the access log never records it (api/edge/request_id.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import File, Response

from accounts.services.data_requests import DOWNLOAD_PATH
from api.resources import Resources
from api.route_principal import route_principal
from api.settings import Settings
from privacy import requests

_GONE = {
    "error": "This download link is invalid, already used or expired.",
    "code": "NOT_FOUND",
}


@get(DOWNLOAD_PATH + "{token:str}", include_in_schema=False)
async def download_export(
    request: Request[Any, Any, Any], token: FromPath[str], state: State
) -> Response[Any] | File:
    settings: Settings = state.settings
    resources: Resources = state.resources
    principal = await route_principal(request, state)
    if principal.kind != "user" or principal.user_id is None:
        return Response(
            {"error": "Sign in to download your export.", "code": "UNAUTHENTICATED"},
            status_code=401,
        )
    record = await requests.spend_download_link(
        token, resources.identity.now(), for_user=principal.user_id
    )
    if record is None or record.archive_name is None:
        return Response(_GONE, status_code=404)
    path = settings.exports_dir / record.archive_name
    if not await asyncio.to_thread(path.is_file):
        return Response(_GONE, status_code=404)
    return File(
        path=path,
        filename=f"opendesk-export-{record.subject_id}.zip",
        media_type="application/zip",
        content_disposition_type="attachment",
    )
