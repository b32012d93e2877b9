"""copying.py: rows written with COPY (on PostgreSQL) read back exactly as bulk_create's do."""

import warnings
from datetime import UTC, date, datetime

import pytest
from django.db import connection

from outages.interchange import copying
from outages.models import Incident, Source, TimelineEvent

# Everything COPY's text format must escape, and a NULL marker given as text.
TRICKY = "Tab\there, a line\nbreak, back\\slash, \\N, a carriage\r return, “quotes”, ünïcode"


def stored(model, objs, *without):
    """Each row as read back, by id, without the fields that tell the two sets apart."""
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in without]
    rows = model.objects.filter(pk__in=[obj.pk for obj in objs]).order_by("pk")
    return [tuple(row[name] for name in fields) for row in rows.values(*fields)]


def sources(prefix, count=3):
    return [
        Source(
            title=TRICKY,
            publisher=f"Publisher {number}",
            author="" if number else "Someone",
            published_on=date(2024, 1, number + 1) if number else None,
            url=f"https://example.com/{prefix}/{number}",
            kind=Source.Kind.NEWS,
        )
        for number in range(count)
    ]


def test_copied_rows_read_back_as_bulk_created_ones(incident):
    copied = copying.insert(Source, sources("copied"))
    created = Source.objects.bulk_create(sources("created"))
    assert all(source.pk for source in copied)
    assert stored(Source, copied, "id", "url") == stored(Source, created, "id", "url")
    assert [Source.objects.get(url=s.url).pk for s in copied] == [s.pk for s in copied]

    def events(first):
        return [
            TimelineEvent(
                incident=incident,  # the id is taken from the row, as bulk_create takes it
                position=first + number,
                occurred_at=datetime(2024, 5, 1, 12, number, tzinfo=UTC),
                kind=TimelineEvent.Kind.MITIGATION,
                description=TRICKY,
                description_html="<p>Tab</p>",
                source=copied[0] if number else None,
                is_key_event=bool(number),
            )
            for number in range(3)
        ]

    copied_events = copying.insert(TimelineEvent, events(100))
    created_events = TimelineEvent.objects.bulk_create(events(200))
    assert stored(TimelineEvent, copied_events, "id", "position") == stored(
        TimelineEvent, created_events, "id", "position"
    )


def test_ids_taken_for_copied_rows_are_not_given_again(db):
    copied = copying.insert(Source, sources("copied"))
    later = Source.objects.create(url="https://example.com/later", kind=Source.Kind.NEWS)
    assert later.pk > max(source.pk for source in copied)
    assert Source.objects.count() == 4


def test_links_are_written_once(incident):
    extra = copying.insert(Source, sources("linked", 2))
    pairs = [(incident.pk, source.pk) for source in extra]
    copying.link(Incident, "sources", pairs + pairs)
    linked = set(incident.sources.values_list("pk", flat=True))
    assert {source.pk for source in extra} <= linked
    assert Incident.sources.through.objects.filter(incident=incident).count() == len(linked)


def test_uses_copy_only_on_postgresql(db):
    assert copying.uses_copy(Source) == (connection.vendor == "postgresql")


def test_quick_values_are_what_get_db_prep_save_gives(db):
    """Every field of every model the COPY path writes, with values of every common type."""
    from django.apps import apps

    values = [
        None,
        "",
        "text",
        0,
        7,
        True,
        False,
        date(2024, 1, 2),
        datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    ]
    checked = 0
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if copying.unchanged_type(field) is None:
                continue  # always through get_db_prep_save
            quick = copying.database_value(field, connection)
            for value in values:
                try:  # a value the field refuses, or warns of (a naive datetime), is not written
                    with warnings.catch_warnings():
                        warnings.simplefilter("error")
                        expected = field.get_db_prep_save(value, connection)
                except Exception:
                    continue
                got = quick(value)
                assert (type(got), got) == (type(expected), expected), (field, value)
                checked += 1
    assert checked > 500


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's sequences")
def test_ids_taken_at_once_while_no_one_else_writes_are_those_nextval_gives(db):
    meta = TimelineEvent._meta
    before = copying.new_ids(connection, meta, 2)
    with copying.foreign_keys_checked_at_end([TimelineEvent]):
        assert meta.db_table in copying.HELD.get()
        held = copying.new_ids(connection, meta, 5)
    after = copying.new_ids(connection, meta, 2)

    assert before + held + after == list(range(before[0], before[0] + 9))
    assert copying.HELD.get() == frozenset()
