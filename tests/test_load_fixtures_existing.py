"""manage.py load_fixtures onto rows that exist: an incident is refused unless --update, and
then updated as an import updates it; a reference row is linked, never rewritten unless
--update-references; a row named twice is an error; every change is a revision, and search and
the page cache follow."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from reversion.models import Revision, Version

from outages.models import (
    Customer,
    CustomerImpact,
    Incident,
    Provider,
    Service,
    Source,
    TimelineEvent,
)
from tests.test_load_fixtures import (
    HEADER,
    INCIDENT,
    PROVIDER,
    SERVICE,
    SHIPPED,
    edit,
    load,
    snapshot,
    write,
)

ELB = "aws-elb-us-east-2012-12-24"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SOURCE = {
    "model": "outages.source",
    "fields": {
        "url": "https://example.com/postmortem",
        "title": "What happened",
        "publisher": "Example Cloud",
        "published_on": "2013-01-02",
        "kind": "official",
        "note": "The provider's own account.",
    },
}
CUSTOMER = {
    "model": "outages.customer",
    "fields": {"slug": "streamy", "name": "Streamy", "description": "Streams video."},
}


def event(position, description, **fields):
    return {
        "model": "outages.timelineevent",
        "fields": {
            "incident": ["example-outage"],
            "position": position,
            "occurred_at": "2012-12-24T20:24:00Z",
            "kind": "trigger",
            "description": description,
            **fields,
        },
    }


IMPACT = {
    "model": "outages.customerimpact",
    "fields": {
        "incident": ["example-outage"],
        "customer": ["streamy"],
        "level": "outage",
        "description": "Down all evening.",
        "services": [["example-cloud", "lb"]],
    },
}
EXAMPLE = [PROVIDER, SERVICE, SOURCE, CUSTOMER, edit(INCIDENT, sources=[[SOURCE["fields"]["url"]]])]
EXAMPLE += [event(1, "It began."), event(2, "It ended."), IMPACT]


def fails(*paths, **options):
    with pytest.raises(CommandError) as failure:
        load(*paths, **options)
    message = str(failure.value)
    assert message.startswith(HEADER)
    return message


def revisions(obj):
    return [version.revision for version in Version.objects.get_for_object(obj)]


@pytest.fixture
def stored(db, tmp_path):
    """The example incident with its rows and references, loaded, and the database's snapshot."""
    load(write(tmp_path, "example.json", EXAMPLE))
    return snapshot()


# --- Existing incidents -----------------------------------------------------------------------


def test_an_existing_incident_is_refused_and_named_with_the_way_forward(stored, tmp_path):
    path = write(tmp_path, "again.json", EXAMPLE)

    message = fails(path)

    assert (
        f'{path} object 5 (outages.incident ["example-outage"]): incident example-outage '
        "already exists; load_fixtures does not overwrite it. Pass --update to update it, or "
        "use import_incidents."
    ) in message
    assert message.count("already exists") == 1  # once, not again for each of its rows
    assert snapshot() == stored


def test_a_new_row_for_an_existing_incident_is_refused_too(stored, tmp_path):
    path = write(tmp_path, "more.json", [event(3, "Later.")])

    message = fails(path)

    assert (
        f'{path} object 1 (outages.timelineevent ["example-outage", 3]): incident '
        "example-outage already exists"
    ) in message
    assert snapshot() == stored


def test_update_changes_only_what_the_file_mentions(stored, tmp_path):
    incident = Incident.objects.get()
    Incident.objects.filter(pk=incident.pk).update(impact="Curated by an editor.")
    before = Incident.objects.get()
    retitled = {
        "model": "outages.incident",
        "fields": {"slug": "example-outage", "title": "A better title"},
    }
    path = write(tmp_path, "retitled.json", [retitled])

    load(path, update=True)

    after = Incident.objects.get()
    assert after.title == "A better title"
    # Neither blanked nor cleared: sections, milestones, publication and links stay.
    for name in ["impact", "summary", "summary_html", "started_at", "resolved_at", "status"]:
        assert getattr(after, name) == getattr(before, name), name
    assert after.published_at == before.published_at
    assert [s.slug for s in after.services.all()] == ["lb"]
    assert after.sources.count() == 1
    assert after.events.count() == 2 and after.impacts.count() == 1
    # The lock number moves, so a form opened before the load cannot overwrite it.
    assert after.version == before.version + 1
    assert after.updated_at > before.updated_at
    revision = revisions(after)[0]
    assert revision.comment == "Loaded from retitled.json"
    assert revision.version_set.count() == 1 + 2 + 1  # the incident, its events, its impact


