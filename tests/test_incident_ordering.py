"""One order of incidents everywhere: newest first, those whose start is not known last.

PostgreSQL sorts NULLs first in a descending order and SQLite last, so these tests matter most
when run on PostgreSQL (DATABASE_URL=postgres://…); they pass on both."""

import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from outages.interchange.yaml_export import dump, incidents_for_export
from outages.models import Incident
from outages.search import update_index
from outages.web.filters import sort

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def dated_and_undated(make_incidents, provider):
    dated = make_incidents(2)
    undated = Incident.objects.create(
        title="Undated incident",
        slug="undated-incident",
        provider=provider,
        root_cause_category=Incident.Cause.OTHER,
        status=Incident.Status.PUBLISHED,
    )
    update_index([undated.pk])
    # Newest first: incident-1 started a day after incident-2.
    return [incident.slug for incident in dated] + [undated.slug]


def positions(html, slugs):
    return [html.index(f"/incidents/{slug}/") for slug in slugs]


def test_the_model_orders_undated_incidents_last(dated_and_undated):
    assert list(Incident.objects.values_list("slug", flat=True)) == dated_and_undated
    assert list(Incident.objects.newest_first().values_list("slug", flat=True)) == (
        dated_and_undated
    )
    oldest = ["incident-2", "incident-1", "undated-incident"]
    assert list(Incident.objects.oldest_first().values_list("slug", flat=True)) == oldest


def test_home_page_lists_undated_incidents_after_dated_ones(client, dated_and_undated):
    html = client.get(reverse("outages:home")).content.decode()

    found = positions(html, dated_and_undated)
    assert found == sorted(found)


def test_incident_list_puts_undated_incidents_last(client, dated_and_undated):
    html = client.get(reverse("outages:incident_list")).content.decode()

    found = positions(html, dated_and_undated)
    assert found == sorted(found)


@pytest.mark.parametrize("order", ["newest", "oldest", "longest", "customers"])
def test_every_chosen_order_puts_undated_incidents_last(dated_and_undated, order):
    slugs = list(sort(Incident.objects.published(), order).values_list("slug", flat=True))

    assert slugs[-1] == "undated-incident"


def test_feed_lists_undated_incidents_last(client, dated_and_undated):
    feed = ET.fromstring(client.get(reverse("outages:incidents_atom")).content)

    links = [entry.find(f"{ATOM}link").get("href") for entry in feed.iter(f"{ATOM}entry")]
    assert [link.rstrip("/").rsplit("/", 1)[-1] for link in links] == dated_and_undated


def test_api_lists_undated_incidents_last(client, dated_and_undated):
    results = client.get(reverse("outages:api_incidents")).json()["results"]

    assert [row["slug"] for row in results] == dated_and_undated


def test_export_lists_undated_incidents_last(dated_and_undated):
    text = dump(incidents_for_export())

    found = [text.index(f"slug: {slug}\n") for slug in reversed(dated_and_undated[:2])]
    assert found == sorted(found)  # oldest first, as backups always were
    assert text.index("slug: undated-incident\n") > max(found)
