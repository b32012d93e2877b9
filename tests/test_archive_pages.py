"""What readers see of the source archive: an archived copy as text under its banner, its raw
bytes served inert, and what changed from the version before; none of it unless a published
incident cites the copy's source."""

import hashlib
import re
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from outages import page_cache
from outages.models import ArchivedCopy, Incident
from tests.factories import SourceFactory

FETCHED = datetime(2025, 12, 1, 9, 30, tzinfo=UTC)
PAGE_V1 = """<html><head><title>Summary</title><script>window.x = 1</script></head><body>
<h1>Summary of the event</h1><p>A maintenance process removed state.</p>
<p>Recovery finished at 12:05 PST.</p></body></html>"""
PAGE_V2 = PAGE_V1.replace("12:05 PST", "12:45 PST").replace(
    "</body>", "<p>We are sorry for the impact.</p></body>"
)


def archive(
    source, body, *, number=1, fetched_at=FETCHED, content_type="text/html", url=None, **more
):
    """An ArchivedCopy as the archive stores it (the body zlib-compressed), for tests: a page
    as fetched, whose later versions are revisions, unless `more` says otherwise."""
    body = body.encode() if isinstance(body, str) else body
    return ArchivedCopy.objects.create(
        url=url or source.url,
        source=source,
        number=number,
        revised=more.pop("revised", number > 1),
        **more,
        fetched_at=fetched_at,
        http_status=200,
        content_type=content_type,
        sha256=hashlib.sha256(body).hexdigest(),
        size=len(body),
        body=zlib.compress(body),
    )


def versions(source, *bodies, content_type="text/html"):
    """Copies 1, 2, … of a source, a day apart."""
    return [
        archive(
            source,
            body,
            number=number,
            fetched_at=FETCHED + timedelta(days=number - 1),
            content_type=content_type,
        )
        for number, body in enumerate(bodies, start=1)
    ]


@pytest.fixture
def copies(incident, source):
    return versions(source, PAGE_V1, PAGE_V2)


def html_of(response):
    assert response.status_code == 200
    return response.content.decode()


# --- The copy page ---------------------------------------------------------------------------


def test_copy_page_has_a_banner_saying_what_and_when(client, copies, source):
    first, second = copies

    html = html_of(client.get(first.get_absolute_url()))

    assert f'Archived copy of <a href="{source.url}"' in html
    assert "1 Dec 2025, 09:30 UTC" in html
    assert "version 1 of 2; HTTP status 200; text/html." in html
    assert f'href="{reverse("outages:archived_copy_raw", args=[first.pk])}"' in html
    assert f'href="{second.get_absolute_url()}"' in html  # the other version


def test_copy_page_shows_the_text_not_the_providers_html(client, copies):
    html = html_of(client.get(copies[0].get_absolute_url()))

    assert "A maintenance process removed state." in html
    assert "<h1>Summary of the event</h1>" not in html  # the provider's markup is not served
    assert "<p>Summary of the event</p>" in html  # each line of its text is a paragraph
    assert "window.x" not in html  # scripts are not text to read


def test_copy_text_is_escaped(client, incident, source):
    copy = archive(source, "<p>&lt;img src=x onerror=alert(1)&gt; &amp; more</p>")

    html = html_of(client.get(copy.get_absolute_url()))

    assert "&lt;img src=x onerror=alert(1)&gt; &amp;amp; more" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; more" in html
    assert "<img src=x" not in html


def test_copy_page_links_the_incidents_citing_the_source_and_what_changed(client, copies, incident):
    first, second = copies

    html = html_of(client.get(second.get_absolute_url()))

    assert f'href="{incident.get_absolute_url()}"' in html
    assert "version 2 of 2" in html
    assert f'href="{reverse("outages:archived_copy_changes", args=[second.pk])}"' in html
    # Version 1 has nothing before it: no "what changed" link of its own.
    assert reverse("outages:archived_copy_changes", args=[first.pk]) not in html


