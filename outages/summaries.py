"""Keeping the counts of outages.models.summaries equal to their definitions in
outages.kept_counts (DEFINITIONS), in the transaction of every write that can change them.

A change to some incidents reads what those incidents add to each table before (`Change`) and
after the write, by the tables' own definitions restricted to them, and adds the difference: a
publish adds the incident's rows, a withdrawal or a delete takes them away, an edit of a customer
impact moves one count from one row to another. So a write costs a few small queries however
many incidents there are, and the numbers can only follow the rule that defines them, never a
copy of it. Changes take one lock (SummaryLock) first and hold it to the end of their
transaction, so that two writers never read the same "before" (PostgreSQL; SQLite writes one
transaction at a time anyway).

Every write path goes through here: the admin's saves, deletes and recoveries of incidents,
the workflow (publish, withdraw...), restoring a revision, deleting a reference row, imports
(status-page syncs among them) and fixture loading call `changing()` or `Change`; bulk loads
(sample data) call `rebuild()`, as does `manage.py rebuild_summaries`, which also checks them.
"""

import logging
import threading
from collections import Counter
from contextlib import contextmanager

from django.db import connection, transaction

from outages import kept_counts
from outages.models import SummaryLock

log = logging.getLogger(__name__)
BATCH = 1000  # incidents per query: SQLite limits the parameters of one


def lock():
    """Wait for, and hold until the transaction ends, the right to change the counts."""
    SummaryLock.objects.select_for_update().get_or_create(pk=1)


def key_of(model, row):
    return tuple(row[field] for field in model.key)


def counted(incidents):
    """{model: Counter{key: count}} of these published incidents, by each definition."""
    found = {model: Counter() for model in kept_counts.DEFINITIONS}
    for model, define in kept_counts.DEFINITIONS.items():
        for row in define(incidents):
            found[model][key_of(model, row)] += row["count"]
    return found


def contributions(pks):
    """What these incidents (those of them published) add to each table."""
    pks = sorted(pks)
    found = {model: Counter() for model in kept_counts.DEFINITIONS}
    for start in range(0, len(pks), BATCH):
        batch = kept_counts.published().filter(pk__in=pks[start : start + BATCH])
        for model, counts in counted(batch).items():
            found[model].update(counts)
    return found


def stored(model, keys=None):
    """{key: row} of a table, or of the rows that may hold `keys` (by their first field)."""
    rows = model.objects.all()
    if keys is None:
        return {stored_key(model, row): row for row in rows}
    first = model.key[0]
    found = {}
    wanted = sorted({key[0] for key in keys}, key=lambda value: (value is None, value))
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        known = [value for value in batch if value is not None]
        rows = model.objects.filter(**{f"{first}__in": known})
        if None in batch:
            rows = rows | model.objects.filter(**{f"{first}__isnull": True})
        found.update({stored_key(model, row): row for row in rows})
    return found


def stored_key(model, row):
    """A stored row's key, as key_of() reads it from its definition (foreign keys by id)."""
    return tuple(getattr(row, column) for column in model.key_columns())


def new_row(model, key, count):
    return model(count=count, **dict(zip(model.key_columns(), key, strict=True)))


def add(model, difference):
    """Add `difference` ({key: change}) to a table's counts: rows that reach 0 go."""
    difference = {key: change for key, change in difference.items() if change}
    if not difference:
        return
    rows = stored(model, difference)
    created, updated, gone = [], [], []
    for key, change in difference.items():
        row = rows.get(key)
        count = (row.count if row else 0) + change
        if count < 0 and row is not None:
            # Only a write that bypassed this module can cause it; rebuild_summaries repairs.
            # (A missing row is one whose service or region was deleted, and its counts too.)
            log.error("%s %s would count %d: the counts had drifted.", model.__name__, key, count)
        if row is None:
            if count > 0:
                created.append(new_row(model, key, count))
        elif count > 0:
            row.count = count
            updated.append(row)
        else:
            gone.append(row.pk)
    model.objects.filter(pk__in=gone).delete()
    model.objects.bulk_update(updated, ["count"], batch_size=BATCH)
    model.objects.bulk_create(created, batch_size=BATCH)


