"""manage.py generate_sample_data: the corpus it writes, its determinism, and its refusals."""

import hashlib
from io import StringIO
from statistics import mean

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection
from django.db.models import Count

from outages import search
from outages.interchange import (
    copying,
    sample_data,
    sample_generator,
    sample_words,
    sample_writing,
)
from outages.models import (
    POSTMORTEM_SECTIONS,
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
from outages.rendering import render_markdown

INCIDENTS = 30


def generate(incidents=INCIDENTS, seed=7, **options):
    call_command("generate_sample_data", incidents=incidents, seed=seed, verbosity=0, **options)


@pytest.fixture
def sample(db):
    generate()


def digest():
    """A fingerprint of every sample row by its natural keys, so database ids do not count."""
    rows = [
        Provider.objects.values_list("slug", "name", "homepage_url", "description"),
        Service.objects.values_list("provider__slug", "slug", "name", "description"),
        Region.objects.values_list("provider__slug", "code", "name"),
        Customer.objects.values_list("slug", "name", "url", "description"),
        Source.objects.values_list(
            "url", "title", "publisher", "author", "published_on", "date_note", "kind"
        ),
        Incident.objects.values_list(
            "slug",
            "title",
            "provider__slug",
            "time_zone",
            "started_at",
            "detected_at",
            "mitigated_at",
            "resolved_at",
            "root_cause_category",
            "status",
            "published_at",
            "updated_at",
            *POSTMORTEM_SECTIONS,
            *[f"{name}_html" for name in POSTMORTEM_SECTIONS],
        ),  # fmt: skip
        Incident.services.through.objects.values_list("incident__slug", "service__slug"),
        Incident.regions.through.objects.values_list("incident__slug", "region__code"),
        Incident.sources.through.objects.values_list("incident__slug", "source__url"),
        TimelineEvent.objects.values_list(
            "incident__slug",
            "position",
            "occurred_at",
            "precision",
            "time_as_stated",
            "kind",
            "description",
            "description_html",
            "source__url",
            "is_key_event",
        ),  # fmt: skip
        CustomerImpact.objects.values_list(
            "incident__slug",
            "customer__slug",
            "level",
            "description",
            "description_html",
            "started_at",
            "ended_at",
            "source__url",
        ),  # fmt: skip
        CustomerImpact.services.through.objects.values_list(
            "customerimpact__incident__slug", "customerimpact__customer__slug", "service__slug"
        ),
        ActionItem.objects.values_list(
            "incident__slug", "position", "description", "kind", "status", "source__url"
        ),
        SearchDocument.objects.values_list(
            "incident__slug", "title", "summary", "sections", "timeline", "names", "sources"
        ),
    ]
    text = repr([sorted(map(repr, queryset)) for queryset in rows])
    return hashlib.sha256(text.encode()).hexdigest()


def test_writes_the_expected_rows(sample):
    incidents = Incident.objects.filter(slug__startswith=sample_data.SLUG_PREFIX)
    assert incidents.published().count() == Incident.objects.count() == INCIDENTS
    assert not incidents.filter(published_at=None).exists()
    events = list(incidents.annotate(count=Count("events")).values_list("count", flat=True))
    assert min(events) >= 5 and max(events) <= 30
    assert 7 <= mean(events) <= 14
    assert Customer.objects.count() == INCIDENTS // 10
    assert Provider.objects.count() == len(sample_words.PROVIDERS)
    for provider in Provider.objects.annotate(
        services_count=Count("services", distinct=True),
        regions_count=Count("regions", distinct=True),
    ):
        assert 10 <= provider.services_count <= 40
        assert 5 <= provider.regions_count <= 25
    sources = list(incidents.annotate(count=Count("sources")).values_list("count", flat=True))
    assert min(sources) >= 1 and max(sources) <= 3
    assert incidents.filter(services__isnull=False).distinct().count() == INCIDENTS
    assert CustomerImpact.objects.exists()
    assert CustomerImpact.objects.filter(services__isnull=False).exists()
    assert SearchDocument.objects.count() == INCIDENTS


def test_reports_what_it_created(db):
    out = StringIO()
    call_command("generate_sample_data", incidents=12, seed=1, stdout=out)
    events = TimelineEvent.objects.count()
    assert f"12/12 incidents, {events} events" in out.getvalue()
    assert f"Created 12 sample incidents, {events} events, 1 customer in " in out.getvalue()


def test_every_row_is_marked_as_sample_data(sample):
    assert all(
        name.startswith(sample_data.NAME_PREFIX)
        for model in [Provider, Customer]
        for name in model.objects.values_list("name", flat=True)
    )
    for incident in Incident.objects.all():
        assert incident.title.startswith(sample_data.NAME_PREFIX)
        assert incident.slug.startswith(sample_data.SLUG_PREFIX)
        assert sample_data.SYNTHETIC_NOTE in incident.summary
    assert not Source.objects.exclude(url__startswith="https://example.com/sample/").exists()


def test_the_same_seed_gives_the_same_data(db):
    generate()
    first = digest()
    generate(replace=True)
    assert digest() == first
    generate(seed=8, replace=True)
    assert digest() != first


def test_replace_deletes_earlier_sample_data(sample):
    generate(incidents=10, replace=True)
    assert Incident.objects.count() == 10
    assert Customer.objects.count() == 1
    assert not Source.objects.exclude(incidents__isnull=False).exists()


def test_refuses_to_add_to_sample_data_without_replace(sample):
    before = digest()
    with pytest.raises(CommandError, match="--replace"):
        generate(seed=8)
    assert digest() == before


@pytest.mark.parametrize("replace", [False, True])
def test_refuses_a_database_with_real_incidents(incident, replace):
    with pytest.raises(CommandError, match="not sample data"):
        generate(replace=replace)
    assert list(Incident.objects.all()) == [incident]
    assert not Provider.objects.filter(slug__startswith=sample_data.SLUG_PREFIX).exists()


def test_rows_pass_the_models_validation(sample):
    # full_clean() also checks the database constraints (milestone order, unique positions).
    for model in [
        Provider, Service, Region, Customer, Source, Incident, TimelineEvent, CustomerImpact,
        ActionItem,
    ]:  # fmt: skip
        for row in model.objects.order_by("pk")[:40]:
            row.full_clean()


def test_html_is_what_a_save_renders(sample):
    for incident in Incident.objects.all():
        for name in POSTMORTEM_SECTIONS:
            assert getattr(incident, f"{name}_html") == render_markdown(getattr(incident, name))
    for model in [TimelineEvent, CustomerImpact]:
        for row in model.objects.all():
            assert row.description_html == render_markdown(row.description)
    assert Incident.objects.filter(lessons_html__contains="<li>").exists()


def test_search_documents_are_those_update_index_makes(sample):
    columns = ["pk", "title", "summary", "sections", "timeline", "names", "sources", "vector"]
    written = list(SearchDocument.objects.order_by("pk").values_list(*columns))
    search.update_index(Incident.objects.values_list("pk", flat=True))
    assert list(SearchDocument.objects.order_by("pk").values_list(*columns)) == written


def test_search_finds_the_rare_and_common_words(sample):
    published = Incident.objects.published()
    for word in sample_data.RARE_WORDS:
        assert search.matching(published, word).count() == sample_data.RARE_WORD_INCIDENTS
    common = search.matching(published, sample_data.COMMON_WORD).count()
    assert INCIDENTS * 0.3 <= common <= INCIDENTS * 0.9
    # Only the summaries have it, so a benchmark knows where the matches are.
    assert common == Incident.objects.filter(summary__contains=sample_data.COMMON_WORD).count()


def test_pages_show_sample_data(sample, client):
    incident = Incident.objects.first()
    customer = Customer.objects.annotate(n=Count("impacts")).filter(n__gt=0).first()
    for url in [
        "/",
        "/incidents/",
        incident.get_absolute_url(),
        customer.get_absolute_url(),
        incident.provider.get_absolute_url(),
        f"/incidents/?q={sample_data.RARE_WORDS[0]}",
    ]:
        assert client.get(url).status_code == 200, url


def test_copy_writes_what_bulk_create_writes(db, monkeypatch):
    # On PostgreSQL the rows go in with COPY; bulk_create is the path of other databases.
    generate()
    copied = digest()
    monkeypatch.setattr(copying, "uses_copy", lambda model: False)
    generate(replace=True)
    assert digest() == copied


def foreign_keys():
    """Every foreign key of the database as PostgreSQL defines it (none on SQLite)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated "
            "FROM pg_constraint WHERE contype = 'f' ORDER BY 1, 2"
        )
        return cursor.fetchall()


def droppable_indexes():
    """The indexes of the bulk tables that back no constraint, with PostgreSQL's definition of
    each (none on SQLite)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = "
            "ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY 1, 2",
            [copying.tables_of(sample_data.BULK_TABLES)],
        )
        return cursor.fetchall()


