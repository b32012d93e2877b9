"""Typed relations between incidents: each kind read from both ends, on the incident page, the
API and the Markdown download; the model's rules on every path; drafts kept from readers; the
admin's inline, its revisions and roles; page-cache tags; query counts."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from reversion.models import Version

from outages import page_cache
from outages.models import Incident, IncidentRelation
from tests.factories import IncidentFactory, SourceFactory
from tests.test_search import admin_form_data

Kind = IncidentRelation.Kind
# kind -> (the wording on the incident it is stored on, the wording on the other end)
WORDING = {
    Kind.RECURRENCE: ("Recurrence of", "Recurred as"),
    Kind.CAUSED: ("Caused", "Caused by"),
    Kind.FOLLOW_UP: ("Follow-up of", "Followed up by"),
    Kind.SAME_TRIGGER: ("Same trigger as", "Same trigger as"),
}


@pytest.fixture
def pair(db):
    """Two published incidents, the first citing a source."""
    first = IncidentFactory(title="Provider outage", impacts=0, events=0)
    second = IncidentFactory(title="Customer outage", impacts=0, events=0)
    return first, second


def relate(incident, other, kind=Kind.CAUSED, note="The customer says so.", source=None):
    relation = IncidentRelation(
        incident=incident,
        other=other,
        kind=kind,
        note=note,
        source=source or incident.sources.first(),
    )
    relation.full_clean()
    relation.save()
    return relation


def related_section(client, incident):
    html = client.get(incident.get_absolute_url()).content.decode()
    return html.split('<section aria-labelledby="related"', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize("kind", list(Kind))
def test_each_kind_reads_from_both_ends(client, pair, kind):
    first, second = pair
    relate(first, second, kind, note="Named in the customer's report.")
    here, there = WORDING[kind]

    on_first = related_section(client, first)
    on_second = related_section(client, second)

    assert f'<span class="relation-kind">{here}</span>' in on_first
    assert second.get_absolute_url() in on_first and "Named in the customer" in on_first
    assert f'<span class="relation-kind">{there}</span>' in on_second
    assert first.get_absolute_url() in on_second
    api = client.get(reverse("outages:api_incident", args=[second.slug])).json()
    assert [(r["relation"], r["incident"]["slug"], r["stored_on"]) for r in api["relations"]] == [
        (there.lower(), first.slug, "other")
    ]
    markdown = client.get(reverse("outages:incident_markdown", args=[first.slug])).content
    assert f"- {here} [{second.title}]".encode() in markdown


def test_typed_relations_come_before_the_computed_ones(client, pair):
    first, second = pair
    relate(first, second)
    section = related_section(client, first)
    assert section.index("typed-relations") < section.index("Sharing a service")


@pytest.mark.parametrize("status", [Incident.Status.DRAFT, Incident.Status.WITHDRAWN])
def test_a_relation_to_an_unpublished_incident_is_not_shown_to_readers(client, pair, status):
    first, second = pair
    relate(first, second)
    Incident.objects.filter(pk=second.pk).update(status=status)

    assert "typed-relations" not in related_section(client, first)
    api = client.get(reverse("outages:api_incident", args=[first.slug])).json()
    assert api["relations"] == []
    markdown = client.get(reverse("outages:incident_markdown", args=[first.slug])).content
    assert second.title.encode() not in markdown
    cascade = client.get(reverse("outages:incident_cascade", args=[first.slug])).content
    assert second.title.encode() not in cascade


def test_staff_preview_of_a_draft_shows_its_relations(admin_client, pair):
    first, second = pair
    relate(first, second)
    Incident.objects.filter(pk=first.pk).update(status=Incident.Status.DRAFT)
    assert "typed-relations" in related_section(admin_client, first)


# --- The model's rules, on every path ---------------------------------------------------------


def test_an_incident_cannot_be_related_to_itself(pair):
    first, _ = pair
    with pytest.raises(ValidationError, match="itself"):
        relate(first, first)
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentRelation.objects.create(
            incident=first, other=first, kind=Kind.CAUSED, note="x", source=first.sources.first()
        )


@pytest.mark.parametrize("stored_on_other_end", [False, True])
def test_the_same_pair_and_kind_is_refused_either_way_round(pair, stored_on_other_end):
    first, second = pair
    relate(first, second, Kind.SAME_TRIGGER)
    incident, other = (second, first) if stored_on_other_end else (first, second)
    second.sources.add(first.sources.first())
    with pytest.raises(ValidationError, match="already"):
        relate(incident, other, Kind.SAME_TRIGGER, source=first.sources.first())
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentRelation.objects.create(
            incident=incident,
            other=other,
            kind=Kind.SAME_TRIGGER,
            note="again",
            source=first.sources.first(),
        )
    relate(incident, other, Kind.FOLLOW_UP, source=first.sources.first())  # another kind is fine


def test_the_source_must_be_one_either_incident_cites(pair):
    first, second = pair
    with pytest.raises(ValidationError, match="one of the two incidents cites"):
        relate(first, second, source=SourceFactory())
    relate(first, second, source=second.sources.first())  # the other end's source is fine


# --- The admin ------------------------------------------------------------------------------


def change_url(incident):
    return reverse("admin:outages_incident_change", args=[incident.pk])


def with_relation(data, other, kind="caused", note="Stated by the customer.", source=None):
    data = {**data, "relations-TOTAL_FORMS": "1", "relations-INITIAL_FORMS": "0"}
    data.update(
        {
            "relations-0-kind": kind,
            "relations-0-other": str(other),
            "relations-0-note": note,
            "relations-0-source": str(source or ""),
        }
    )
    return data


def test_saving_a_relation_in_the_admin_records_a_revision_of_the_incident(admin_client, pair):
    first, second = pair
    data = admin_form_data(admin_client.get(change_url(first)))
    source = first.sources.first()

    response = admin_client.post(
        change_url(first), with_relation(data, second.pk, source=source.pk)
    )

    assert response.status_code == 302, response.context["errors"]
    relation = IncidentRelation.objects.get()
    assert (relation.incident, relation.other, relation.kind) == (first, second, "caused")
    latest = Version.objects.get_for_object(first).first()
    stored = latest.revision.version_set.filter(object_id=str(relation.pk))
    assert stored.filter(content_type__model="incidentrelation").exists()


@pytest.mark.parametrize(
    "other, source, message",
    [
        ("999999", True, "Select a valid choice"),
        ("self", True, "itself"),
        ("other", False, "This field is required"),
        ("not a number", True, "Select a valid choice"),
    ],
)
def test_bad_relations_in_the_admin_are_refused_at_their_row(
    admin_client, pair, other, source, message
):
    first, second = pair
    data = admin_form_data(admin_client.get(change_url(first)))
    other = {"self": first.pk, "other": second.pk}.get(other, other)
    source = first.sources.first().pk if source else ""

    response = admin_client.post(change_url(first), with_relation(data, other, source=source))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not IncidentRelation.objects.exists()


def editor_client(client):
    editor = User.objects.create_user("ed", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    return client


def test_an_editor_adds_a_relation_to_a_draft(client, roles, pair):
    first, second = pair
    Incident.objects.filter(pk=first.pk).update(status=Incident.Status.DRAFT)
    client = editor_client(client)
    form = client.get(change_url(first))
    assert "relations-__prefix__-kind" in form.content.decode()  # rows can be added
    data = admin_form_data(form)
    source = first.sources.first().pk

    response = client.post(change_url(first), with_relation(data, second.pk, source=source))

    assert response.status_code == 302
    assert IncidentRelation.objects.get().other == second


def test_an_editor_cannot_add_a_relation_to_a_published_incident(client, roles, pair):
    first, second = pair
    client = editor_client(client)
    response = client.get(change_url(first))
    data = with_relation({"csrfmiddlewaretoken": "x"}, second.pk, source=first.sources.first().pk)

    client.post(change_url(first), data)

    assert "relations-__prefix__-kind" not in response.content.decode()  # read-only for editors
    assert not IncidentRelation.objects.exists()


# --- Page cache -----------------------------------------------------------------------------


def test_a_relation_change_invalidates_both_incidents_pages(pair):
    first, second = pair
    before = page_cache.incident_tags([first.pk])
    assert page_cache.incident_tag(second.slug) not in before
    relate(first, second)
    assert page_cache.incident_tag(second.slug) in page_cache.incident_tags([first.pk])
    assert page_cache.incident_tag(first.slug) in page_cache.incident_tags([second.pk])


def test_saving_in_the_admin_refreshes_the_other_incidents_cached_page(admin_client, client, pair):
    first, second = pair
    assert "typed-relations" not in related_section(client, second)  # now cached
    data = admin_form_data(admin_client.get(change_url(first)))
    source = first.sources.first().pk
    admin_client.post(change_url(first), with_relation(data, second.pk, source=source))
    assert "typed-relations" in related_section(client, second)


# --- Query counts ---------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 12])
def test_incident_page_queries_stay_flat_with_relations(
    client, pair, count, django_assert_num_queries
):
    first, _ = pair
    for kind in list(Kind)[: min(count, 4)]:
        for _ in range(max(1, count // 4)):
            other = IncidentFactory(impacts=0, events=0)
            relate(other, first, kind, source=other.sources.first())
    # As tests/test_incident_page.py counts them, less the impacts' services (there are no
    # impacts): 14 the related incidents in one query (none shares anything), the
    # relations of either end and every kind in one query of them (and the ledger's one: the
    # action items' history; no promise link names it, so the links are not read; and the
    # current version, to cite); and the three of a first read's stored article (reading it,
    # claiming it, storing it), and the two savepoints around claiming and storing (two
    # queries each).
    with django_assert_num_queries(21):
        client.get(first.get_absolute_url())


def test_restoring_an_earlier_revision_brings_back_its_relations(admin_client, pair):
    from outages import restoring, revisions

    first, second = pair
    data = admin_form_data(admin_client.get(change_url(first)))
    admin_client.post(change_url(first), data)  # a revision without relations
    without = Version.objects.get_for_object(first).first()
    source = first.sources.first().pk
    data = admin_form_data(admin_client.get(change_url(first)))
    admin_client.post(change_url(first), with_relation(data, second.pk, source=source))
    assert IncidentRelation.objects.count() == 1

    restoring.restore(first, without, User.objects.get(username="admin"))

    assert not IncidentRelation.objects.exists()
    assert revisions.child_models(Incident).count(IncidentRelation) == 1


def test_the_other_incidents_form_shows_the_relation_read_only(admin_client, pair):
    first, second = pair
    relate(first, second, note="Held by the first.")
    html = admin_client.get(change_url(second)).content.decode()
    assert "Relations other incidents hold to this one" in html and "Held by the first." in html
    assert 'name="relations_from_others-0-note"' not in html


def test_an_incident_another_relation_names_cannot_be_deleted(pair):
    # Deleting it would change the other incident's rows with no revision of that incident.
    first, second = pair
    relate(first, second)
    with pytest.raises(ProtectedError), transaction.atomic():
        second.delete()
    assert IncidentRelation.objects.filter(incident=first, other=second).exists()
    first.delete()  # its own relations go with it
    assert not IncidentRelation.objects.exists()