class Change:
    """A change to some incidents, inside the transaction that makes it: made with the incidents
    it may change (as they are before), told of others it changes (touch(), before changing
    them) and of those it creates (add()), and applied (apply()) once they are written. Takes
    the lock first: make it before touching any row."""

    def __init__(self, pks=()):
        lock()
        self.pks = set()
        self.before = {model: Counter() for model in kept_counts.DEFINITIONS}
        self.touch(pks)

    def touch(self, pks):
        """Incidents about to change: what they add to the counts now is taken away at apply()."""
        new = {pk for pk in pks if pk is not None} - self.pks
        for model, counts in contributions(new).items():
            self.before[model].update(counts)
        self.pks |= new

    def add(self, pks):
        """Incidents created by the change: they added nothing before it."""
        self.pks.update(pk for pk in pks if pk is not None)

    def apply(self, everything=False):
        """Add to each table what the change adds. `everything`: the database held no incident
        before the change (a first import), so the counts of every incident now there are
        the change's: each table is computed anew in the database (rebuild()), rather than
        read back into Python and written again, seconds less at 10,000 incidents. The same
        counts; their rows' ids, which nothing reads, follow the keys' order, as rebuild()
        writes them, not the order the database happened to give the contributions in."""
        if everything:
            rebuild()
            # Counted now: what the change's incidents count for is in the tables.
            self.pks = set()
            self.before = {model: Counter() for model in kept_counts.DEFINITIONS}
            return
        after = contributions(self.pks)
        for model in kept_counts.DEFINITIONS:
            difference = Counter(after[model])
            difference.subtract(self.before[model])
            add(model, difference)
        self.before = after


active = threading.local()  # the change being made by this thread, if any


@contextmanager
def changing(pks):
    """Keep the counts current across a change to these incidents, in one transaction with it
    (nothing to do when there are none: a GET of an admin screen changes nothing). Within
    another change (a workflow step after an admin save), it joins that one, which counts both
    when it ends."""
    pks = [pk for pk in pks if pk is not None]
    outer = getattr(active, "change", None)
    if outer is not None:
        outer.touch(pks)
        yield outer
        return
    if not pks:
        yield None
        return
    with transaction.atomic():
        change = active.change = Change(pks)
        try:
            yield change
            change.apply()
        finally:
            active.change = None


def rebuild():
    """Compute every table anew from its definition over every published incident, in the
    current transaction: after a bulk load, or to repair. Changes no content row, so it
    records no revision. Each table is filled by one INSERT … SELECT over its definition's
    query, in the database: at 100,000 incidents the tables hold some hundred thousand rows,
    which as model instances cost more than the counting."""
    with transaction.atomic():
        lock()
        for model, define in kept_counts.DEFINITIONS.items():
            model.objects.all().delete()
            counts, params = define(kept_counts.published()).query.sql_with_params()
            quote = connection.ops.quote_name
            keys = ", ".join(quote(field) for field in model.key)
            columns = ", ".join(quote(column) for column in model.key_columns())
            # In the key's order, so that the rows a page reads together (a customer's) are
            # stored together; a definition gives each key once (summed all the same, as
            # counted() does).
            order = ", ".join(f"{quote(field)} IS NULL, {quote(field)}" for field in model.key)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {quote(model._meta.db_table)} ({columns}, {quote('count')}) "
                    f"SELECT {keys}, SUM({quote('count')}) FROM ({counts}) AS counts "
                    f"GROUP BY {keys} HAVING SUM({quote('count')}) > 0 ORDER BY {order}",
                    params,
                )


def kept():
    """Whether counts are kept in every table. A table is empty before the first rebuild, and
    so is one added by a later migration while the others hold rows; a table empty by its
    definition (no customer ever hit) costs a recount of few incidents."""
    return all(model.objects.exists() for model in kept_counts.DEFINITIONS)


def differences():
    """(table, key, kept count, count by its definition) of every row where they differ."""
    live = counted(kept_counts.published())
    found = []
    for model, counts in live.items():
        kept = {key: row.count for key, row in stored(model).items()}
        for key in sorted(set(kept) | set(counts), key=repr):
            if kept.get(key, 0) != counts.get(key, 0):
                found.append((model.__name__, key, kept.get(key, 0), counts.get(key, 0)))
    return found