@pytest.mark.parametrize("chunk", [1, 7])
@pytest.mark.parametrize("where", ["document_texts", "document_rows"])
def test_a_failure_part_way_writes_nothing(db, monkeypatch, chunk, where):
    # A chunk's search documents are made in two steps: their texts as the chunk is handed
    # to the writer, and their rows as it is written (on PostgreSQL by the writer's thread,
    # while the next chunk is being made). Failing in either, in the first chunk or a later one.
    keys, indexes = foreign_keys(), droppable_indexes()
    calls = []
    step = getattr(sample_writing, where)

    def fail(chunk_given, *args):
        calls.append(chunk_given)
        if len(calls) > chunk:
            raise RuntimeError("the disk is full")
        return step(chunk_given, *args)

    monkeypatch.setattr(sample_generator, "CHUNK_SIZE", 3)
    monkeypatch.setattr(sample_writing, where, fail)
    with pytest.raises(RuntimeError, match="the disk is full"):
        generate()
    for model in [Provider, Customer, Source, Incident, TimelineEvent, SearchDocument]:
        assert not model.objects.exists(), model
    assert foreign_keys() == keys
    assert droppable_indexes() == indexes


def test_keys_and_indexes_are_dropped_while_loading_and_back_after(db, monkeypatch):
    keys, indexes = foreign_keys(), droppable_indexes()
    during = []
    run = sample_generator.Generator.run

    def watched(generator):
        during.append((foreign_keys(), droppable_indexes()))
        return run(generator)

    monkeypatch.setattr(sample_generator.Generator, "run", watched)
    generate()
    # The same names and definitions as the migrations made.
    assert foreign_keys() == keys
    assert droppable_indexes() == indexes
    if connection.vendor == "postgresql":
        keys_during, indexes_during = during[0]
        tables = {table for table, *_ in set(keys) - set(keys_during)}
        assert {"outages_timelineevent", "outages_incident_sources"} <= tables
        assert "outages_correction" not in tables  # no row is written there
        dropped = {name for _, name, _ in set(indexes) - set(indexes_during)}
        assert {"search_document_vector", "incident_published_order"} <= dropped
        # A partial index is kept: its condition does not come back from its definition as
        # the migration wrote it.
        assert "impact_hits" not in dropped
        assert "impact_hits" in {name for _, name, _ in indexes}


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="keys are dropped while loading on PostgreSQL only"
)
def test_foreign_keys_check_the_rows_loaded(db, monkeypatch):
    # A row naming no row is refused when the keys come back, and nothing is kept.
    keys = foreign_keys()
    write = sample_writing.CopyWriter.write

    def broken(writer, chunk):
        row = chunk.impacts[0]
        chunk.impacts[0] = (row[0], 10**9, *row[2:])  # a customer id no row has
        return write(writer, chunk)

    monkeypatch.setattr(sample_writing.CopyWriter, "write", broken)
    with pytest.raises(IntegrityError, match="customer"):
        generate()
    assert not Incident.objects.exists()
    assert foreign_keys() == keys
