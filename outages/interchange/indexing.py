"""Search documents of incidents just written, made from their rows in memory as
search.update_index() makes them from the database: the sample data generator and the importer
write thousands of incidents at a time and hold every row of each, so reading them all back
(a quarter of an import) is not needed."""

from dataclasses import dataclass, field

from outages import search
from outages.models import Customer, Region, SearchDocument, Service, Source


@dataclass
class Written:
    """One incident as written, with its rows (duplicates among the links are ignored)."""

    incident: object
    services: list
    regions: list
    sources: list
    impacts: list
    events: list
    action_items: list
    corrections: list = field(default_factory=list)


def documents(written, stored_order=None):
    """The search documents of these incidents (Written), unsaved, the same as
    search.update_index() makes. `stored_order`: {model: database_order(...)} of reference rows
    already read; the others are read here, one query per model."""
    order = reference_order(
        {
            Service: [row for one in written for row in one.services],
            Region: [row for one in written for row in one.regions],
            Customer: [impact.customer for one in written for impact in one.impacts],
            Source: [row for one in written for row in one.sources],
        },
        stored_order,
    )
    made = []
    for one in written:
        preloaded = Preloaded(
            one.incident,
            services=order.ordered(one.services),
            regions=order.ordered(one.regions),
            impacts=order.ordered(one.impacts, key=lambda impact: impact.customer),
            # Timeline order (occurred_at, position) needs no collation.
            events=InMemory(sorted(one.events, key=lambda e: (e.occurred_at, e.position))),
            sources=order.ordered(one.sources),
            action_items=InMemory(sorted(one.action_items, key=lambda item: item.position)),
            corrections=InMemory(sorted(one.corrections, key=lambda row: row.position)),
        )
        made.append(SearchDocument(incident=one.incident, **search.document_fields(preloaded)))
    return made


def reference_order(rows, known=None):
    """An Order of these reference rows ({model: rows}): one query per model, except those
    `known` ({model: database_order(...)}) already."""
    ranks = dict(known or {})
    for model, found in rows.items():
        if model not in ranks:
            ranks[model] = database_order(model.objects.filter(pk__in={row.pk for row in found}))
    return Order(ranks)


class Order:
    """Reference rows in their model's ordering as the database sorts them (its collation),
    as a related manager returns them."""

    def __init__(self, ranks):
        self.ranks = ranks  # {model: {pk: rank}}

    def ordered(self, rows, key=lambda row: row):
        """The rows sorted by the reference row each is (or names, `key`), each one once."""
        unique = {key(row).pk: row for row in rows}.values()
        return InMemory(sorted(unique, key=lambda row: self.ranks[type(key(row))][key(row).pk]))


class InMemory(list):
    """Rows already in memory, read like a related manager's preloaded rows."""

    def all(self):
        return self


class Preloaded:
    """An incident with its related rows in memory, as search.document_fields() reads one."""

    def __init__(self, incident, **related):
        self._incident = incident
        self.__dict__.update(related)

    def __getattr__(self, name):
        return getattr(self._incident, name)


def database_order(queryset):
    """{pk: rank} in the model's default ordering as the database sorts it (its collation)."""
    return {pk: rank for rank, pk in enumerate(queryset.values_list("pk", flat=True))}
