"""Published versions of an incident at /incidents/<slug>/v/<n>/: made by every write path that
changes a published incident and by none that changes a draft, frozen as they were published,
citable after a withdrawal, and cached under the incident's tag."""

import importlib

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.management import call_command
from django.db import IntegrityError
from django.urls import reverse
from reversion.errors import RevertError
from reversion.models import Revision

from outages import revisions, workflow
from outages.models import Incident, IncidentVersion, Provider
from tests.shipped import load_shipped
from tests.test_every_write_is_a_revision import admin_save
from tests.test_import import NEW_INCIDENT, run, write
from tests.test_import_speed import many
from tests.test_sync import Served, recorded, sync


def numbers(incident):
    return list(IncidentVersion.objects.filter(incident=incident).values_list("number", flat=True))


def version_url(incident, number):
    return reverse("outages:incident_version", args=[incident.slug, number])


def article(html):
    """The frozen article in a version page."""
    return html.split('<div class="incident-layout">', 1)[1].split(
        '<section aria-labelledby="cite"'
    )[0]


# --- Which writes make a version --------------------------------------------------------------


def test_publishing_a_draft_makes_version_1_and_its_edits_none_before(
    admin_client, admin_user, incident
):
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.DRAFT, published_at=None)
    draft = Incident.objects.get(pk=incident.pk)
    admin_save(admin_client, draft, summary="Still a draft.")
    assert numbers(draft) == []

    workflow.apply(draft, "publish", admin_user)

    assert numbers(draft) == [1]
    version = IncidentVersion.objects.get(incident=draft)
    assert "Still a draft." in version.article_html
    assert version.title == draft.title


def test_each_admin_change_of_a_published_incident_makes_the_next_version(admin_client, incident):
    admin_save(admin_client, incident, summary="First words.")
    admin_save(admin_client, incident, summary="Second words.")

    assert numbers(incident) == [1, 2]
    first, second = IncidentVersion.objects.filter(incident=incident)
    assert "First words." in first.article_html and "Second words." not in first.article_html
    assert "Second words." in second.article_html
    assert second.published_at >= first.published_at


def test_a_save_that_changes_nothing_makes_no_version(admin_client, incident):
    admin_save(admin_client, incident, summary="Some words.")
    admin_save(admin_client, incident)

    assert numbers(incident) == [1]


def test_a_withdrawal_makes_no_version_and_a_new_publication_one(
    admin_client, admin_user, incident
):
    admin_save(admin_client, incident, summary="Some words.")
    workflow.apply(incident, "withdraw", admin_user, reason="Retracted.")
    assert numbers(incident) == [1]

    incident.refresh_from_db()
    workflow.apply(incident, "reopen", admin_user)
    incident.refresh_from_db()
    admin_save(admin_client, incident, summary="Rewritten while a draft.")
    workflow.apply(incident, "publish", admin_user)

    assert numbers(incident) == [1, 2]


def test_a_restore_makes_a_version(admin_client, incident):
    admin_save(admin_client, incident, summary="First words.")
    admin_save(admin_client, incident, summary="Second words.")
    first = revisions.versions(incident).last()

    url = reverse("admin:outages_incident_restore", args=[incident.pk, first.pk])
    assert admin_client.post(url).status_code == 302

    assert numbers(incident) == [1, 2, 3]
    assert "First words." in IncidentVersion.objects.get(incident=incident, number=3).article_html


@pytest.mark.parametrize(
    ("document", "options", "made"),
    [
        (NEW_INCIDENT, ["--publish"], 1),
        (NEW_INCIDENT, [], 0),  # imported as drafts
        (many(3), ["--publish"], 3),  # the bulk path
    ],
    ids=["published", "drafts", "bulk"],
)
def test_an_import_makes_a_version_of_each_incident_it_publishes(
    db, client, tmp_path, document, options, made
):
    run("import_incidents", write(tmp_path, document), *options)

    assert IncidentVersion.objects.count() == made
    assert set(IncidentVersion.objects.values_list("number", flat=True)) <= {1}
    for version in IncidentVersion.objects.select_related("incident"):
        # The bulk path's are frozen when first shown.
        html = client.get(version_url(version.incident, 1)).content.decode()
        version.refresh_from_db()
        assert version.incident.title in version.article_html
        assert version.article_html in html


