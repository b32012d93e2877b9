from datetime import timedelta
from html import unescape
from io import StringIO
from xml.etree import ElementTree

import pytest
from django.core.management import call_command
from django.utils.http import http_date

from outages import page_cache
from outages.models import Customer, CustomerImpact, Incident, TimelineEvent
from outages.search import update_index
from outages.web import results
from outages.web.feeds import xml_text
from tests.shipped import load_shipped

from .conftest import START

ATOM = "{http://www.w3.org/2005/Atom}"

FEEDS = {
    "incidents": "/incidents/feed",
    "provider": "/providers/example-cloud/feed",
    "service": "/providers/example-cloud/services/lb/feed",
    "region": "/providers/example-cloud/regions/east-1/feed",
    "customer": "/customers/streamy/feed",
}
EVERY_FEED = [f"{url}.{kind}" for url in FEEDS.values() for kind in ("atom", "rss")]


def parse(response):
    assert response.status_code == 200
    return ElementTree.fromstring(response.content)


def entries(response):
    """(title as text, link, id) of each Atom entry or RSS item, in feed order."""
    root = parse(response)
    if root.tag == f"{ATOM}feed":
        return [
            (
                entry.findtext(f"{ATOM}title"),
                entry.find(f"{ATOM}link").get("href"),
                entry.findtext(f"{ATOM}id"),
            )
            for entry in root.iter(f"{ATOM}entry")
        ]
    # An RSS title is HTML (outages.web.feeds): the text is what it shows.
    return [
        (unescape(item.findtext("title")), item.findtext("link"), item.findtext("guid"))
        for item in root.iter("item")
    ]


def titles(response):
    return [title for title, _, _ in entries(response)]


@pytest.mark.parametrize("url", EVERY_FEED)
def test_every_feed_lists_published_incidents_newest_first(
    client, make_incidents, url, service, region
):
    first, second, third = make_incidents(3)

    assert entries(client.get(url)) == [
        (
            incident.title,
            f"http://testserver{incident.get_absolute_url()}",
            f"urn:postmortems:incident:{incident.pk}",
        )
        for incident in (first, second, third)
    ]


def test_atom_entry_has_dates_author_categories_and_summary(client, incident):
    entry = parse(client.get("/incidents/feed.atom")).find(f"{ATOM}entry")

    assert entry.findtext(f"{ATOM}published") == "2012-12-24T20:24:00+00:00"
    assert entry.findtext(f"{ATOM}updated") == incident.updated_at.isoformat()
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Example Cloud"
    assert [category.get("term") for category in entry.iter(f"{ATOM}category")] == [
        "Operational error",
        "Load Balancer",
        "east-1",
    ]
    assert entry.find(f"{ATOM}summary").get("type") == "html"
    assert "<p>Summary of incident 1.</p>" in entry.findtext(f"{ATOM}summary")


def test_rss_item_has_a_guid_that_is_not_a_permalink_and_a_date(client, incident):
    root = parse(client.get("/incidents/feed.rss"))
    item = root.find("channel/item")

    assert item.find("guid").get("isPermaLink") == "false"
    assert item.findtext("pubDate") == "Mon, 24 Dec 2012 20:24:00 +0000"
    assert root.findtext("channel/link") == "http://testserver/incidents/"
    assert root.findtext("channel/title") == "postmortems: All incidents"


def test_guid_survives_a_change_of_slug(client, incident):
    before = entries(client.get("/incidents/feed.atom"))[0][2]
    incident.slug = "renamed"
    incident.save()

    assert entries(client.get("/incidents/feed.atom"))[0][2] == before


def test_description_carries_key_events_only(client, incident):
    event = incident.events.get(position=2)
    event.is_key_event = True
    event.description = "Traffic *restored*."
    event.save()

    summary = parse(client.get("/incidents/feed.atom")).findtext(f"{ATOM}entry/{ATOM}summary")

    assert "<li>12:24 PM PST · 2012-12-24 22:24 UTC <p>Traffic <em>restored</em>.</p></li>" in (
        summary
    )
    assert "Workflows disabled." not in summary


