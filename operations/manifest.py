"""Reading a persisted-operation manifest: Apollo's ``persisted-query-manifest`` JSON.

    {"format": "apollo-persisted-query-manifest", "version": 1,
     "operations": [{"id": "<sha256 of body>", "name": "Me", "type": "query",
                     "body": "query Me { me { id } }"}]}

Every entry is checked before anything is written: the id must be the SHA-256 of the
body, the body one operation of the declared type. One bad entry refuses the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from graphql import OperationDefinitionNode, parse

from operations.allowlist import OperationError, check_document, document_hash

MANIFEST_FORMAT = "apollo-persisted-query-manifest"
_TYPES = frozenset({"query", "mutation", "subscription"})


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    sha256: str
    name: str | None
    body: str


def read_manifest(text: str) -> list[ManifestEntry]:
    """The manifest's entries; raises OperationError naming the first problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise OperationError(f"manifest is not JSON: {error.msg} (line {error.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise OperationError(f'manifest: "format" must be "{MANIFEST_FORMAT}"')
    if data.get("version") != 1:
        raise OperationError('manifest: only "version": 1 is supported')
    operations = data.get("operations")
    if not isinstance(operations, list):
        raise OperationError('manifest: "operations" must be a list')
    return [_entry(index, item) for index, item in enumerate(operations)]


def _entry(index: int, item: Any) -> ManifestEntry:
    where = f"manifest operation #{index + 1}"
    if not isinstance(item, dict):
        raise OperationError(f"{where}: not an object")
    body, sha256, declared = item.get("body"), item.get("id"), item.get("type", "query")
    if not isinstance(body, str) or not body.strip():
        raise OperationError(f'{where}: "body" must be a GraphQL document')
    if sha256 != document_hash(body):
        raise OperationError(f'{where}: "id" is not the SHA-256 of its body')
    if declared not in _TYPES:
        raise OperationError(f'{where}: "type" must be one of {sorted(_TYPES)}')
    try:
        name = check_document(body)
    except OperationError as error:
        raise OperationError(f"{where}: {error}") from None
    operation = next(d for d in parse(body).definitions if isinstance(d, OperationDefinitionNode))
    if operation.operation.value != declared:
        actual = operation.operation.value
        raise OperationError(f'{where}: "type" says {declared}, the body is a {actual}')
    given = item.get("name")
    if given is not None and not isinstance(given, str):
        raise OperationError(f'{where}: "name" must be a string')
    return ManifestEntry(sha256=sha256, name=given or name, body=body)