def test_many_to_many_fields_change_only_when_given(stored, tmp_path):
    other = edit(SERVICE, slug="dns", name="DNS")
    path = write(tmp_path, "x.json", [other, edit(INCIDENT, services=[["example-cloud", "dns"]])])

    load(path, update=True)

    incident = Incident.objects.get()
    assert [service.slug for service in incident.services.all()] == ["dns"]
    assert incident.sources.count() == 1  # not in the file: left as it was

    load(write(tmp_path, "y.json", [edit(INCIDENT, services=[])]), update=True)

    assert not Incident.objects.get().services.exists()


def test_update_updates_rows_in_place_and_creates_new_ones(stored, tmp_path):
    first = TimelineEvent.objects.get(position=1)
    impact = CustomerImpact.objects.get()
    impact_level = {
        "model": "outages.customerimpact",
        "fields": {"incident": ["example-outage"], "customer": ["streamy"], "level": "degraded"},
    }
    changed = [event(1, "It began, *quietly*."), event(3, "Follow-up published."), impact_level]
    path = write(tmp_path, "rows.json", changed)

    load(path, update=True)

    again = TimelineEvent.objects.get(position=1)
    assert again.pk == first.pk
    assert again.description_html == "<p>It began, <em>quietly</em>.</p>"
    assert TimelineEvent.objects.get(position=2).description == "It ended."  # not removed
    assert TimelineEvent.objects.filter(position=3).exists()
    impact_after = CustomerImpact.objects.get()
    assert impact_after.pk == impact.pk and impact_after.level == "degraded"
    assert impact_after.description == "Down all evening."  # not mentioned: kept
    assert impact_after.services.count() == 1
    incident = Incident.objects.get()
    (revision, _) = revisions(incident)  # one for this load, one for the first
    assert revision.comment == "Loaded from rows.json"
    assert revision.version_set.count() == 1 + 3 + 1


def test_an_unchanged_incident_gets_no_revision_and_keeps_its_lock_number(stored, tmp_path):
    count = Revision.objects.count()
    out = StringIO()

    call_command(
        "load_fixtures", str(write(tmp_path, "same.json", EXAMPLE)), "--update", stdout=out
    )

    assert Revision.objects.count() == count
    assert snapshot() == stored
    assert out.getvalue() == (
        f"Loaded {len(EXAMPLE)} objects from 1 file: 0 created, 0 updated, "
        f"{len(EXAMPLE)} unchanged; 0 revisions recorded.\n"
    )


def test_a_bad_update_writes_nothing(stored, tmp_path):
    path = write(
        tmp_path,
        "x.json",
        [event(1, "Changed."), edit(INCIDENT, resolved_at="2012-12-24T20:00:00Z")],
    )

    with pytest.raises(CommandError) as failure:
        load(path, update=True)

    assert "resolved_at: Resolved at cannot be before started at." in str(failure.value)
    assert snapshot() == stored


# --- Existing reference rows ------------------------------------------------------------------


def test_an_existing_reference_row_is_linked_and_its_differences_are_conflicts(stored, tmp_path):
    changed = edit(SOURCE, title="What really happened", published_on=None)
    new_incident = edit(
        INCIDENT, slug="second-outage", sources=[[SOURCE["fields"]["url"]]], title="Second"
    )
    path = write(tmp_path, "reference.json", [PROVIDER, changed, new_incident])

    message = fails(path)

    name = f'{path} object 2 (outages.source ["https://example.com/postmortem"])'
    assert f'{name}: title "What happened" → "What really happened"' in message
    assert f'{name}: published_on "2013-01-02" → null' in message
    assert "pass --update-references to write the files' values" in message
    assert f"{path} object 1" not in message  # identical: simply unchanged
    assert snapshot() == stored


def test_update_references_writes_them_each_with_a_revision(stored, tmp_path):
    renamed = edit(PROVIDER, name="Example Cloud Platform")
    path = write(tmp_path, "reference.json", [renamed, edit(SOURCE, title="What really happened")])

    load(path, update_references=True)

    provider, source = Provider.objects.get(), Source.objects.get()
    assert provider.name == "Example Cloud Platform"
    assert source.title == "What really happened"
    assert source.note == "The provider's own account."
    for row in [provider, source]:
        latest = revisions(row)[0]
        assert latest.comment == "Loaded from reference.json"
        assert latest.version_set.count() == 1
    assert len(revisions(Service.objects.get())) == 1  # unchanged: only its first revision


def test_a_reference_row_giving_fewer_fields_is_unchanged(stored, tmp_path):
    path = write(tmp_path, "x.json", [{"model": "outages.customer", "fields": {"slug": "streamy"}}])

    load(path)

    assert Customer.objects.get().description == "Streams video."
    assert snapshot() == stored


