"""manage.py archive_sources: every source fetched and kept when it changed, one line each and a
summary, past failures, exit status 1 when any failed."""

import re
from io import StringIO

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from werkzeug import Response

from outages.interchange import fetching
from outages.models import ArchivedCopy
from tests.factories import SourceFactory
from tests.test_archive import fetched, page

SUMMARY = re.compile(r"\((\d+\.\d) s\)$")


class FakeWeb:
    """What each URL answers: a body (HTML) or a FetchFailed message; records the calls."""

    def __init__(self, monkeypatch):
        self.pages, self.asked = {}, []
        monkeypatch.setattr(fetching, "fetch", self.fetch)

    def fetch(self, url, *, etag="", last_modified="", expect_json=False):
        self.asked.append((url, expect_json))
        answer = self.pages[url]
        if isinstance(answer, Exception):
            raise answer
        return fetched(answer, url=url)


@pytest.fixture
def web(monkeypatch):
    return FakeWeb(monkeypatch)


@pytest.fixture
def three_sources(db):
    return [
        SourceFactory(url=f"https://status.example.com/reports/{n}", title=f"Test report {n}")
        for n in (1, 2, 3)
    ]


def run(*args):
    """The command's output lines (the time in the summary replaced) and its CommandError."""
    out = StringIO()
    error = None
    try:
        call_command("archive_sources", *args, stdout=out)
    except CommandError as raised:
        error = raised
    return [SUMMARY.sub("(… s)", line) for line in out.getvalue().splitlines()], error


def test_every_source_is_fetched_and_archived(web, three_sources):
    for source in three_sources:
        web.pages[source.url] = page(f"Test text of {source.url}.")

    lines, error = run()

    assert error is None
    assert lines == [
        "https://status.example.com/reports/1: new version 1",
        "https://status.example.com/reports/2: new version 1",
        "https://status.example.com/reports/3: new version 1",
        "Archived 3 sources: 3 new versions, 0 unchanged, 0 failed (… s)",
    ]
    assert ArchivedCopy.objects.count() == 3
    assert {copy.source for copy in ArchivedCopy.objects.all()} == set(three_sources)
    # The same client and limits as syncs, taking whatever the source is.
    assert {expect_json for _, expect_json in web.asked} == {False}


def test_a_second_run_finds_what_changed(web, three_sources):
    for source in three_sources:
        web.pages[source.url] = page("First wording.")
    run()
    web.pages[three_sources[1].url] = page("Revised wording.")

    lines, error = run()

    assert error is None
    assert lines == [
        "https://status.example.com/reports/1: unchanged",
        "https://status.example.com/reports/2: new version 2",
        "https://status.example.com/reports/3: unchanged",
        "Archived 3 sources: 1 new version, 2 unchanged, 0 failed (… s)",
    ]


def test_a_failure_is_reported_and_the_others_go_on(web, three_sources):
    web.pages[three_sources[0].url] = page()
    web.pages[three_sources[1].url] = fetching.FetchFailed(
        "https://status.example.com/reports/2: the server answered 503 Service Unavailable"
    )
    web.pages[three_sources[2].url] = page()

    lines, error = run()

    assert lines == [
        "https://status.example.com/reports/1: new version 1",
        "https://status.example.com/reports/2: failed: the server answered 503 Service Unavailable",
        "https://status.example.com/reports/3: new version 1",
        "Archived 3 sources: 2 new versions, 0 unchanged, 1 failed (… s)",
    ]
    assert str(error) == "1 of 3 sources could not be archived; see above."
    assert sorted(ArchivedCopy.objects.values_list("url", flat=True)) == [
        three_sources[0].url,
        three_sources[2].url,
    ]


def test_a_failure_exits_with_status_1(web, three_sources, capsys):
    for source in three_sources:
        web.pages[source.url] = fetching.FetchFailed(f"{source.url}: timed out")

    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "archive_sources"])

    assert exited.value.code == 1
    assert "0 new versions, 0 unchanged, 3 failed" in capsys.readouterr().out


def test_a_source_whose_copy_cannot_be_written_writes_nothing_and_the_others_are_kept(
    web, three_sources, monkeypatch
):
    """A failure while storing (here the number taken by another run) rolls back only that
    source's copy."""
    for source in three_sources:
        web.pages[source.url] = page()
    real_create = ArchivedCopy.objects.create

    def create(**values):
        if values["url"] == three_sources[1].url:
            real_create(**values)  # another run took this number first …
            real_create(**values)  # … so this one fails on the unique number
        return real_create(**values)

    monkeypatch.setattr(ArchivedCopy.objects, "create", create)

    lines, error = run()

    assert lines[1] == (
        "https://status.example.com/reports/2: failed: another run stored a copy at the same time"
    )
    assert error is not None
    assert sorted(ArchivedCopy.objects.values_list("url", flat=True)) == [
        three_sources[0].url,
        three_sources[2].url,
    ]


