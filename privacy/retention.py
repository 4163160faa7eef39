"""Retention: rows past the period their table's inventory entry allows are deleted, or
anonymised (their personal columns erased as for an erasure, the row kept).

``opendesk retention run`` applies every rule in batches and reports counts. It is safe
to run repeatedly (rows already handled no longer match) and concurrently (one runner
holds the ``retention`` lease; the others stop at once with LeaseHeld).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from piccolo.columns import Column as PiccoloColumn
from piccolo.columns import ForeignKey
from piccolo.columns.combination import And, Where

from privacy.erasure import REDACTED, not_yet_erased
from privacy.inventory import Erase, RowErasure, TableInventory, inventory
from privacy.leases import lease

BATCH_SIZE = 1000
LEASE_NAME = "retention"


@dataclass(slots=True)
class RetentionReport:
    deleted: dict[str, int] = field(default_factory=dict)
    anonymised: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        lines = [f"{table}: {count} deleted" for table, count in sorted(self.deleted.items())]
        lines += [f"{table}: {n} anonymised" for table, n in sorted(self.anonymised.items())]
        return lines or ["nothing past its retention period"]


def timed_rules() -> list[TableInventory]:
    """Tables whose retention is a period after a timestamp, their own or (``follows``)
    their parent row's; the others are kept for the life of what they describe, or until
    erasure."""
    return [entry for _, entry in sorted(inventory().items()) if _timed(entry) is not None]


async def run_retention(now: datetime, *, batch_size: int = BATCH_SIZE) -> RetentionReport:
    """Apply every rule once; raises LeaseHeld when another run is in progress."""
    report = RetentionReport()
    async with lease(LEASE_NAME) as held:
        for entry in timed_rules():
            if entry.retention.then is RowErasure.delete:
                report.deleted[entry.name] = await _delete_expired(entry, now, batch_size)
            else:
                report.anonymised[entry.name] = await _anonymise_expired(entry, now, batch_size)
            await held.renew()
    return report


@dataclass(frozen=True, slots=True)
class _PeriodRule:
    days: int
    after: str
    when: Mapping[str, tuple[str, ...]]
    # Reaches the columns the rule names: the table's own, or its parent's through the
    # foreign key (a join) when the rule ``follows`` the parent.
    column: Callable[[str], PiccoloColumn]


def _timed(entry: TableInventory) -> _PeriodRule | None:
    retention = entry.retention
    table = entry.table
    if retention.follows is None:
        if retention.days is None or retention.after is None:
            return None
        return _PeriodRule(
            retention.days, retention.after, retention.when, table._meta.get_column_by_name
        )
    foreign_key = table._meta.get_column_by_name(retention.follows)
    if not isinstance(foreign_key, ForeignKey):
        raise TypeError(f"{entry.name}.{retention.follows} is not a foreign key")
    referenced = foreign_key._foreign_key_meta.resolved_references._meta.tablename
    parent = inventory()[referenced].retention
    if parent.days is None or parent.after is None:
        return None
    return _PeriodRule(
        parent.days, parent.after, parent.when, lambda name: getattr(foreign_key, name)
    )


def _expired(entry: TableInventory, now: datetime) -> Where | And:
    rule = _timed(entry)
    if rule is None:
        raise ValueError(f"{entry.name} has no period retention rule")
    condition: Where | And = rule.column(rule.after) < now - timedelta(days=rule.days)
    for name, values in rule.when.items():
        condition = And(condition, rule.column(name).is_in(list(values)))
    return condition


async def _delete_expired(entry: TableInventory, now: datetime, batch_size: int) -> int:
    table = entry.table
    primary_key = table._meta.primary_key
    count = 0
    while True:
        rows = await table.select(primary_key).where(_expired(entry, now)).limit(batch_size)
        if not rows:
            return count
        ids = [row[primary_key._meta.name] for row in rows]
        await table.delete().where(primary_key.is_in(ids))
        count += len(ids)


async def _anonymise_expired(entry: TableInventory, now: datetime, batch_size: int) -> int:
    """Erase the content of expired rows (redact/null/empty rules; links and names stay,
    they are the subject's account, which has its own life)."""
    table = entry.table
    values = _anonymised_values(entry)
    if not values:
        return 0
    primary_key = table._meta.primary_key
    not_yet = not_yet_erased(entry, values)
    assignments: dict[PiccoloColumn | str, Any] = {
        table._meta.get_column_by_name(name): value for name, value in values.items()
    }
    count = 0
    while True:
        query = table.select(primary_key).where(_expired(entry, now))
        if not_yet is not None:
            query = query.where(not_yet)
        rows = await query.limit(batch_size)
        if not rows:
            return count
        ids = [row[primary_key._meta.name] for row in rows]
        await table.update(assignments).where(primary_key.is_in(ids))
        count += len(ids)


def _anonymised_values(entry: TableInventory) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, column in entry.columns.items():
        if column.erase is Erase.redact:
            values[name] = REDACTED
        elif column.erase is Erase.null:
            values[name] = None
        elif column.erase is Erase.empty:
            values[name] = ""
    return values
