"""Full-text search over incidents: one index, one matching function, one snippet function.

PostgreSQL: a stored, weighted tsvector per incident (GIN-indexed), queried with websearch
syntax, ranked with ts_rank and highlighted with ts_headline. SQLite: an FTS5 table over the same
document columns, ranked with bm25() and highlighted with snippet(). The reader's query is
translated to FTS5 syntax with the websearch rules (quoted phrases, -word, or), and every word is
quoted, so no input can reach FTS5 as an operator.
"""

import html
import re
from dataclasses import dataclass
from functools import lru_cache

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import F, FloatField, Prefetch, Value
from django.db.models.expressions import RawSQL
from django.utils.html import escape, strip_tags
from django.utils.safestring import mark_safe

from outages.models import (
    Customer,
    CustomerImpact,
    Incident,
    Provider,
    Region,
    SearchDocument,
    Service,
    Source,
)

CONFIG = "english"
MAX_QUERY_LENGTH = 200

# Where a match can be, in the order a reader finds the most telling; labels for the page.
PLACES = [
    ("summary", "summary"),
    ("sections", "postmortem"),
    ("timeline", "timeline"),
    ("corrections", "corrections"),
    ("actions", "promised fixes"),
    ("names", "customer and service names"),
    ("sources", "sources"),
    ("title", "title"),
]
FTS_COLUMNS = [
    "title",
    "summary",
    "sections",
    "timeline",
    "names",
    "sources",
    "corrections",
    "actions",
]
FTS_WEIGHTS = {"title": 10.0, "summary": 4.0}  # the rest weigh 1, as in the tsvector's C

# Private-use characters mark matches in snippets; they cannot come from the document, which
# has them stripped, so escaping the snippet and then swapping them for <mark> is safe.
MARK_START, MARK_STOP = "\ue000", "\ue001"
NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ue000\ue001]")


# What update_index() stores on PostgreSQL: title weighs most, then the summary, then the rest.
VECTOR = (
    SearchVector("title", weight="A", config=CONFIG)
    + SearchVector("summary", weight="B", config=CONFIG)
    + SearchVector(
        "sections",
        "timeline",
        "corrections",
        "actions",
        "names",
        "sources",
        weight="C",
        config=CONFIG,
    )
)


def is_postgresql():
    return connection.vendor == "postgresql"


# --- Building the index -------------------------------------------------------------------


# One paragraph with no tag, entity or ampersand inside: most rendered texts. strip_tags leaves
# exactly its inside and unescape() changes nothing in it, so it needs no HTML parser.
PLAIN_PARAGRAPH = re.compile(r"<p>([^<>&]*)</p>")
# Likewise paragraphs and lists of such text (a postmortem's lists of impacts and steps):
# strip_tags leaves the text between the tags.
SIMPLE_TAG = r"</?(?:p|ul|ol|li)>"
SIMPLE_HTML = re.compile(rf"[^<>&]*(?:{SIMPLE_TAG}[^<>&]*)*")
SIMPLE_TAGS = re.compile(SIMPLE_TAG)


# Timeline entries repeat a great deal across incidents, and strip_tags parses HTML in Python.
@lru_cache(maxsize=50_000)
def plain(html_text):
    """Readable text of rendered HTML: no tags, entities decoded, whitespace folded."""
    paragraph = PLAIN_PARAGRAPH.fullmatch(html_text)
    if paragraph:
        text = paragraph[1]
    elif SIMPLE_HTML.fullmatch(html_text):
        text = SIMPLE_TAGS.sub("", html_text)
    else:
        text = html.unescape(strip_tags(html_text))
    return " ".join(text.split())


def clean(text):
    return NOT_TEXT.sub(" ", text)


def document_fields(incident):
    """The searchable text of one incident whose rows are preloaded (see update_index)."""
    return document_text(
        title=incident.title,
        summary_html=incident.summary_html,
        sections_html=[text for _, text in incident.postmortem_sections],
        timeline=[
            (event.description_html, event.time_as_stated) for event in incident.events.all()
        ],
        corrections=[(row.claim, row.fact) for row in incident.corrections.all()],
        actions=[item.description for item in incident.action_items.all()],
        provider=incident.provider.name,
        services=[(service.name, service.slug) for service in incident.services.all()],
        regions=[(region.code, region.name) for region in incident.regions.all()],
        customers=[impact.customer.name for impact in incident.impacts.all()],
        sources=[(source.title, source.publisher) for source in incident.sources.all()],
    )


