"""Drift on the incident page and in feeds: a source the provider revised after the archive kept
it is said near the top of the page, in its sources, in the incident's changes feed and in the
list feeds; a correction links the archived version that made its claim."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.urls import reverse

from outages import page_cache, revisions
from outages.models import ArchivedCopy, Correction, Incident, source_revisions
from outages.models.archive import latest_copies
from tests.factories import SourceFactory
from tests.test_archive_pages import FETCHED, PAGE_V1, PAGE_V2, archive, versions

ATOM = "{http://www.w3.org/2005/Atom}"


def changes_url(copy):
    return reverse("outages:archived_copy_changes", args=[copy.pk])


def html_of(client, incident):
    response = client.get(incident.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def drift_notice(html):
    if 'class="notice notice-drift"' not in html:
        return ""
    return html.split('class="notice notice-drift"', 1)[1].split("</div>", 1)[0]


def sources_section(html):
    return html.split('<section aria-labelledby="sources">', 1)[1].split("</section>", 1)[0]


# --- The rule --------------------------------------------------------------------------------


def test_revised_sources_are_those_whose_latest_copy_is_not_the_first(incident, source):
    once = SourceFactory(title="Once", publisher="Other")
    incident.sources.add(once)
    archive(once, PAGE_V1)
    first, second = versions(source, PAGE_V1, PAGE_V2)
    loaded = Incident.objects.prefetch_related("sources", latest_copies()).get(pk=incident.pk)

    assert source_revisions(loaded.sources.all()) == [(source, second)]
    assert list(ArchivedCopy.objects.revisions()) == [second]


def test_latest_copy_is_the_newest_fetch_of_each_source(incident, source):
    other = SourceFactory()
    incident.sources.add(other)
    *_, newest = versions(source, "<p>1</p>", "<p>2</p>", "<p>3</p>")
    only = archive(other, "<p>x</p>")
    loaded = Incident.objects.prefetch_related("sources", latest_copies()).get(pk=incident.pk)

    assert {s.pk: [c.pk for c in s.latest_copies] for s in loaded.sources.all()} == {
        source.pk: [newest.pk],
        other.pk: [only.pk],
    }


# --- The incident page -----------------------------------------------------------------------


def test_a_source_with_copies_links_its_latest_archived_copy(client, incident, source):
    copy = archive(source, PAGE_V1)

    section = sources_section(html_of(client, incident))

    assert f'<a href="{copy.get_absolute_url()}">Archived on 1 Dec 2025' in section
    assert "revised since" not in section


def test_a_revised_source_links_what_changed(client, incident, source):
    _, second = versions(source, PAGE_V1, PAGE_V2)

    section = sources_section(html_of(client, incident))

    assert f'<a href="{second.get_absolute_url()}">Archived on 2 Dec 2025' in section
    assert "revised since first archived" in section
    assert f'href="{changes_url(second)}"' in section


def test_sources_without_copies_say_nothing_of_the_archive(client, incident):
    assert "Archived on" not in sources_section(html_of(client, incident))


def test_drift_notice_names_the_publisher_the_source_and_when_the_archive_saw_it(
    client, incident, source
):
    assert drift_notice(html_of(client, incident)) == ""
    with page_cache.changing([incident.pk]):
        _, second = versions(source, PAGE_V1, PAGE_V2)

    html = html_of(client, incident)
    notice = drift_notice(html)

    assert (
        "Example Cloud revised “Summary of the event”, first seen in our archive on "
        '<time datetime="2025-12-02T09:30:00Z">2 Dec 2025</time>; '
        f'<a href="{changes_url(second)}">see what changed</a>.'
    ) in notice
    # Near the top: before the gist.
    assert html.index("notice-drift") < html.index('id="in-brief"')


def test_drift_notice_has_one_line_per_revised_source_oldest_change_first(client, incident, source):
    other = SourceFactory(title="Status update", publisher="Example Status")
    incident.sources.add(other)
    versions(source, "<p>a</p>", "<p>b</p>", "<p>c</p>")  # last seen changed on 3 Dec
    archive(other, "<p>x</p>", fetched_at=FETCHED - timedelta(days=5))
    archive(other, "<p>y</p>", number=2, fetched_at=FETCHED)  # 1 Dec

    notice = drift_notice(html_of(client, incident))

    assert notice.count("<p>") == 2
    assert notice.index("Example Status revised") < notice.index("Example Cloud revised")
    assert "3 Dec 2025" in notice


def test_a_correction_links_the_archived_version_that_made_the_claim(client, incident, source):
    first, _ = versions(source, PAGE_V1, PAGE_V2)
    Correction.objects.filter(incident=incident).update(claimed_in=first)

    html = html_of(client, incident)
    corrections = html.split('<section aria-labelledby="corrections">', 1)[1]

    assert f'(<a href="{first.get_absolute_url()}">as archived on 1 Dec 2025</a>)' in corrections


def test_a_correction_citing_a_copy_readers_cannot_open_has_no_link(client, incident):
    hidden = archive(SourceFactory(), PAGE_V1)  # no published incident cites its source
    Correction.objects.filter(incident=incident).update(claimed_in=hidden)

    assert hidden.get_absolute_url() not in html_of(client, incident)


def test_incident_page_links_its_changes_feed(client, incident):
    html = html_of(client, incident)
    feed = reverse("outages:incident_changes_atom", args=[incident.slug])

    assert '<link rel="alternate" type="application/atom+xml" title="Changes to this' in html
    assert html.count(f'href="{feed}"') == 2  # in the head and beside the change log


@pytest.mark.parametrize("count", [1, 6])
def test_incident_page_query_count_does_not_grow_with_copies(
    client, make_incidents, source, count, django_assert_num_queries
):
    incident = make_incidents(1)[0]
    for _ in range(count):
        other = SourceFactory()
        incident.sources.add(other)
        versions(other, *(f"<p>{n}</p>" for n in range(count)))
    versions(source, *(f"<p>{n}</p>" for n in range(count)))
    Correction.objects.filter(incident=incident).update(claimed_in=ArchivedCopy.objects.first())
    # As test_incident_page's count without related incidents, which counts the latest
    # archived copy of each source: one query, whatever the copies; the correction's copy comes
    # with it.
    with django_assert_num_queries(21):
        client.get(incident.get_absolute_url())


def test_a_new_copy_shows_on_the_cached_incident_page(client, incident, source):
    url = incident.get_absolute_url()
    assert client.get(url)["X-Page-Cache"] == "miss"
    assert client.get(url)["X-Page-Cache"] == "hit"

    # As the archive stores a copy: it refreshes the pages of the incidents citing the source.
    with page_cache.changing([incident.pk]):
        copy = archive(source, PAGE_V1)

    response = client.get(url)
    assert response["X-Page-Cache"] == "miss"
    assert f'href="{copy.get_absolute_url()}"' in response.content.decode()


# --- Feeds -----------------------------------------------------------------------------------


def atom_entries(response):
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    return [
        {
            "title": entry.findtext(f"{ATOM}title"),
            "link": entry.find(f"{ATOM}link").get("href"),
            "id": entry.findtext(f"{ATOM}id"),
            "updated": entry.findtext(f"{ATOM}updated"),
            "summary": entry.findtext(f"{ATOM}summary"),
        }
        for entry in root.iter(f"{ATOM}entry")
    ]


@pytest.fixture
def edited(incident):
    """Two revisions: where the record began, and a change readers see in the change log."""
    revisions.record([incident], "Created.")
    revisions.record([incident], "Changed Summary.")
    return incident


def test_changes_feed_has_the_change_log_and_each_source_revision(client, edited, source):
    _, second, third = versions(source, "<p>a</p>", "<p>b</p>", "<p>c</p>")
    feed = reverse("outages:incident_changes_atom", args=[edited.slug])

    entries = atom_entries(client.get(feed))

    assert [entry["title"] for entry in entries] == [
        "Incident 1: Changed Summary.",  # recorded now, newer than the archive's 2025 fetches
        "Example Cloud revised Summary of the event",
        "Example Cloud revised Summary of the event",
    ]
    change, newest, older = entries
    assert change["link"] == f"http://testserver{edited.get_absolute_url()}#changes"
    assert newest["link"] == f"http://testserver{changes_url(third)}"
    assert newest["updated"] == "2025-12-03T09:30:00+00:00"
    assert newest["id"] == f"urn:postmortems:archived-copy:{third.pk}"
    assert older["link"] == f"http://testserver{changes_url(second)}"
    assert f'href="http://testserver{changes_url(third)}"' in newest["summary"]


def test_changes_feed_of_an_unpublished_incident_is_not_found(client, incident):
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.DRAFT)

    assert client.get(f"/incidents/{incident.slug}/changes.atom").status_code == 404
    assert client.get("/incidents/no-such-incident/changes.atom").status_code == 404


def test_changes_feed_leaves_out_other_incidents_sources(client, make_incidents, source):
    first, _ = make_incidents(2)
    other = SourceFactory()
    versions(other, "<p>a</p>", "<p>b</p>")

    assert atom_entries(client.get(f"/incidents/{first.slug}/changes.atom")) == []


@pytest.mark.parametrize("count", [1, 6])
def test_changes_feed_query_count_does_not_grow(
    client, edited, source, count, django_assert_num_queries
):
    versions(source, *(f"<p>{n}</p>" for n in range(count + 1)))
    for number in range(count):
        revisions.record([edited], f"Change {number}.")
    # 1 the incident with its provider, 2 its public change log (revisions), 3 its sources'
    # revisions with their sources, without their bodies.
    with django_assert_num_queries(3):
        client.get(f"/incidents/{edited.slug}/changes.atom")


def test_list_feeds_carry_the_drift_line_of_a_revised_incident(client, make_incidents, source):
    make_incidents(2)
    _, second = versions(source, PAGE_V1, PAGE_V2)

    for url in ("/incidents/feed.atom", "/providers/example-cloud/feed.atom"):
        summaries = [entry["summary"] for entry in atom_entries(client.get(url))]
        assert len(summaries) == 2
        for summary in summaries:
            assert summary.startswith("<p>Example Cloud revised “Summary of the event”")
            assert f'href="{changes_url(second)}"' in summary


def test_list_feeds_say_nothing_of_a_source_archived_once(client, incident, source):
    archive(source, PAGE_V1)

    (entry,) = atom_entries(client.get("/incidents/feed.atom"))

    assert "revised" not in entry["summary"]


def test_a_revision_dates_the_list_feeds_entry_when_it_is_newer(client, incident, source):
    Incident.objects.filter(pk=incident.pk).update(updated_at=FETCHED)
    versions(source, PAGE_V1, PAGE_V2)  # the second fetched a day after

    (entry,) = atom_entries(client.get("/incidents/feed.atom"))

    assert entry["updated"] == "2025-12-02T09:30:00+00:00"


def test_an_addition_is_no_revision_and_a_revision_stays_told_after_later_additions(
    client, incident, source
):
    """A sync keeps a new version when the provider adds an update; only an edit of what it had
    said is drift. Once told, the drift stays on the page whatever is added after it."""
    archive(source, PAGE_V1, kind="sync")
    archive(source, PAGE_V2, number=2, kind="sync", revised=False)  # an update added

    assert drift_notice(html_of(client, incident)) == ""

    edited = archive(source, PAGE_V1, number=3, kind="sync", revised=True)
    archive(source, PAGE_V2, number=4, kind="sync", revised=False)  # added after the edit
    page_cache.bump(page_cache.incident_tags([incident.pk]))
    html = html_of(client, incident)

    assert changes_url(edited) in drift_notice(html)
    assert changes_url(edited) in sources_section(html)
