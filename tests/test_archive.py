"""The source archive: a copy of each fetched body, compressed, a new version only when what a
reader reads changed, and the pages citing the source stale once a new version is stored."""

import zlib
from datetime import UTC, datetime, timedelta

from reversion.models import Revision

from outages.interchange import archive
from outages.interchange.fetching import Fetched
from outages.models import ArchivedCopy

URL = "https://status.example.com/reports/1"
WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
PAGE = (
    "<html><head><title>Test report</title>"
    '<script nonce="{nonce}">var token = "{nonce}";</script></head>'
    "<body><h1>Test outage</h1><p>{text}</p></body></html>"
)


def page(text="The test service was down for an hour.", nonce="abc123"):
    return PAGE.format(text=text, nonce=nonce).encode()


def fetched(body, url=URL, content_type="text/html", status=200, at=WHEN):
    return Fetched(
        url=url,
        final_url=url,
        status=status,
        body=body,
        content_type=content_type,
        etag="",
        last_modified="",
        fetched_at=at,
    )


def test_the_first_copy_of_a_url_is_version_1(db, source):
    copy = archive.store(fetched(page(), url=source.url), source=source)

    assert (copy.url, copy.number, copy.source, copy.http_status) == (source.url, 1, source, 200)
    assert (copy.fetched_at, copy.content_type, copy.size) == (WHEN, "text/html", len(page()))
    assert copy.sha256 == archive.digest(page(), "text/html")


def test_the_same_content_again_is_not_a_new_version(db):
    archive.store(fetched(page()))

    assert archive.store(fetched(page(), at=WHEN + timedelta(days=1))) is None
    assert ArchivedCopy.objects.count() == 1


def test_changed_content_is_the_next_version(db):
    archive.store(fetched(page()))
    second = archive.store(fetched(page("The test service was down for two hours.")))
    third = archive.store(fetched(page("It was down for three hours.")))

    assert (second.number, third.number) == (2, 3)
    assert list(ArchivedCopy.objects.values_list("number", flat=True)) == [1, 2, 3]


def test_going_back_to_an_earlier_text_is_a_new_version_too(db):
    archive.store(fetched(page("First wording.")))
    archive.store(fetched(page("Second wording.")))

    back = archive.store(fetched(page("First wording.")))

    assert back is not None and back.number == 3


def test_html_whose_only_change_is_a_script_nonce_is_not_a_new_version(db):
    archive.store(fetched(page(nonce="abc123")))

    assert archive.store(fetched(page(nonce="xyz789"))) is None


def test_json_is_compared_byte_for_byte(db):
    archive.store(fetched(b'{"a": 1}', content_type="application/json"))

    copy = archive.store(fetched(b'{"a":1}', content_type="application/json"))

    assert copy is not None and copy.number == 2


def test_each_url_is_numbered_on_its_own(db):
    archive.store(fetched(page(), url=URL))

    other = archive.store(fetched(page(), url="https://status.example.com/reports/2"))

    assert other.number == 1


def test_the_body_is_stored_compressed_and_read_back_as_fetched(db):
    body = page("A long test sentence. " * 500)
    archive.store(fetched(body))

    copy = ArchivedCopy.objects.get()  # from the database, not the object store() made

    assert len(bytes(copy.body)) < len(body) / 10
    assert zlib.decompress(bytes(copy.body)) == body
    assert copy.content == body
    assert copy.size == len(body)


def test_the_text_of_a_copy_is_what_a_reader_reads(db):
    archive.store(fetched(page("The test service was down.")))

    text = ArchivedCopy.objects.get().text

    assert "The test service was down." in text
    assert "token" not in text and "<p>" not in text


def test_a_not_modified_answer_stores_nothing(db):
    assert archive.store(fetched(b"", status=304)) is None
    assert not ArchivedCopy.objects.exists()


def test_a_copy_is_linked_to_the_source_with_its_url_when_none_is_given(db, source):
    copy = archive.store_body(source.url, b'{"id": "test"}', "application/json", WHEN)

    assert copy.source == source
    assert list(ArchivedCopy.objects.of_source(source)) == [copy]


def test_store_body_keeps_a_sync_s_body_like_a_fetched_one(db):
    body = b'{"id": "test-incident", "updates": []}'
    copy = archive.store_body(URL, body, "application/json", WHEN, http_status=200)

    assert (copy.number, copy.size, copy.content) == (1, len(body), body)
    assert archive.store_body(URL, body, "application/json", WHEN) is None


def test_latest_digests_gives_each_url_its_latest_copy_s_digest(db):
    archive.store(fetched(page("One."), url=URL))
    archive.store(fetched(page("Two."), url=URL))
    other = "https://status.example.com/reports/2"
    archive.store(fetched(page("Other."), url=other))

    found = archive.latest_digests([URL, other, "https://status.example.com/never-archived"])

    assert found == {
        URL: archive.digest(page("Two."), "text/html"),
        other: archive.digest(page("Other."), "text/html"),
    }


def test_latest_digests_asks_once_per_thousand_urls(db, django_assert_num_queries):
    urls = [f"https://status.example.com/incidents/{n}" for n in range(1500)]
    for url in urls[:3]:
        archive.store_body(url, b"{}", "application/json", WHEN)
        archive.store_body(url, b"[]", "application/json", WHEN)

    # 1 the first thousand URLs' latest copies, 2 the other five hundred's.
    with django_assert_num_queries(2):
        found = archive.latest_digests(urls)

    assert set(found) == set(urls[:3])
    assert set(found.values()) == {archive.digest(b"[]", "application/json")}


def test_latest_digests_of_no_urls_asks_nothing(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert archive.latest_digests([]) == {}


# --- The pages of the incidents citing the source ----------------------------------------------


def test_a_new_version_of_a_cited_source_makes_its_incident_pages_stale(
    client, incident, source, django_capture_on_commit_callbacks
):
    url = incident.get_absolute_url()
    assert client.get(url)["X-Page-Cache"] == "miss"
    assert client.get(url)["X-Page-Cache"] == "hit"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        archive.store(fetched(page(), url=source.url), source=source)

    assert callbacks, "the pages are bumped once the copy is committed"
    assert client.get(url)["X-Page-Cache"] == "miss"


def test_an_unchanged_copy_leaves_the_cached_pages_alone(
    client, incident, source, django_capture_on_commit_callbacks
):
    archive.store(fetched(page(), url=source.url), source=source)
    url = incident.get_absolute_url()
    client.get(url)

    with django_capture_on_commit_callbacks(execute=True):
        assert archive.store(fetched(page(), url=source.url), source=source) is None

    assert client.get(url)["X-Page-Cache"] == "hit"


def test_a_copy_of_a_url_no_incident_cites_bumps_nothing(
    client, incident, django_capture_on_commit_callbacks
):
    url = incident.get_absolute_url()
    client.get(url)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        archive.store(fetched(page(), url="https://status.example.com/uncited"))

    assert not callbacks
    assert client.get(url)["X-Page-Cache"] == "hit"


def test_storing_copies_records_no_revision(db, source):
    archive.store(fetched(page(), url=source.url), source=source)
    archive.store(fetched(page("Changed."), url=source.url), source=source)

    assert not Revision.objects.exists()  # copies are their own history (module docstring)