def test_entry_updated_moves_when_the_incident_is_touched(client, incident):
    updated = f"{ATOM}entry/{ATOM}updated"
    before = parse(client.get("/incidents/feed.atom")).findtext(updated)

    with page_cache.changing([incident.pk]):
        incident.touch()

    root = parse(client.get("/incidents/feed.atom"))
    assert root.findtext(updated) == incident.updated_at.isoformat() > before
    assert root.findtext(f"{ATOM}updated") == incident.updated_at.isoformat()


@pytest.mark.parametrize("url", EVERY_FEED)
def test_drafts_are_absent_from_every_feed(client, make_incidents, url, service, region):
    shown, draft = make_incidents(2)
    Incident.objects.filter(pk=draft.pk).update(status=Incident.Status.DRAFT)

    assert titles(client.get(url)) == ["Incident 1"]
    assert f"incident:{draft.pk}<" not in client.get(url).content.decode()


def test_customer_feed_carries_incidents_that_hit_the_customer(client, make_incidents):
    down, spared, unsure = make_incidents(3)
    CustomerImpact.objects.filter(incident=spared).update(level=CustomerImpact.Level.NOT_AFFECTED)
    CustomerImpact.objects.filter(incident=unsure).update(level=CustomerImpact.Level.AFFECTED)
    other = Customer.objects.create(name="Other", slug="other")
    CustomerImpact.objects.create(
        incident=spared, customer=other, level=CustomerImpact.Level.DEGRADED, description="Slow."
    )

    assert titles(client.get("/customers/streamy/feed.atom")) == ["Incident 1", "Incident 3"]
    assert titles(client.get("/customers/other/feed.rss")) == ["Incident 2"]
    root = parse(client.get("/customers/other/feed.atom"))
    assert root.findtext(f"{ATOM}title") == "postmortems: Incidents that hit Other"
    assert root.find(f"{ATOM}link").get("href") == "http://testserver/customers/other/"


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_query_string_narrows_the_incidents_feed(client, make_incidents, kind):
    first, second, third = make_incidents(3)
    Incident.objects.filter(pk=second.pk).update(root_cause_category=Incident.Cause.SOFTWARE_BUG)
    third.summary = "A thundering herd of retries."
    third.save()
    update_index([third.pk])

    assert titles(client.get(f"/incidents/feed.{kind}?cause=software-bug")) == ["Incident 2"]
    assert titles(client.get(f"/incidents/feed.{kind}?q=thundering")) == ["Incident 3"]
    assert titles(client.get(f"/incidents/feed.{kind}?sort=oldest")) == [
        "Incident 3",
        "Incident 2",
        "Incident 1",
    ]


def test_filtered_feed_is_titled_and_linked_by_its_filters(client, incident):
    root = parse(client.get("/incidents/feed.atom?cause=software-bug&page=2"))

    assert root.findtext(f"{ATOM}title") == (
        "postmortems: Incidents matching root cause “software-bug”"
    )
    assert root.find(f"{ATOM}link").get("href") == (
        "http://testserver/incidents/?cause=software-bug"
    )
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == (
        "http://testserver/incidents/feed.atom?cause=software-bug&page=2"
    )


@pytest.mark.parametrize("kind", ["atom", "rss"])
@pytest.mark.parametrize(
    "query", ["provider=nope", "year=abc", "cause=bogus", "since=2020-01-01&until=2019-01-01"]
)
def test_invalid_filter_gives_an_empty_valid_feed(client, incident, kind, query):
    assert entries(client.get(f"/incidents/feed.{kind}?{query}")) == []


@pytest.mark.parametrize(
    "url",
    [
        "/providers/nope/feed.atom",
        "/providers/nope/feed.rss",
        "/providers/example-cloud/services/nope/feed.atom",
        "/providers/nope/services/lb/feed.rss",
        "/providers/example-cloud/regions/nope/feed.atom",
        "/customers/nope/feed.atom",
        "/customers/nope/feed.rss",
    ],
)
def test_unknown_objects_are_404(client, service, region, customer, url):
    assert client.get(url).status_code == 404