def test_json_copies_are_laid_out_one_value_a_line(client, incident, source):
    copy = archive(source, '{"b": 1, "a": "x"}', content_type="application/json")

    html = html_of(client.get(copy.get_absolute_url()))

    assert "{\n  &quot;a&quot;: &quot;x&quot;,\n  &quot;b&quot;: 1\n}" in html


def test_a_copy_that_is_not_text_is_offered_raw_only(client, incident, source):
    copy = archive(source, b"%PDF-1.4 \x00\x01", content_type="application/pdf")

    html = html_of(client.get(copy.get_absolute_url()))

    assert "This copy is not text (application/pdf)" in html
    assert "PDF-1.4" not in html


# --- Who may see a copy ----------------------------------------------------------------------


def test_copies_of_sources_no_published_incident_cites_are_not_found(client, copies, incident):
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.DRAFT)

    for copy in copies:
        for name in ("archived_copy", "archived_copy_changes", "archived_copy_raw"):
            assert client.get(reverse(f"outages:{name}", args=[copy.pk])).status_code == 404


def test_copies_of_an_uncited_source_are_not_found(client, incident):
    copy = archive(SourceFactory(), PAGE_V1)

    assert client.get(copy.get_absolute_url()).status_code == 404


def test_copies_of_no_source_are_not_found(client, incident, source):
    # What a sync reads: a whole status page, kept with no source.
    copy = archive(None, "{}", url="https://status.example.com/history.json")

    assert client.get(copy.get_absolute_url()).status_code == 404
    assert client.get(f"/archive/{copy.pk}/raw").status_code == 404


def test_unknown_copies_are_not_found(client, db):
    assert client.get("/archive/999999/").status_code == 404
    assert client.get("/archive/999999/changes/").status_code == 404
    assert client.get("/archive/999999/raw").status_code == 404


def test_a_withdrawn_incident_takes_its_copies_down(client, copies, incident):
    assert client.get(copies[0].get_absolute_url()).status_code == 200

    with page_cache.changing([incident.pk]):
        Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.WITHDRAWN)

    assert client.get(copies[0].get_absolute_url()).status_code == 404


def test_staff_see_copies_readers_cannot(admin_client, incident):
    copy = archive(None, "{}", url="https://status.example.com/history.json")

    assert admin_client.get(copy.get_absolute_url()).status_code == 200
    assert admin_client.get(f"/archive/{copy.pk}/raw")["Cache-Control"] == "private, no-store"


def test_public_rule_is_published_incidents_citing_the_source(incident, source, copies):
    other = archive(SourceFactory(), PAGE_V1)
    sync = archive(None, "{}", url="https://status.example.com/history.json")

    assert set(ArchivedCopy.objects.public()) == set(copies)
    assert other not in ArchivedCopy.objects.public()
    assert sync not in ArchivedCopy.objects.public()


# --- The raw copy ----------------------------------------------------------------------------


def test_raw_copy_is_the_stored_bytes_served_inert(client, copies):
    response = client.get(reverse("outages:archived_copy_raw", args=[copies[0].pk]))

    assert response.status_code == 200
    assert response.content == PAGE_V1.encode()
    assert response["Content-Type"] == "text/html"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="example.com-version-1.html"'
    policy = response["Content-Security-Policy"]
    # The site's policy (script-src 'self') did not replace it: nothing may run at all.
    assert "sandbox" in policy
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert response["X-Robots-Tag"] == "noindex"


def test_raw_copy_keeps_its_sandbox_when_asked_again(client, copies):
    # A page-cached response would be replayed with the site's policy instead of the sandbox.
    url = reverse("outages:archived_copy_raw", args=[copies[0].pk])

    for _ in range(2):
        response = client.get(url)
        assert "sandbox" in response["Content-Security-Policy"]
        assert "X-Page-Cache" not in response