def document_text(
    *,
    title,
    summary_html,
    sections_html,
    timeline,
    corrections,
    actions,
    provider,
    services,
    regions,
    customers,
    sources,
):
    """The searchable text of one incident from its values, each list in its relation's order:
    timeline (description_html, time_as_stated), corrections (claim, fact), services (name,
    slug), regions (code, name), sources (title, publisher). Bulk writers that hold the rows as
    plain values call it directly."""
    names = [provider]
    names += [f"{name} {slug}" for name, slug in services]
    names += [f"{code} {name}" for code, name in regions]
    names += customers
    fields = {
        "title": title,
        "summary": plain(summary_html),
        "sections": " ".join(plain(text) for text in sections_html),
        "timeline": " ".join(f"{plain(html_text)} {stated}" for html_text, stated in timeline),
        # A correction is found by the claim as published (what a reader may have read and
        # searches for) as well as by the fact that settles it; the labels tell the two apart
        # in a result's passage.
        "corrections": " · ".join(
            f"Claimed: {claim} Corrected: {fact}" for claim, fact in corrections
        ),
        "actions": " · ".join(actions),
        "names": " · ".join(names),
        "sources": sources_text(sources),
    }
    return {name: clean(text) for name, text in fields.items()}


def sources_text(sources):
    """The "sources" text of document_text(), before clean(): a bulk writer that knows the
    sources' order only later (from the database) adds it last."""
    return " · ".join(f"{title} ({publisher})" for title, publisher in sources)


def update_index(incident_ids):
    """Rebuild the search documents of these incidents from their current rows.

    Called explicitly by whatever changes incidents (the admin, the importer, `manage.py
    update_search_index` after fixtures), not from signals: it reads many tables.
    """
    incident_ids = list(incident_ids)
    incidents = Incident.objects.filter(pk__in=incident_ids).prefetch_related(
        Prefetch("services", queryset=Service.objects.only("name", "slug")),
        "regions",
        Prefetch("impacts", queryset=CustomerImpact.objects.select_related("customer")),
        "events",
        "sources",
        "corrections",
        "action_items",
    )
    documents = [
        SearchDocument(incident=incident, **document_fields(incident))
        for incident in incidents.select_related("provider")
    ]
    SearchDocument.objects.filter(pk__in=incident_ids).delete()
    write_documents(documents)


def write_documents(documents, send=None):
    """Store search documents of incidents that have none. On PostgreSQL each row is written
    once, its vector (VECTOR) computed in the same statement from arrays of the columns; on
    SQLite, triggers fill the FTS table. `send`: runs the statement, given as a function of a
    cursor, when it will (copying.Sender.send); by default, now."""
    if not documents:
        return
    if not is_postgresql():
        SearchDocument.objects.bulk_create(documents)
        return
    statement = DocumentInsert()
    arrays = [[getattr(document, name) for document in documents] for name in statement.columns]
    if send is not None:
        send(lambda cursor: statement.execute(cursor, arrays))
        return
    with connection.cursor() as cursor:
        statement.execute(cursor, arrays)


class DocumentInsert:
    """PostgreSQL's INSERT of new search documents (see write_documents), compiled once: it can
    then be run on any cursor of the connection, many times, with arrays of the columns."""

    def __init__(self):
        fields = [field for field in SearchDocument._meta.concrete_fields if field.name != "vector"]
        quote = connection.ops.quote_name
        query = SearchDocument.objects.all().query
        vector, self.vector_params = query.get_compiler(connection=connection).compile(
            VECTOR.resolve_expression(query)
        )
        self.columns = [field.attname for field in fields]  # the order of execute's arrays
        columns = ", ".join(quote(field.column) for field in fields)
        arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
        table = quote(SearchDocument._meta.db_table)
        # The arrays take the table's name, so that VECTOR's columns are read from them.
        self.sql = (
            f"INSERT INTO {table} ({columns}, {quote('vector')}) SELECT {columns}, {vector} "
            f"FROM unnest({arrays}) AS {table} ({columns})"
        )

    def execute(self, cursor, arrays):
        """Insert the documents whose values `arrays` holds, one list per column (columns)."""
        cursor.execute(self.sql, [*self.vector_params, *arrays])


# How an incident reaches each kind of reference row whose names and titles its document copies.
SHOWN_THROUGH = {
    Provider: "provider",
    Service: "services",
    Region: "regions",
    Customer: "impacts__customer",
    Source: "sources",
}


def incidents_showing(rows):
    """The incidents that show one of these reference rows: querysets, one for each kind of row
    and batch of 1000 (SQLite limits the parameters of one query)."""
    for model, lookup in SHOWN_THROUGH.items():
        pks = [row.pk for row in rows if type(row) is model and row.pk is not None]
        for batch in range(0, len(pks), 1000):
            yield Incident.objects.filter(**{f"{lookup}__in": pks[batch : batch + 1000]})


def update_index_showing(rows):
    """Rebuild the search documents of every incident that shows one of these reference rows
    (renaming a provider or retitling a source changes what its incidents are found by)."""
    ids = set()
    for found in incidents_showing(rows):
        ids.update(found.values_list("pk", flat=True))
    ids = sorted(ids)
    for batch in range(0, len(ids), 1000):
        update_index(ids[batch : batch + 1000])


