"""Hostile documents are refused with the right code and never raise."""

from __future__ import annotations

import pytest

from .conftest import assert_refused, make_schema, run, wide_but

pytestmark = pytest.mark.asyncio

ALIASES_5000 = "{ " + " ".join(f"a{i}: hello" for i in range(5_000)) + " }"
DEPTH_200 = "{ " + "ticket { " * 200 + "id" + " }" * 200 + " }"
FIELDS_1MB = "{ " + "hello " * (1_000_000 // 6) + "}"
COMMENT_1MB = "# " + "x" * 1_000_000 + "\n{ hello }"
COMMENT_LINES_1MB = "#x\n" * 333_333 + "{ hello }"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (ALIASES_5000, "DOCUMENT_TOO_LARGE"),
        (DEPTH_200, "DEPTH_LIMIT_EXCEEDED"),
        (FIELDS_1MB, "DOCUMENT_TOO_LARGE"),
        (COMMENT_1MB, "DOCUMENT_TOO_LARGE"),
    ],
)
async def test_default_limits_refuse_hostile_documents(schema, query, code) -> None:
    assert_refused(await run(schema, query), code)


@pytest.mark.parametrize(
    ("query", "limits", "code"),
    [
        (ALIASES_5000, wide_but(max_tokens=2_000), "TOO_MANY_TOKENS"),
        (ALIASES_5000, wide_but(max_aliases=15), "TOO_MANY_ALIASES"),
        (DEPTH_200, wide_but(max_depth=10), "DEPTH_LIMIT_EXCEEDED"),
        (FIELDS_1MB, wide_but(max_tokens=2_000), "TOO_MANY_TOKENS"),
        (COMMENT_LINES_1MB, wide_but(max_tokens=2_000), "TOO_MANY_TOKENS"),
    ],
)
async def test_each_guard_refuses_hostile_documents_on_its_own(query, limits, code) -> None:
    assert_refused(await run(make_schema(**limits), query), code)


async def test_a_single_huge_comment_passes_the_parser_only_under_a_size_limit() -> None:
    result = await run(make_schema(**wide_but()), COMMENT_1MB)
    assert result.errors is None