def test_xml_text_drops_what_xml_cannot_carry():
    assert xml_text("a\x00b\x08c\x0bd\x0c\x0ee\x1ff\ud800g\udfffh\ufffei\uffffj\t\n\r") == (
        "abcdefghij\t\n\r"
    )


@pytest.mark.parametrize("url", EVERY_FEED)
def test_hostile_text_gives_well_formed_xml(client, incident, provider, service, customer, url):
    # No NUL: PostgreSQL refuses to store it (test_xml_text_drops_what_xml_cannot_carry has it).
    hostile = "\x01\x08\x0b\x0c\x1f\ufffe\uffff<script>alert(1)</script> ]]> & <![CDATA[x"
    incident.title = f"Bad{hostile}"
    incident.summary = f"Text{hostile}"
    incident.save()
    TimelineEvent.objects.filter(incident=incident).update(
        is_key_event=True, time_as_stated=hostile
    )
    for obj in (provider, service, customer):
        obj.name = f"Name{hostile}"
        obj.save()

    response = client.get(url)
    assert response.status_code == 200
    (title, _, _), *_ = entries(response)
    assert title == "Bad<script>alert(1)</script> ]]> & <![CDATA[x"
    assert entries(client.get(f"/incidents/feed.atom?q=x{hostile}")) == []


@pytest.mark.parametrize("count", [1, 5])
def test_query_counts_do_not_grow_with_incidents(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    TimelineEvent.objects.update(is_key_event=True)
    for kind in ("atom", "rss"):
        # 1 incidents with provider, 2 their services, 3 their regions, 4 their key events,
        # 5 their sources and 6 the sources' latest archived copies (the drift line).
        with django_assert_num_queries(6):
            client.get(f"/incidents/feed.{kind}")
        # 1 the provider, service, region or customer; 2-7 as above.
        for name in ("provider", "service", "region", "customer"):
            with django_assert_num_queries(7):
                client.get(f"{FEEDS[name]}.{kind}")


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_repeat_requests_get_304_until_an_incident_changes(client, make_incidents, kind):
    newer, older = make_incidents(2)
    for number, incident in enumerate((newer, older)):
        incident.updated_at = START + timedelta(days=30 + number)
        Incident.objects.filter(pk=incident.pk).update(updated_at=incident.updated_at)
    url = f"/incidents/feed.{kind}"

    response = client.get(url)

    # The newest updated_at, not the newest start, dates the feed.
    assert response["Last-Modified"] == http_date(older.updated_at.timestamp())
    etag, last_modified = response["ETag"], response["Last-Modified"]
    assert client.get(url, headers={"if-none-match": etag}).status_code == 304
    assert client.get(url, headers={"if-modified-since": last_modified}).status_code == 304

    with page_cache.changing([newer.pk]):
        newer.touch()

    assert client.get(url, headers={"if-none-match": etag}).status_code == 200
    assert client.get(url, headers={"if-modified-since": last_modified}).status_code == 200


def test_fixture_netflix_feed_carries_the_elb_incident(client, db):
    load_shipped()
    call_command("update_search_index", stdout=StringIO())
    elb = "http://testserver/incidents/aws-elb-us-east-2012-12-24/"

    assert elb in [link for _, link, _ in entries(client.get("/customers/netflix/feed.atom"))]
    assert elb in [link for _, link, _ in entries(client.get("/customers/netflix/feed.rss"))]
    assert elb in [link for _, link, _ in entries(client.get("/incidents/feed.atom?q=netflix"))]
    assert len(entries(client.get("/incidents/feed.rss"))) == Incident.objects.published().count()


def test_a_search_feed_ranks_only_when_its_page_does(client, make_incidents, monkeypatch):
    incidents = make_incidents(3)
    last = incidents[-1]
    last.title = "Incident incident incident"
    last.save()
    update_index([last.pk])
    ranked = titles(client.get("/incidents/feed.atom?q=incident"))
    monkeypatch.setattr(results, "LIMIT", 2)

    newest = titles(client.get("/incidents/feed.rss?q=incident"))  # not cached

    assert ranked[0] == "Incident incident incident"
    assert newest == ["Incident 1", "Incident 2", "Incident incident incident"]
