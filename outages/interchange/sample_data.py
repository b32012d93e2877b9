"""Synthetic incidents for benchmarks: realistic in shape, deterministic for a seed, clearly
marked as samples, and written in bulk.

Used by `manage.py generate_sample_data`. The same incident count and seed always give the same
rows (database ids aside): every choice comes from one random.Random(seed) and every time from a
fixed epoch, never from the clock.

Every row is marked, so it can be recognised and deleted again: slugs begin with "sample-",
provider, customer and incident names with "Sample ", source URLs with
https://example.com/sample/ (example.com is reserved for examples), and every incident's summary
says that it is synthetic.

Words for search benchmarks: COMMON_WORD is in the summary of about COMMON_WORD_SHARE of the
incidents; each of RARE_WORDS is in the timeline of exactly RARE_WORD_INCIDENTS incidents (all
of them when there are fewer). Neither appears anywhere else.
"""

import time

from django.db import connection, transaction

from outages import kept_counts, summaries
from outages.interchange import copying
from outages.interchange.sample_generator import Generator
from outages.interchange.sample_words import (
    COMMON_WORD,
    COMMON_WORD_SHARE,
    NAME_PREFIX,
    RARE_WORD_INCIDENTS,
    RARE_WORDS,
    SLUG_PREFIX,
    SYNTHETIC_NOTE,
    URL_PREFIX,
)
from outages.models import (
    ActionItem,
    Customer,
    CustomerImpact,
    Incident,
    Provider,
    Region,
    SearchDocument,
    Service,
    Source,
    TimelineEvent,
)
from outages.text import counted

__all__ = [
    "COMMON_WORD",
    "COMMON_WORD_SHARE",
    "NAME_PREFIX",
    "RARE_WORDS",
    "RARE_WORD_INCIDENTS",
    "SLUG_PREFIX",
    "SYNTHETIC_NOTE",
    "URL_PREFIX",
    "Refused",
    "delete_sample_data",
    "generate",
]

DELETE_CHUNK_SIZE = 5000
# The tables that take rows by the hundred thousand (their many-to-many tables too), whose
# foreign keys are checked once at the end on PostgreSQL, with those of the kept counts.
BULK_TABLES = [Source, Incident, TimelineEvent, CustomerImpact, ActionItem, SearchDocument]


class Refused(Exception):
    """The database is not one sample data may be written to; nothing was written."""


def sample_incidents():
    return Incident.objects.filter(slug__startswith=SLUG_PREFIX)


def sample_rows():
    """Every sample row outside the incidents, in the order they can be deleted."""
    providers = Provider.objects.filter(slug__startswith=SLUG_PREFIX)
    return [
        Source.objects.filter(url__startswith=URL_PREFIX),
        Customer.objects.filter(slug__startswith=SLUG_PREFIX),
        Service.objects.filter(provider__in=providers),
        Region.objects.filter(provider__in=providers),
        providers,
    ]


def check_database(replace):
    """Refuse a database holding real incidents, or sample data when not replacing it."""
    real = Incident.objects.exclude(slug__startswith=SLUG_PREFIX)
    if real.exists():
        raise Refused(
            f"The database holds {real.count()} incidents that are not sample data (for example "
            f"“{real.order_by('slug').first().slug}”). Sample data goes only into a database of "
            "its own, such as a scratch PostgreSQL database; nothing was written."
        )
    found = sample_incidents().count()
    if not replace and (found or any(rows.exists() for rows in sample_rows())):
        raise Refused(
            f"The database already holds sample data ({found} sample incidents). Rerun with "
            "--replace to delete it first; nothing was written."
        )


def delete_sample_data():
    """Delete every sample row; return how many incidents there were."""
    # Incidents first: their timelines, impacts and links go with them (CASCADE), which frees
    # the sources, customers, services and regions they PROTECT. A few thousand at a time,
    # since Django's delete() holds the incidents and impacts it deletes in memory.
    ids = list(sample_incidents().values_list("pk", flat=True))
    for first in range(0, len(ids), DELETE_CHUNK_SIZE):
        Incident.objects.filter(pk__in=ids[first : first + DELETE_CHUNK_SIZE]).delete()
    for rows in sample_rows():
        rows.delete()
    return len(ids)


def generate(incident_count, seed, *, replace=False, progress=None):
    """Write `incident_count` published sample incidents and everything they refer to, with
    their search documents, in one transaction. Raises Refused, writing nothing, if the
    database holds real incidents, or sample data and not `replace`."""
    started = time.monotonic()
    progress = progress or (lambda message: None)
    with transaction.atomic():
        check_database(replace)
        if replace:
            deleted = delete_sample_data()
            progress(f"  Deleted {counted(deleted, 'earlier sample incident')}.")
        # The incidents' tables hold no incident now (check_database, delete_sample_data).
        with (
            copying.foreign_keys_checked_at_end(BULK_TABLES + list(kept_counts.DEFINITIONS)),
            copying.indexes_built_at_end(BULK_TABLES),
        ):
            summary = Generator(incident_count, seed, progress, started).run()
            if connection.vendor == "postgresql":
                # The counts are read by joins over the tables just filled: planned without
                # their statistics (empty tables, as far as the planner knows), the rebuild
                # took as long as the generating at 100,000 incidents. ANALYZE sees this
                # transaction's rows, and its statistics are kept when it commits.
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            summaries.rebuild()  # the kept counts, from every incident now there
            if connection.vendor == "postgresql":
                # The kept counts' own tables, just filled: the pages read them. Every other
                # table is as the ANALYZE above saw it; analyzing all again took a second per
                # 10,000 incidents.
                tables = [model._meta.db_table for model in kept_counts.DEFINITIONS]
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {', '.join(map(connection.ops.quote_name, tables))}")
    summary.seconds = time.monotonic() - started
    return summary
