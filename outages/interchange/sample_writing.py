"""Writing the sample generator's chunks of rows, with their search documents.

A chunk holds the rows of about a thousand incidents as plain tuples (COLUMNS), a row naming
another row of its chunk by its index there. Two writers, the same rows either way:

- PostgreSQL: COPY text made straight from the tuples (copying.copy), the ids of the rows others
  name taken from their sequences, and everything sent from one worker thread on the
  transaction's own connection, so that PostgreSQL parses, indexes and computes search vectors
  for one chunk while Python makes the next (psycopg2 lets go of Python's lock while it waits
  for the server). The generating thread also makes all of a chunk's text that needs no id
  (each row's COPY text but its ids, the search texts but their sources' order) before handing
  it over, so the worker computes next to nothing; it does not touch the database meanwhile.
- Other databases: model instances and bulk_create, one chunk at a time.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import connection
from django.db.models.expressions import RawSQL

from outages import search
from outages.interchange import copying
from outages.interchange.indexing import database_order
from outages.models import (
    POSTMORTEM_SECTIONS,
    ActionItem,
    CustomerImpact,
    Incident,
    SearchDocument,
    Source,
    TimelineEvent,
)
from outages.text import counted

# The columns (attnames) of each tuple; every other column takes its model's default.
COLUMNS = {
    Source: ["title", "publisher", "author", "published_on", "date_note", "url", "kind"],
    Incident: [
        "title", "slug", "provider_id", "time_zone", "started_at", "detected_at",
        "mitigated_at", "resolved_at", "root_cause_category", "status", "published_at",
        "updated_at", *POSTMORTEM_SECTIONS, *[f"{name}_html" for name in POSTMORTEM_SECTIONS],
    ],
    TimelineEvent: [
        "incident_id", "position", "occurred_at", "precision", "time_as_stated", "kind",
        "description", "description_html", "source_id", "is_key_event",
    ],
    CustomerImpact: [
        "incident_id", "customer_id", "level", "description", "description_html", "started_at",
        "ended_at", "source_id",
    ],
    ActionItem: ["incident_id", "position", "description", "kind", "status", "source_id"],
}  # fmt: skip
# Rows written in this order; the ids of those named by others (WITH_IDS) are known first.
ORDER = [Source, Incident, TimelineEvent, CustomerImpact, ActionItem]
WITH_IDS = [Source, Incident, CustomerImpact]
# Columns that name a row of the same chunk by its index there.
IN_CHUNK = {"incident_id": Incident, "source_id": Source}
# (model, many-to-many field, Chunk attribute): the left of each pair is a row of the model
# in the chunk, by its index there.
LINKS = [
    (Incident, "services", "incident_services"),
    (Incident, "regions", "incident_regions"),
    (Incident, "sources", "incident_sources"),
    (CustomerImpact, "services", "impact_services"),
]
# On the right of a link, a row of the chunk (its index) or a reference row (its id).
LINKED_IN_CHUNK = {"incident_sources": Source}


@dataclass
class Chunk:
    """Rows of some incidents: tuples in COLUMNS' order, links as (left index, right)."""

    sources: list = field(default_factory=list)
    incidents: list = field(default_factory=list)
    events: list = field(default_factory=list)
    impacts: list = field(default_factory=list)
    action_items: list = field(default_factory=list)
    incident_services: list = field(default_factory=list)
    incident_regions: list = field(default_factory=list)
    incident_sources: list = field(default_factory=list)
    impact_services: list = field(default_factory=list)
    # (incident index, search.document_text() arguments but sources, [source indexes]).
    documents: list = field(default_factory=list)

    def rows(self, model):
        return getattr(self, ROWS[model])


@dataclass
class Summary:
    incidents: int = 0
    events: int = 0
    impacts: int = 0
    action_items: int = 0
    sources: int = 0
    customers: int = 0
    seconds: float = 0.0

    def add(self, chunk):
        self.incidents += len(chunk.incidents)
        self.events += len(chunk.events)
        self.impacts += len(chunk.impacts)
        self.action_items += len(chunk.action_items)
        self.sources += len(chunk.sources)

    def __str__(self):
        return (
            f"Created {counted(self.incidents, 'sample incident')}, "
            f"{counted(self.events, 'event')}, {counted(self.customers, 'customer')} "
            f"in {self.seconds:.1f} s."
        )


