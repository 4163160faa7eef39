"""All the guards as one strawberry extension (with the schema's error masking before
them and its authentication and field-policy gates after them: schema.build).

strawberry wraps every hook of every extension, per request, in a context manager it
builds on the spot (``get_hook``: an ``inspect`` check, a bound method, a
``contextlib.contextmanager``); with a dozen guards that machinery cost more than the
guards' own work (≈85 µs of a 200 µs ``{ me { … } }`` execution, measured). The guards
stay separate classes, one job each; :class:`GuardChain` runs their hooks itself, in
the order given, entering in order and leaving in reverse, exactly as strawberry would
run them as separate extensions, with what each class overrides found once per class.

An exception while a hook is suspended (the parse, validation or execution it wraps
failed) closes the suspended hooks without running their second half; none of the
guards handles an exception at its ``yield``, so that is what strawberry's context
managers did too.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

_SYNC_HOOKS = ("on_operation", "on_parse", "on_validate")


_KINDS: dict[tuple[type, str], str | None] = {}


def _overrides(kind: type, hook: str) -> str | None:
    """How ``kind`` overrides ``hook``: "sync" or "async" generator; None if it does not."""
    key = (kind, hook)
    if key not in _KINDS:
        function = getattr(kind, hook)
        if function is getattr(SchemaExtension, hook):
            _KINDS[key] = None
        elif inspect.isasyncgenfunction(function):
            _KINDS[key] = "async"
        elif inspect.isgeneratorfunction(function):
            _KINDS[key] = "sync"
        else:
            raise TypeError(f"{kind.__name__}.{hook} must be a generator (yield once)")
    return _KINDS[key]


_HOOKS = ("on_operation", "on_parse", "on_validate", "on_execute")
# Per sequence of guard classes: for each hook, the indexes of the guards overriding it
# (with "sync"/"async"), and the indexes of those with results.
_Plan = tuple[dict[str, list[tuple[int, str]]], list[int]]
_PLANS: dict[tuple[type, ...], _Plan] = {}


def _plan(kinds: tuple[type, ...]) -> _Plan:
    plan = _PLANS.get(kinds)
    if plan is None:
        hooks: dict[str, list[tuple[int, str]]] = {}
        for hook in _HOOKS:
            hooks[hook] = []
            for index, kind in enumerate(kinds):
                how = _overrides(kind, hook)
                if how is None:
                    continue
                if how == "async" and hook in _SYNC_HOOKS:
                    raise TypeError(f"{kind.__name__}.{hook} must be synchronous")
                hooks[hook].append((index, how))
        results = [
            index
            for index, kind in enumerate(kinds)
            if kind.get_results is not SchemaExtension.get_results  # type: ignore[attr-defined]
        ]
        plan = _PLANS[kinds] = (hooks, results)
    return plan


class GuardChain(SchemaExtension):
    def __init__(self, *, parts: Sequence[Callable[[], SchemaExtension]]) -> None:
        self.parts = [make() for make in parts]
        self._hooks, self._with_results = _plan(tuple(type(part) for part in self.parts))

    # strawberry sets this on every extension before the first hook; the parts need it.
    @property
    def execution_context(self) -> ExecutionContext:
        return self._execution_context

    @execution_context.setter
    def execution_context(self, value: ExecutionContext) -> None:
        self._execution_context = value
        for part in self.parts:
            part.execution_context = value

    def on_operation(self) -> Iterator[None]:
        yield from self._sync("on_operation")

    def on_parse(self) -> Iterator[None]:
        yield from self._sync("on_parse")

    def on_validate(self) -> Iterator[None]:
        yield from self._sync("on_validate")

    def _sync(self, hook: str) -> Iterator[None]:
        entered: list[Generator[None, None, None]] = []
        try:
            for index, _how in self._hooks[hook]:
                generator = getattr(self.parts[index], hook)()
                next(generator)
                entered.append(generator)
            yield
        except BaseException:
            for generator in reversed(entered):
                generator.close()
            raise
        for generator in reversed(entered):
            _finish(generator)

    async def on_execute(self) -> AsyncIterator[None]:
        entered: list[Any] = []  # generators and async generators, in entry order
        try:
            for index, how in self._hooks["on_execute"]:
                generator: Any = self.parts[index].on_execute()
                if how == "async":
                    await generator.__anext__()
                else:
                    next(generator)
                entered.append(generator)
            yield
        except BaseException:
            for generator in reversed(entered):
                if hasattr(generator, "aclose"):
                    await generator.aclose()
                else:
                    generator.close()
            raise
        for generator in reversed(entered):
            if hasattr(generator, "__anext__"):
                await _finish_async(generator)
            else:
                _finish(generator)

    def get_results(self) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for index in self._with_results:
            part = self.parts[index]
            found = part.get_results()
            if inspect.isawaitable(found):
                raise TypeError(f"{type(part).__name__}.get_results must be synchronous")
            results.update(found)
        return results


_DONE = object()


def _finish(generator: Generator[None, None, None]) -> None:
    # next() with a default: a generator that returns raises no StopIteration to catch
    # (about a microsecond saved per hook, a dozen hooks a request).
    if next(generator, _DONE) is not _DONE:
        raise RuntimeError("a guard hook yielded more than once")


async def _finish_async(generator: Any) -> None:
    try:
        await generator.__anext__()
    except StopAsyncIteration:
        return
    raise RuntimeError("a guard hook yielded more than once")