def rebuild_index(batch_size=1000):
    ids = list(Incident.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        update_index(ids[start : start + batch_size])
    return len(ids)


# --- Reading the query ----------------------------------------------------------------------

TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Term:
    text: str
    negated: bool = False


def parse(query):
    """Split a websearch-style query into terms and OR markers (None)."""
    items = []
    for negation, phrase, word in TOKEN.findall(query):
        if word and word.lower() == "or":
            items.append(None)
            continue
        text = phrase if phrase or not word else word
        negated = bool(negation) or (bool(word) and word.startswith("-") and len(word) > 1)
        if word and word.startswith("-"):
            text = word[1:]
        words = re.findall(r"\w+", text)
        if words:
            items.append(Term(" ".join(words), negated))
    return items


def fts5_query(query):
    """The reader's query in FTS5 syntax, or None if it holds no word to look for."""
    parts, pending_or = [], False
    for item in parse(query):
        if item is None:
            pending_or = bool(parts)
            continue
        quoted = '"' + item.text.replace('"', '""') + '"'
        if item.negated:
            if parts:  # FTS5's NOT is binary: it needs something on its left.
                parts.append(f"NOT {quoted}")
        elif parts:
            parts.append(f"{'OR' if pending_or else 'AND'} {quoted}")
        else:
            parts.append(quoted)
        pending_or = False
    return " ".join(parts) or None


def normalise(query):
    """The query as searched: no control characters, bounded length, folded whitespace."""
    return " ".join(clean(query or "").split())[:MAX_QUERY_LENGTH]


# --- Matching and snippets ------------------------------------------------------------------


def matching(incidents, query):
    """Narrow an incident queryset to those matching `query`, annotated with `rank`."""
    query = normalise(query)
    if not any(item and not item.negated for item in parse(query)):
        return incidents.none().annotate(rank=Value(0.0, output_field=FloatField()))
    if is_postgresql():
        search_query = SearchQuery(query, search_type="websearch", config=CONFIG)
        return incidents.filter(search_document__vector=search_query).annotate(
            rank=SearchRank(F("search_document__vector"), search_query)
        )
    match = fts5_query(query)
    weights = ", ".join(str(FTS_WEIGHTS.get(column, 1.0)) for column in FTS_COLUMNS)
    # bm25() is smaller for better matches; negate it so that higher rank is better everywhere.
    rank = RawSQL(
        f"SELECT -bm25(outages_search_fts, {weights}) FROM outages_search_fts "
        "WHERE outages_search_fts MATCH %s AND rowid = outages_incident.id",
        (match,),
        output_field=FloatField(),
    )
    ids = RawSQL("SELECT rowid FROM outages_search_fts WHERE outages_search_fts MATCH %s", (match,))
    return incidents.filter(pk__in=ids).annotate(rank=rank)


@dataclass
class Snippet:
    html: str
    places: list


def highlight(text):
    """Escape a marked-up snippet and turn the match markers into <mark> elements."""
    escaped = escape(text).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")
    return mark_safe(escaped)  # noqa: S308 - escaped above; only our own markers become tags


def snippets(incidents, query):
    """{incident id: Snippet} for these incidents: the best passage and every place matched."""
    query = normalise(query)
    ids = [incident.pk for incident in incidents]
    if not ids or not any(item and not item.negated for item in parse(query)):
        return {}
    if is_postgresql():
        search_query = SearchQuery(query, search_type="websearch", config=CONFIG)
        options = {
            "config": CONFIG,
            "start_sel": MARK_START,
            "stop_sel": MARK_STOP,
            "max_words": 30,
            "min_words": 12,
            "max_fragments": 2,
            "fragment_delimiter": " … ",
        }
        rows = (
            SearchDocument.objects.filter(pk__in=ids)
            .annotate(
                **{
                    f"hl_{column}": SearchHeadline(column, search_query, **options)
                    for column, _ in PLACES
                }
            )
            .values("pk", *[f"hl_{column}" for column, _ in PLACES])
        )
        found = {row["pk"]: {column: row[f"hl_{column}"] for column, _ in PLACES} for row in rows}
    else:
        columns = ", ".join(
            f"snippet(outages_search_fts, {FTS_COLUMNS.index(column)}, %s, %s, ' … ', 24)"
            for column, _ in PLACES
        )
        params = [MARK_START, MARK_STOP] * len(PLACES)
        placeholders = ", ".join(["%s"] * len(ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid, {columns} FROM outages_search_fts WHERE outages_search_fts "
                f"MATCH %s AND rowid IN ({placeholders})",
                [*params, fts5_query(query), *ids],
            )
            found = {
                row[0]: {column: text for (column, _), text in zip(PLACES, row[1:], strict=True)}
                for row in cursor.fetchall()
            }
    result = {}
    for pk, texts in found.items():
        matched = [
            (column, label) for column, label in PLACES if MARK_START in (texts[column] or "")
        ]
        best = next((texts[column] for column, _ in matched if column != "title"), "")
        result[pk] = Snippet(
            html=highlight(best) if best else "",
            places=[label for _, label in matched],
        )
    return result