ROWS = {
    Source: "sources",
    Incident: "incidents",
    TimelineEvent: "events",
    CustomerImpact: "impacts",
    ActionItem: "action_items",
}


def writer():
    """The writer for the default database."""
    if copying.uses_copy(Incident):
        return CopyWriter()
    return ModelWriter()


def resolver(ids, model):
    """A column value -> the value written: a chunk index -> its row's id."""
    if model is None:
        return None
    found = ids[model]
    return lambda index: None if index is None else found[index]


def document_texts(chunk):
    """(incident index, fields but "sources", [source indexes]) of each search document of the
    chunk: everything that needs no id."""
    return [
        (index, search.document_text(**text, sources=[]), sources)
        for index, text, sources in chunk.documents
    ]


def document_rows(chunk, texts, ids, source_ranks):
    """(incident id, fields) of each search document of the chunk, from its document_texts();
    `source_ranks`: {source id: rank in Source's order as the database sorts it}."""
    source_ids = ids[Source]
    for index, fields, sources in texts:
        ordered = sorted(sources, key=lambda i: source_ranks[source_ids[i]])
        shown = [chunk.sources[i][:2] for i in ordered]  # (title, publisher)
        yield ids[Incident][index], {**fields, "sources": search.clean(search.sources_text(shown))}