@pytest.mark.parametrize(
    "stored, served",
    [
        ("application/json; charset=utf-8", "application/json; charset=utf-8"),
        ("", "application/octet-stream"),
        ("text/html\u2028x", "application/octet-stream"),
        ("not a type", "application/octet-stream"),
    ],
)
def test_raw_copy_serves_its_stored_type_or_bytes_to_download(
    client, incident, source, stored, served
):
    copy = archive(source, b"{}", content_type=stored)

    response = client.get(reverse("outages:archived_copy_raw", args=[copy.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == served


def test_raw_copy_only_answers_get_and_head(client, copies):
    url = reverse("outages:archived_copy_raw", args=[copies[0].pk])

    assert client.post(url).status_code == 405


# --- What changed ----------------------------------------------------------------------------


def test_changes_page_marks_added_and_removed_lines_in_words_and_signs(client, copies):
    html = html_of(client.get(reverse("outages:archived_copy_changes", args=[copies[1].pk])))

    assert "2 lines added, 1 line removed." in html
    assert (
        '<li class="diff-removed"><span class="diff-mark" aria-hidden="true">−</span><del>'
        '<span class="visually-hidden">Removed: </span>Recovery finished at 12:05 PST.</del></li>'
    ) in html
    assert (
        '<li class="diff-added"><span class="diff-mark" aria-hidden="true">+</span><ins>'
        '<span class="visually-hidden">Added: </span>Recovery finished at 12:45 PST.</ins></li>'
    ) in html
    assert "We are sorry for the impact." in html
    assert f'href="{copies[0].get_absolute_url()}"' in html
    assert f'href="{copies[1].get_absolute_url()}"' in html


def test_changes_page_of_the_first_version_is_not_found(client, copies):
    assert (
        client.get(reverse("outages:archived_copy_changes", args=[copies[0].pk])).status_code == 404
    )


def test_changes_page_says_so_when_only_markup_changed(client, incident, source):
    _, second = versions(source, "<p>Same words.</p>", "<div><p>Same words.</p></div>")

    html = html_of(client.get(reverse("outages:archived_copy_changes", args=[second.pk])))

    assert "The text is the same in both versions" in html


# --- Queries and the page cache --------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 12])
def test_copy_pages_query_counts_do_not_grow(
    client, make_incidents, source, count, django_assert_num_queries
):
    make_incidents(count)  # every one cites the source
    copies = versions(source, *(f"<p>Version {n}.</p>" for n in range(count)))
    # 1 the copy with its source (public: a subquery), 2 the versions of its URL without their
    # bodies, 3 the published incidents citing its source with their providers.
    with django_assert_num_queries(3):
        client.get(copies[-1].get_absolute_url())
    # 1 the copy with its source, 2 the version before it, 3 the citing incidents.
    with django_assert_num_queries(3):
        client.get(reverse("outages:archived_copy_changes", args=[copies[-1].pk]))
    # 1 the copy.
    with django_assert_num_queries(1):
        client.get(reverse("outages:archived_copy_raw", args=[copies[-1].pk]))


def test_copy_pages_are_cached_until_a_new_version_comes(client, copies, incident, source):
    url = copies[1].get_absolute_url()
    assert client.get(url)["X-Page-Cache"] == "miss"
    assert client.get(url)["X-Page-Cache"] == "hit"

    # As the archive stores a new version: the pages of the incidents citing the source miss.
    with page_cache.changing([incident.pk]):
        third = archive(source, "<p>Third.</p>", number=3, fetched_at=FETCHED + timedelta(days=9))

    response = client.get(url)
    assert response["X-Page-Cache"] == "miss"
    assert "version 2 of 3" in html_of(response)
    assert f'href="{third.get_absolute_url()}"' in response.content.decode()


@pytest.mark.parametrize("name", ["archived_copy", "archived_copy_changes"])
def test_copy_pages_have_one_h1_a_skip_link_and_no_index(client, copies, name):
    html = html_of(client.get(reverse(f"outages:{name}", args=[copies[1].pk])))

    assert len(re.findall(r"<h1[ >]", html)) == 1
    assert '<a class="skip-link" href="#main">' in html
    assert '<meta name="robots" content="noindex">' in html
    assert " style=" not in html and "<script" not in html


@pytest.mark.parametrize("pk", ["99999999999999999999999", "9223372036854775808", "0"])
@pytest.mark.parametrize("page", ["", "changes/", "raw"])
def test_out_of_range_numbers_are_not_found(client, copies, pk, page):
    assert client.get(f"/archive/{pk}/{page}").status_code == 404