def test_a_bulk_imported_version_shows_its_revision_after_a_later_edit(
    admin_client, client, tmp_path
):
    run("import_incidents", write(tmp_path, many(3)), "--publish")
    incident = Incident.objects.order_by("pk").first()
    assert IncidentVersion.objects.get(incident=incident).article_html == ""  # not frozen yet
    words = incident.summary_html.split("<p>")[1].split("</p>")[0]

    admin_save(admin_client, incident, summary="Rewritten after the import.")

    html = client.get(version_url(incident, 1)).content.decode()
    assert words in html and "Rewritten after the import." not in html
    assert "Rewritten after the import." in IncidentVersion.objects.get(number=2).article_html
    incident.refresh_from_db()
    assert incident.summary == "Rewritten after the import."  # the render's restore undone


def test_loading_the_fixtures_makes_version_1_of_each_published_incident(db):
    from glob import glob

    call_command("load_fixtures", *sorted(glob("fixtures/*.json")), verbosity=0)

    published = Incident.objects.published().count()
    assert published
    assert IncidentVersion.objects.filter(number=1).count() == published


def test_a_sync_that_adds_to_a_published_incident_makes_a_version(httpserver, fetch_locally, db):
    load_shipped()  # a real load of the fixtures: version 1 of each published incident
    known = Incident.objects.get(slug="gcp-networking-2019-06-02")
    assert numbers(known) == [1]
    served = Served(httpserver, recorded("sync_gcp_2019.json"), path="/incidents.json")

    sync(served.url, "google-cloud", "gcp")  # merges two updates and a source into it
    sync(served.url, "google-cloud", "gcp")  # nothing new

    assert numbers(known) == [1, 2]
    assert not IncidentVersion.objects.exclude(incident__status="published").exists()


# --- The version page ---------------------------------------------------------------------------


def test_a_version_page_does_not_change_when_the_incident_and_its_rows_do(
    admin_client, client, incident
):
    admin_save(admin_client, incident, summary="The words of version one.")
    provider_name = incident.provider.name
    before = article(client.get(version_url(incident, 1)).content.decode())

    assert client.get(version_url(incident, 1))["X-Page-Cache"] == "hit"

    admin_save(admin_client, incident, summary="The words of version two.", title="Renamed")
    admin_save(admin_client, Provider.objects.get(pk=incident.provider_id), name="Renamed Inc.")
    response = client.get(version_url(incident, 1))
    after = response.content.decode()

    assert article(after) == before
    assert "The words of version one." in before and provider_name in before
    assert response["X-Page-Cache"] == "miss"  # the banner changed: a new version came
    assert "Renamed Inc." not in after
    # The banner points at the current version and says what changed.
    assert "An older version" in after
    assert f'href="{incident.get_absolute_url()}"' in after
    assert 'href="' + version_url(incident, 2) + '"' in after
    assert "Summary changed" in after and "Title changed" in after


def test_the_newest_version_says_it_is_the_current_one(admin_client, client, incident):
    admin_save(admin_client, incident, summary="Words.")

    html = client.get(version_url(incident, 1)).content.decode()

    assert "The current version." in html
    assert html.count("<h1") == 1


def test_a_withdrawn_incident_s_versions_stay_citable_with_the_notice(
    admin_client, client, admin_user, incident
):
    admin_save(admin_client, incident, summary="Words.")
    assert "was withdrawn" not in client.get(version_url(incident, 1)).content.decode()
    assert client.get(version_url(incident, 1))["X-Page-Cache"] == "hit"

    workflow.apply(incident, "withdraw", admin_user, reason="The sources were retracted.")

    response = client.get(version_url(incident, 1))  # the withdrawal refreshed the stored page
    html = response.content.decode()
    assert response.status_code == 200
    assert "This incident was withdrawn." in html and "The sources were retracted." in html
    assert "Words." in html
    assert client.get(incident.get_absolute_url()).status_code == 410
    cite = reverse("outages:incident_version_citation", args=[incident.slug, 1, "bib"])
    assert client.get(cite).status_code == 200


@pytest.mark.parametrize("status", ["draft", "review"])
def test_an_incident_back_in_the_editors_hands_has_no_public_versions(
    admin_client, client, incident, status
):
    admin_save(admin_client, incident, summary="Words.")
    Incident.objects.filter(pk=incident.pk).update(status=status)

    assert client.get(version_url(incident, 1)).status_code == 404
    preview = admin_client.get(incident.get_absolute_url()).content.decode()
    assert "not public" in preview and 'aria-labelledby="cite"' not in preview