def test_only_the_urls_given_are_archived(web, three_sources):
    web.pages[three_sources[2].url] = page()

    lines, error = run(three_sources[2].url)

    assert error is None
    assert lines[0] == "https://status.example.com/reports/3: new version 1"
    assert [url for url, _ in web.asked] == [three_sources[2].url]


def test_a_url_no_source_has_is_refused_before_anything_is_fetched(web, three_sources):
    lines, error = run(three_sources[0].url, "https://status.example.com/not-a-source")

    assert str(error) == (
        "No source has the URL https://status.example.com/not-a-source; nothing was fetched."
    )
    assert web.asked == []


def test_a_dry_run_fetches_and_compares_but_stores_nothing(web, three_sources):
    for source in three_sources:
        web.pages[source.url] = page("First wording.")
    run(three_sources[0].url)
    web.pages[three_sources[0].url] = page("Revised wording.")

    lines, error = run("--dry-run")

    assert error is None
    assert lines == [
        "https://status.example.com/reports/1: new version 2",
        "https://status.example.com/reports/2: new version 1",
        "https://status.example.com/reports/3: new version 1",
        "Would archive 3 sources: 3 new versions, 0 unchanged, 0 failed (… s)",
    ]
    assert ArchivedCopy.objects.count() == 1


def test_no_sources_is_a_short_run(db, web):
    lines, error = run()

    assert (lines, error) == (
        ["Archived 0 sources: 0 new versions, 0 unchanged, 0 failed (… s)"],
        None,
    )


def test_quietly_only_failures_are_printed(web, three_sources):
    web.pages[three_sources[0].url] = page()
    web.pages[three_sources[1].url] = fetching.FetchFailed(f"{three_sources[1].url}: timed out")
    web.pages[three_sources[2].url] = page()

    lines, error = run("-v", "0")

    assert lines == [
        f"{three_sources[1].url}: failed: timed out",
        "Archived 3 sources: 2 new versions, 0 unchanged, 1 failed (… s)",
    ]
    assert error is not None


def test_quietly_a_run_that_worked_prints_nothing(web, three_sources):
    for source in three_sources:
        web.pages[source.url] = page()

    assert run("-v", "0") == ([], None)


# --- Through the real client, against a local server -------------------------------------------


def local(httpserver, path):
    return f"http://127.0.0.1:{httpserver.port}{path}"


class Pages:
    """What the local server answers for each path, changeable between runs."""

    def __init__(self, httpserver):
        self.answers = {}
        httpserver.expect_request(re.compile("/.*")).respond_with_handler(self.answer)

    def answer(self, request):
        body, status, content_type = self.answers[request.path]
        return Response(body, status=status, content_type=content_type)


@pytest.fixture
def served(httpserver, fetch_locally, db):
    pages = Pages(httpserver)
    for path in ["/report", "/update", "/gone"]:
        SourceFactory(url=local(httpserver, path), title=f"Test source {path}")
    pages.answers = {
        "/report": (page("The test report."), 200, "text/html; charset=utf-8"),
        "/update": (b'{"status": "resolved"}', 200, "application/json"),
        "/gone": (b"Not here", 404, "text/plain"),
    }
    return pages


def test_sources_served_over_http_are_archived_and_a_failure_is_named(served, httpserver):
    lines, error = run()

    assert lines == [
        f"{local(httpserver, '/gone')}: failed: the server answered 404 Not Found",
        f"{local(httpserver, '/report')}: new version 1",
        f"{local(httpserver, '/update')}: new version 1",
        "Archived 3 sources: 2 new versions, 0 unchanged, 1 failed (… s)",
    ]
    assert error is not None
    report = ArchivedCopy.objects.get(url=local(httpserver, "/report"))
    assert (report.content_type, report.content) == ("text/html", page("The test report."))
    assert not ArchivedCopy.objects.filter(url=local(httpserver, "/gone")).exists()


def test_over_http_a_new_nonce_is_unchanged_and_new_words_a_new_version(served, httpserver):
    run()
    served.answers["/report"] = (page("The test report.", nonce="n2"), 200, "text/html")
    served.answers["/update"] = (b'{"status": "postmortem"}', 200, "application/json")

    lines, _ = run()

    assert lines[1:3] == [
        f"{local(httpserver, '/report')}: unchanged",
        f"{local(httpserver, '/update')}: new version 2",
    ]


def test_a_source_on_a_private_address_is_refused_without_the_setting(
    served, httpserver, fetch_locally
):
    fetch_locally.FETCH_ALLOW_PRIVATE = False

    lines, error = run(local(httpserver, "/report"))

    assert lines[0] == (
        f"{local(httpserver, '/report')}: failed: refused: 127.0.0.1 is a loopback address (set "
        "FETCH_ALLOW_PRIVATE to allow it)"
    )
    assert error is not None
    assert not ArchivedCopy.objects.exists()
    assert httpserver.log == []
