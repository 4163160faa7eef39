"""Piccolo selects whose SQL text is composed once per shape and then reused.

Piccolo composes a query's SQL from its column and filter objects every time it runs:
for the users query behind nearly every request that is ≈ 180 µs of Python, more than
the database takes to answer it. A :class:`ReusableSelect` lets Piccolo compose the
query once per *shape* (the length of each list parameter) with a marker in every
value's place, keeps the text as a ``{}`` template, and runs each later call as a raw
query of that template with the values bound as parameters, never interpolated.

Hard to use wrong: the build function receives markers only, and a composed query with
any bound value that is not one of the markers is refused, so nothing a first caller
passed (an organisation id, a principal) can stay baked into a template that later
callers reuse. Write ``build`` as a pure function of its parameters: whatever it reads
besides them (a principal, a setting) would be composed once and shared by every caller.
"""

from __future__ import annotations

import datetime
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from piccolo.query import Select
from piccolo.table import Table

__all__ = ("ReusableSelect",)

MAX_SHAPES = 64
# What a parameter may hold: values every engine binds as they are. Piccolo would convert
# others (an Enum to its value, a row to its key) while composing; here nothing is
# composed per call, so they are refused rather than bound unconverted.
_BINDABLE = (uuid.UUID, str, int, float, bool, datetime.datetime, datetime.date)

TableT = TypeVar("TableT", bound=Table)


class _Marker:
    """Stands in for one parameter value while Piccolo composes the query."""

    __slots__ = ("index", "name")

    def __init__(self, name: str, index: int | None) -> None:
        self.name = name
        self.index = index


class _Template:
    __slots__ = ("markers", "sql")

    def __init__(self, sql: str, markers: list[_Marker]) -> None:
        self.sql = sql
        self.markers = markers


class ReusableSelect(Generic[TableT]):
    """``build(**markers)`` → a Piccolo ``Select``; ``await run(**values)`` → its rows.

    A parameter given a list stands for that many values (``Column.is_in`` of it); any
    other value is one value. ``run(limit=n)`` adds ``LIMIT n`` with ``n`` bound as a
    parameter too (Piccolo's own ``limit()`` writes the number into the text, which
    would make a template per page size). At most ``max_shapes`` templates are kept
    (least recently used dropped).
    """

    def __init__(
        self,
        table: type[TableT],
        build: Callable[..., Select[Any]],
        *,
        max_shapes: int = MAX_SHAPES,
    ) -> None:
        self._table = table
        self._build = build
        self._max_shapes = max_shapes
        self._templates: OrderedDict[tuple[tuple[str, int | None], ...], _Template] = OrderedDict()

    async def run(self, *, limit: int | None = None, **values: Any) -> list[dict[str, Any]]:
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit must be a whole number >= 0, not {limit!r}")
        shape = tuple(
            (name, len(value) if isinstance(value, list) else None)
            for name, value in sorted(values.items())
        )
        template = self._templates.get(shape)
        if template is None:
            template = self._compose(shape)
            self._templates[shape] = template
            if len(self._templates) > self._max_shapes:
                self._templates.popitem(last=False)
        else:
            self._templates.move_to_end(shape)
        arguments = [_value(values, marker) for marker in template.markers]
        if limit is None:
            rows: list[dict[str, Any]] = await self._table.raw(template.sql, *arguments)
        else:
            rows = await self._table.raw(template.sql + " LIMIT {}", *arguments, limit)
        return rows

    def _compose(self, shape: tuple[tuple[str, int | None], ...]) -> _Template:
        markers: dict[str, Any] = {
            name: _Marker(name, None)
            if length is None
            else [_Marker(name, index) for index in range(length)]
            for name, length in shape
        }
        query = self._build(**markers)
        (querystring,) = query.querystrings
        _, fragments, arguments = querystring.bundle(start_index=1, bundled=[], combined_args=[])
        strangers = [argument for argument in arguments if not isinstance(argument, _Marker)]
        if strangers:
            raise TypeError(
                f"a reusable select binds only its parameters; the composed query also "
                f"binds {len(strangers)} other value(s): pass them as parameters"
            )
        if any("{" in fragment.prefix or "}" in fragment.prefix for fragment in fragments):
            # Piccolo's templates mis-place the values after an escaped brace ("{{").
            raise ValueError("a reusable select's SQL text cannot contain braces")
        sql = "".join(fragment.prefix + ("" if fragment.no_arg else "{}") for fragment in fragments)
        return _Template(sql, list(arguments))


def _value(values: dict[str, Any], marker: _Marker) -> Any:
    given = values[marker.name]
    value = given if marker.index is None else given[marker.index]
    if not isinstance(value, _BINDABLE):
        raise TypeError(f"parameter {marker.name!r}: cannot bind a {type(value).__name__}")
    return value