@pytest.mark.parametrize("path", ["v/2/", "v/0/", "v/1/cite.doc", "v/9/cite.bib"])
def test_unknown_versions_and_formats_are_not_found(admin_client, client, incident, path):
    admin_save(admin_client, incident, summary="Words.")

    assert client.get(f"{incident.get_absolute_url()}{path}").status_code == 404


@pytest.mark.parametrize("count", [1, 6])
def test_query_count_of_a_version_page_stays_flat(
    admin_client, client, make_incidents, count, django_assert_num_queries
):
    incident = make_incidents(count)[0]
    for number in range(count):
        admin_save(admin_client, incident, summary=f"Words number {number}.")
    cache.clear()
    # 1 the version with its incident, 2 the later versions with their revisions; when there
    # are: 3 the incident as stored in this version's revision and the newest's, 4-5 the rows
    # stored with each of those two revisions (what changed since).
    expected = 5 if count > 1 else 2
    with django_assert_num_queries(expected):
        assert client.get(version_url(incident, 1)).status_code == 200


def test_version_pages_may_be_kept_longer_by_purged_front_caches(
    admin_client, client, incident, settings
):
    admin_save(admin_client, incident, summary="Words.")
    settings.FRONT_CACHE_PURGE_URLS = ["http://127.0.0.1:9/"]
    settings.FRONT_CACHE_PURGE_IN_BACKGROUND = True

    control = client.get(version_url(incident, 1))["Cache-Control"]

    assert "s-maxage=86400" in control and "max-age=0" in control


def test_a_new_version_refreshes_the_incident_page(admin_client, client, incident):
    admin_save(admin_client, incident, summary="Words.")
    assert version_url(incident, 1) in client.get(incident.get_absolute_url()).content.decode()

    admin_save(admin_client, incident, summary="Other words.")

    assert version_url(incident, 2) in client.get(incident.get_absolute_url()).content.decode()


# --- Versions of incidents published before there were versions ------------------------------


def test_the_migration_makes_version_1_of_every_published_incident(client, make_incidents):
    *published, draft = make_incidents(3)
    Incident.objects.filter(pk=draft.pk).update(status=Incident.Status.DRAFT, published_at=None)
    migration = importlib.import_module("outages.migrations.0025_incident_versions")

    migration.first_versions(apps, None)

    assert IncidentVersion.objects.count() == 2
    for incident in published:
        version = IncidentVersion.objects.get(incident=incident)
        assert version.number == 1 and version.article_html == ""  # frozen when first shown
        assert incident.title in client.get(version_url(incident, 1)).content.decode()
        version.refresh_from_db()
        assert incident.title in version.article_html


def test_the_migration_takes_each_incident_s_latest_revision(admin_client, client, incident):
    admin_save(admin_client, incident, summary="As published.")
    IncidentVersion.objects.all().delete()
    migration = importlib.import_module("outages.migrations.0025_incident_versions")

    migration.first_versions(apps, None)
    Incident.objects.filter(pk=incident.pk).update(summary_html="<p>Changed unrecorded.</p>")

    version = IncidentVersion.objects.get(incident=incident)
    assert version.revision == revisions.versions(incident).first().revision
    html = client.get(version_url(incident, 1)).content.decode()
    assert "As published." in html and "Changed unrecorded." not in html


@pytest.mark.parametrize(
    "error",
    [
        RevertError("A field of the stored data no longer exists."),
        # For instance a row added since that another row now protects.
        IntegrityError("update or delete violates a foreign key constraint"),
    ],
    ids=["unreadable", "refused by the database"],
)
def test_a_revision_that_cannot_be_brought_back_freezes_the_incident_as_it_stands(
    admin_client, client, incident, monkeypatch, error
):
    admin_save(admin_client, incident, summary="As published.")
    IncidentVersion.objects.update(article_html="")  # as the migration leaves it

    def fails(revision, delete=False):
        raise error

    monkeypatch.setattr(Revision, "revert", fails)
    response = client.get(version_url(incident, 1))

    assert response.status_code == 200 and "As published." in response.content.decode()