class ModelWriter:
    """bulk_create of model instances; the ids come back from the database."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def write(self, chunk):
        ids = {}
        for model in ORDER:
            columns = COLUMNS[model]
            resolve = [resolver(ids, IN_CHUNK.get(name)) for name in columns]
            rows = [
                model(
                    **{
                        name: value if to_id is None else to_id(value)
                        for name, to_id, value in zip(columns, resolve, row, strict=True)
                    }
                )
                for row in chunk.rows(model)
            ]
            copying.insert(model, rows)
            ids[model] = [row.pk for row in rows]
        for model, name, attribute in LINKS:
            left = ids[model]
            right = ids.get(LINKED_IN_CHUNK.get(attribute))
            pairs = [
                (left[a], b if right is None else right[b]) for a, b in getattr(chunk, attribute)
            ]
            copying.link(model, name, pairs)
        source_ranks = database_order(Source.objects.filter(pk__in=ids[Source]))
        search.write_documents(
            [
                SearchDocument(incident_id=pk, **fields)
                for pk, fields in document_rows(chunk, document_texts(chunk), ids, source_ranks)
            ]
        )


class CopyWriter:
    """COPY from the tuples, from a worker thread, one chunk behind the generator."""

    def __enter__(self):
        connection.ensure_connection()
        # The transaction's own connection (psycopg2's), used only by the worker while it
        # writes: the generating thread does not query until the last chunk is written.
        self.raw = connection.connection
        self.quote = connection.ops.quote_name
        self.documents = search.DocumentInsert()
        self.defaults = {model: default_text(model) for model in ORDER}
        self.columns = {model: column_split(model) for model in ORDER}
        sql, params = (
            Source.objects.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [[]]))
            .values_list("pk", flat=True)
            .query.sql_with_params()
        )
        self.source_order_sql = sql
        self.links = [
            (model, attribute, *link_table(model, name)) for model, name, attribute in LINKS
        ]
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pending = None
        return self

    def __exit__(self, *exc_info):
        try:
            self.wait()  # never leave the worker on the connection
        finally:
            self.pool.shutdown()
        return False

    def wait(self):
        pending, self.pending = self.pending, None
        if pending is not None:
            # Raises what the worker raised, a database's error as Django's (IntegrityError…).
            with connection.wrap_database_errors:
                pending.result()

    def write(self, chunk):
        # Everything that needs no id is made here, while the worker writes the chunk before:
        # Python computes on one core at a time, so what the worker computes, PostgreSQL waits
        # for.
        rows = {model: self.row_texts(model, chunk) for model in ORDER}
        texts = document_texts(chunk)
        self.wait()
        self.pending = self.pool.submit(self.send, chunk, rows, texts)

    def send(self, chunk, rows, texts):
        with self.raw.cursor() as cursor:
            ids = {}
            for model in WITH_IDS:
                ids[model] = copying.next_ids(
                    cursor, model._meta, len(chunk.rows(model)), self.quote
                )
            for model in ORDER:
                self.copy_rows(cursor, model, rows[model], ids)
            for model, attribute, table, columns in self.links:
                left = ids[model]
                right = ids.get(LINKED_IN_CHUNK.get(attribute))
                lines = "".join(
                    f"{left[a]}\t{b if right is None else right[b]}\n"
                    for a, b in dict.fromkeys(getattr(chunk, attribute))
                )
                copying.copy_text_rows(cursor, table, columns, lines, self.quote)
            cursor.execute(self.source_order_sql, [ids[Source]])
            ranks = {pk: rank for rank, (pk,) in enumerate(cursor.fetchall())}
            documents = list(document_rows(chunk, texts, ids, ranks))
            arrays = [
                [pk for pk, _ in documents]
                if name == "incident_id"
                else [fields[name] for _, fields in documents]
                for name in self.documents.columns
            ]
            self.documents.execute(cursor, arrays)

    def row_texts(self, model, chunk):
        """[(values of the row's IN_CHUNK columns, COPY text of its other columns)]."""
        text = copying.TEXT
        _, suffix = self.defaults[model]
        in_chunk, others = self.columns[model]
        return [
            (
                [row[i] for i in in_chunk],
                "\t".join([text[type(row[i])](row[i]) for i in others]) + suffix,
            )
            for row in chunk.rows(model)
        ]

    def copy_rows(self, cursor, model, rows, ids):
        """COPY the row_texts(), with the row's own id first, then its IN_CHUNK columns."""
        in_chunk, others = self.columns[model]
        names = COLUMNS[model]
        found = [ids[IN_CHUNK[names[i]]] for i in in_chunk]
        own = ids.get(model)
        lines = []
        for number, (indexes, rest) in enumerate(rows):
            head = [str(own[number])] if own else []
            head += [
                "\\N" if i is None else str(row_ids[i])
                for i, row_ids in zip(indexes, found, strict=True)
            ]
            head.append(rest)
            lines.append("\t".join(head))
        lines.append("")
        meta = model._meta
        columns = [meta.pk.column] if own else []
        columns += [meta.get_field(names[i]).column for i in in_chunk + others]
        columns += self.defaults[model][0]
        copying.copy_text_rows(cursor, meta.db_table, columns, "\n".join(lines), self.quote)


def column_split(model):
    """([positions of COLUMNS[model] naming a row of the chunk], [positions of the others])."""
    names = COLUMNS[model]
    in_chunk = [i for i, name in enumerate(names) if name in IN_CHUNK]
    return in_chunk, [i for i, name in enumerate(names) if name not in IN_CHUNK]


def default_text(model):
    """(columns, COPY text to append to each row) of the columns COLUMNS leaves out: each
    one's default, as a new instance has it and bulk_create writes it."""
    given = set(COLUMNS[model]) | {model._meta.pk.attname}
    template = model()
    fields = [field for field in model._meta.concrete_fields if field.attname not in given]
    texts = [
        copying.copy_text(copying.database_value(field, connection)(field.pre_save(template, True)))
        for field in fields
    ]
    return [field.column for field in fields], "".join(f"\t{text}" for text in texts)


def link_table(model, name):
    """(table, [its two columns]) of a many-to-many field."""
    field = model._meta.get_field(name)
    meta = field.remote_field.through._meta
    columns = [
        meta.get_field(field.m2m_field_name()).column,
        meta.get_field(field.m2m_reverse_field_name()).column,
    ]
    return meta.db_table, columns