# --- Rows named twice -------------------------------------------------------------------------


def test_an_incident_named_twice_in_one_run_is_refused_naming_both_places(db, tmp_path):
    first = write(tmp_path, "first.json", [PROVIDER, SERVICE, INCIDENT])
    second = write(tmp_path, "second.json", [edit(INCIDENT, title="Other")])

    message = fails(first, second)

    assert (
        f'{second} object 1 (outages.incident ["example-outage"]): the same row as {first} '
        'object 3, with other values (title "Example outage" → "Other"); give each row once '
        "in a run"
    ) in message
    assert not Incident.objects.exists()


def test_a_row_named_twice_in_one_file_is_refused_even_when_identical(db, tmp_path):
    path = write(tmp_path, "x.json", [PROVIDER, SERVICE, PROVIDER, event(1, "a"), event(1, "a")])

    message = fails(path)

    assert f'{path} object 3 (outages.provider ["example-cloud"]): the same row as {path} ' in (
        message
    )
    assert (
        f'{path} object 5 (outages.timelineevent ["example-outage", 1]): the same row as '
        f"{path} object 4; give each row once in a run"
    ) in message


def test_a_reference_row_repeated_across_files_must_be_identical(db, tmp_path):
    first = write(tmp_path, "first.json", [PROVIDER, SERVICE])
    same = write(tmp_path, "same.json", [PROVIDER])
    other = write(tmp_path, "other.json", [edit(PROVIDER, name="Example")])

    message = fails(first, other)

    assert (
        f'{other} object 1 (outages.provider ["example-cloud"]): the same row as {first} '
        'object 1, with other values (name "Example Cloud" → "Example"); give each row once in '
        "a run, or the same values in every file"
    ) in message
    assert not Provider.objects.exists()

    load(first, same)  # as each shipped incident file repeats the rows it uses

    assert Provider.objects.get().name == "Example Cloud"


# --- Revisions, search and the page cache -----------------------------------------------------


def test_every_shipped_row_gets_one_revision_naming_its_file_without_a_path(db):
    load(*SHIPPED)

    elb = Incident.objects.get(slug=ELB)
    (revision,) = revisions(elb)
    assert revision.comment == f"Loaded from {ELB}.json"
    assert revision.user is None
    held = {version.content_type.model for version in revision.version_set.all()}
    rows = {"timelineevent", "customerimpact", "actionitem", "actionitemstate", "correction"}
    assert held == {"incident"} | rows
    for model in [Provider, Service, Source, Customer]:
        for row in model.objects.all()[:5]:
            (revision,) = revisions(row)
            assert revision.comment.startswith("Loaded from ")
            assert "/" not in revision.comment
    assert not Revision.objects.filter(comment__contains="/").exists()


def test_loaded_incidents_are_found_by_search_at_once(db, client, tmp_path):
    # A word only in the fixture: found without update_search_index.
    path = write(tmp_path, "x.json", [PROVIDER, SERVICE, edit(INCIDENT, summary="A quokkafish.")])

    load(path)

    response = client.get("/incidents/", {"q": "quokkafish"})
    assert [incident.slug for incident in response.context["page"]] == ["example-outage"]


def test_a_reference_update_reaches_search(stored, client, tmp_path):
    load(write(tmp_path, "x.json", [edit(CUSTOMER, name="Wombatcast")]), update_references=True)

    response = client.get("/incidents/", {"q": "wombatcast"})
    assert [incident.slug for incident in response.context["page"]] == ["example-outage"]


def test_readers_see_a_load_at_once_though_the_page_was_cached(stored, client, tmp_path):
    assert client.get("/incidents/")["X-Page-Cache"] == "miss"
    assert client.get("/incidents/")["X-Page-Cache"] == "hit"

    load(write(tmp_path, "x.json", [edit(INCIDENT, title="Retitled outage")]), update=True)

    page = client.get("/incidents/")
    assert page["X-Page-Cache"] == "miss"
    assert "Retitled outage" in page.content.decode()


def test_the_shipped_fixtures_load_again_with_update_and_record_nothing(db):
    load(*SHIPPED)
    first, count = snapshot(), Revision.objects.count()

    load(*reversed(SHIPPED), update=True)

    assert snapshot() == first
    assert Revision.objects.count() == count


def test_the_shipped_reference_rows_reload_unchanged(db):
    load(*SHIPPED)
    first, count = snapshot(), Revision.objects.count()

    load(FIXTURES / "reference.json")  # nothing differs, so no --update-references is needed

    assert snapshot() == first
    assert Revision.objects.count() == count
