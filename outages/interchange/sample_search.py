"""Search documents of sample incidents, made from the rows in memory as search.update_index()
would make them from the database."""

from outages import search
from outages.interchange import copying
from outages.models import Customer, Region, SearchDocument, Service, Source


def index(drafts, stored_order):
    """Search documents for these incidents (`stored_order`: sample_generator's database order of
    services, regions and customers), the same as search.update_index() makes, from
    the rows in memory rather than read back: document_fields() reads an in-memory stand-in
    whose rows are in the order the database would return them."""
    sources = [source for draft in drafts for source in draft.sources]
    order = {
        **stored_order,
        Source: database_order(Source.objects.filter(pk__in=[s.pk for s in sources])),
    }

    def ordered(rows, model, key=lambda row: row):
        return InMemory(sorted(rows, key=lambda row: order[model][key(row).pk]))

    documents = []
    for draft in drafts:
        preloaded = Preloaded(
            draft.incident,
            services=ordered(draft.services, Service),
            regions=ordered(draft.regions, Region),
            impacts=ordered([i for i, _ in draft.impacts], Customer, lambda i: i.customer),
            # Timeline order (occurred_at, position) needs no collation.
            events=InMemory(sorted(draft.events, key=lambda e: (e.occurred_at, e.position))),
            sources=ordered(draft.sources, Source),
            action_items=InMemory(sorted(draft.action_items, key=lambda item: item.position)),
            corrections=InMemory(),  # sample incidents have none
        )
        documents.append(
            SearchDocument(incident=draft.incident, **search.document_fields(preloaded))
        )
    copying.insert(SearchDocument, documents)
    if search.is_postgresql():
        # The expression of search.update_index(); on SQLite, triggers fill the FTS table.
        SearchDocument.objects.filter(pk__in=[d.pk for d in documents]).update(vector=search.VECTOR)


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
