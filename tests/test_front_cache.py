"""The front cache: what shared caches may keep, under which tags, and the purge after a commit."""

import logging
import time

import httpx
import pytest
from django.core.management import CommandError
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from werkzeug import Response

from outages import front_cache, page_cache, workflow
from tests.test_import import NEW_INCIDENT, run, write
from tests.test_production import database_down  # noqa: F401 (fixture)
from tests.test_search import admin_form_data
from tests.test_workflow import change_url, draft, publisher  # noqa: F401 (fixtures)

SHARED = {
    "public",
    "max-age=0",
    "s-maxage=60",
    "stale-while-revalidate=30",
    "stale-if-error=86400",
}
INCIDENT_TAGS = {
    "site",
    "incident:incident-1",
    "provider:example-cloud",
    "service:example-cloud.lb",
    "region:example-cloud.east-1",
    "customer:streamy",
}
LIST_TAGS = {"site", "incidents"}
# What publishing incident 1 changes: its own page and every list that counts incidents.
PUBLISHED_TAGS = (INCIDENT_TAGS - {"site"}) | {"incidents"}


def directives(response):
    return {part.strip() for part in response["Cache-Control"].split(",")}


def tags_of(response):
    keys = set(response[front_cache.SURROGATE_KEY].split(" "))
    assert set(response[front_cache.CACHE_TAG].split(",")) == keys
    return keys


def assert_private(response):
    assert {"private", "no-store"} <= directives(response), response["Cache-Control"]
    assert "public" not in directives(response)
    assert not any(response.has_header(name) for name in front_cache.HEADERS)


@pytest.mark.parametrize(
    ("url", "tags"),
    [
        ("/incidents/incident-1/", INCIDENT_TAGS),
        ("/incidents/", LIST_TAGS),
        ("/incidents/feed.atom", LIST_TAGS),
        ("/api/v1/incidents/", LIST_TAGS),
        ("/api/v1/incidents/incident-1/", {"site", "incident:incident-1"}),
        ("/sitemap.xml", LIST_TAGS),
    ],
)
def test_reader_pages_may_be_kept_by_shared_caches_under_their_tags(client, incident, url, tags):
    miss = client.get(url)
    hit = client.get(url)

    assert (miss["X-Page-Cache"], hit["X-Page-Cache"]) == ("miss", "hit")
    for response in (miss, hit):
        # No must-revalidate: it would forbid serving stale while refetching or while we fail.
        assert directives(response) == SHARED
        assert tags_of(response) == tags
    assert hit[front_cache.SURROGATE_KEY] == miss[front_cache.SURROGATE_KEY]
    assert hit["Vary"] == miss["Vary"] and "Cookie" in miss["Vary"]


def test_a_revalidated_page_keeps_its_shared_lifetime(client, incident):
    etag = client.get("/incidents/")["ETag"]

    response = client.get("/incidents/", headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert directives(response) == SHARED


def test_the_lifetimes_come_from_the_settings(client, incident, settings):
    settings.FRONT_CACHE_SECONDS = 3600
    settings.FRONT_CACHE_STALE_WHILE_REVALIDATE = 5
    settings.FRONT_CACHE_STALE_IF_ERROR = 600

    control = directives(client.get("/incidents/"))

    assert {"s-maxage=3600", "stale-while-revalidate=5", "stale-if-error=600"} <= control


@pytest.mark.parametrize(
    "url", ["/incidents/incident-1/", "/incidents/", "/api/v1/incidents/", "/admin/", "/healthz"]
)
def test_editors_responses_are_kept_by_no_cache(admin_client, incident, url):
    assert_private(admin_client.get(url))


@pytest.mark.parametrize(
    "url", ["/admin/login/", "/admin/outages/incident/", "/admin/no-such-screen/"]
)
def test_admin_screens_are_kept_by_no_cache_even_before_login(client, db, url):
    assert_private(client.get(url))


@pytest.mark.parametrize(
    "url",
    [
        "/incidents/?utm_source=news",  # the page cache stores no made-up parameters
        "/no-such-page/",  # no reader page: nothing to tag it with
        "/healthz",
        "/readyz",
    ],
)
def test_what_the_page_cache_would_not_store_is_kept_by_no_cache(client, incident, url):
    assert_private(client.get(url))


def test_a_missing_reader_page_is_kept_briefly_and_purged_with_its_incident(client, db):
    response = client.get("/incidents/not-yet-published/")

    assert response.status_code == 404
    assert directives(response) == {"public", "max-age=0", "s-maxage=10"}
    assert tags_of(response) == {"site", "incident:not-yet-published"}


def test_a_withdrawn_incident_is_kept_briefly(client, incident, admin_user):
    workflow.apply(incident, "withdraw", admin_user, reason="The sources were retracted.")

    response = client.get(incident.get_absolute_url())

    assert response.status_code == 410
    assert "s-maxage=10" in directives(response)


@pytest.mark.usefixtures("database_down")
def test_the_database_down_page_is_kept_by_no_cache(db):
    response = Client(raise_request_exception=False).get("/incidents/?q=never+asked")

    assert response.status_code == 503
    assert "no-store" in directives(response) and "public" not in directives(response)
    assert not any(response.has_header(name) for name in front_cache.HEADERS)


def test_a_previous_version_served_stale_is_not_kept_by_shared_caches(client, incident):
    response = client.get("/incidents/")

    front_cache.stale(response)

    assert_private(response)


def test_a_page_rendered_while_its_tags_moved_is_kept_by_no_shared_cache(rf, db):
    def view(request):
        page_cache.bump(["incidents"])  # a change committed while this page renders
        return HttpResponse("the old rows")

    response = page_cache.cached(lambda kwargs: "incidents")(view)(rf.get("/a-list/"))

    assert response["X-Page-Cache"] == "miss"
    assert_private(response)


def test_a_page_rendered_while_nothing_changed_is_shared(rf, db):
    view = page_cache.cached(lambda kwargs: "incidents")(lambda request: HttpResponse("rows"))

    response = view(rf.get("/a-list/"))

    assert directives(response) == SHARED


# --- Purging --------------------------------------------------------------------------------


@pytest.fixture
def publishing(db, request):
    """A draft, and a member of the Publishers group to publish it (the workflow's fixtures)."""
    return request.getfixturevalue("draft"), request.getfixturevalue("publisher")


@pytest.fixture
def purges(settings, httpserver):
    """The tests' HTTP server as the only front cache; purges wait for flush() (no thread)."""
    settings.FRONT_CACHE_PURGE_URLS = [httpserver.url_for("/.purge")]
    settings.FRONT_CACHE_PURGE_IN_BACKGROUND = False
    settings.FRONT_CACHE_PURGE_RETRY_SECONDS = 0
    httpserver.expect_request("/.purge", method="PURGE").respond_with_data("purged")
    yield httpserver
    settings.FRONT_CACHE_PURGE_URLS = []
    front_cache.flush()  # drops whatever a test left waiting


def purged(httpserver):
    front_cache.flush()
    return [
        (request.method, request.path, set(request.headers["xkey-purge"].split(" ")))
        for request, _ in httpserver.log
    ]


def test_an_editors_publish_purges_the_incidents_tags_once_after_commit(
    client,
    publishing,
    purges,
    django_capture_on_commit_callbacks,
):
    incident, user = publishing
    client.force_login(user)
    data = admin_form_data(client.get(change_url(incident)))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(incident), {**data, "_transition": "publish"})
        assert purged(purges) == []  # nothing before the commit

    assert response.status_code == 302
    assert purged(purges) == [("PURGE", "/.purge", PUBLISHED_TAGS)]


def test_each_front_cache_gets_the_purge(
    settings,
    httpserver,
    purges,
    publishing,
    django_capture_on_commit_callbacks,
):
    incident, user = publishing
    settings.FRONT_CACHE_PURGE_URLS = [httpserver.url_for("/.purge"), httpserver.url_for("/b")]
    httpserver.expect_request("/b", method="PURGE").respond_with_data("purged")

    with django_capture_on_commit_callbacks(execute=True):
        workflow.apply(incident, "publish", user)

    assert sorted(path for _, path, _ in purged(purges)) == ["/.purge", "/b"]


def test_an_import_purges_every_page_once_after_commit(
    db, tmp_path, purges, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run("import_incidents", write(tmp_path, NEW_INCIDENT), "--publish")
        assert purged(purges) == []

    # An import may rename what every page shows: it bumps the tag every page carries.
    assert purged(purges) == [("PURGE", "/.purge", {"site"})]


def test_a_failed_import_purges_nothing(db, tmp_path, purges, django_capture_on_commit_callbacks):
    broken = NEW_INCIDENT.replace("root_cause_category: configuration", "root_cause_category: ?")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError):
        run("import_incidents", write(tmp_path, broken), "--publish")

    assert purged(purges) == []


def test_a_rolled_back_publish_purges_nothing(
    purges,
    publishing,
    django_capture_on_commit_callbacks,
):
    incident, user = publishing
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            workflow.apply(incident, "publish", user)
            raise RuntimeError("something later in the same save failed")

    assert purged(purges) == []


def test_a_failing_front_cache_is_tried_again(
    settings,
    httpserver,
    publishing,
    django_capture_on_commit_callbacks,
    caplog,
):
    incident, user = publishing
    settings.FRONT_CACHE_PURGE_URLS = [httpserver.url_for("/.purge")]
    settings.FRONT_CACHE_PURGE_IN_BACKGROUND = False
    settings.FRONT_CACHE_PURGE_RETRY_SECONDS = 0
    answers = iter([500, 500, 200])
    httpserver.expect_request("/.purge", method="PURGE").respond_with_handler(
        lambda request: Response("", status=next(answers))
    )

    with django_capture_on_commit_callbacks(execute=True):
        workflow.apply(incident, "publish", user)
    incident.refresh_from_db()

    assert incident.status == incident.Status.PUBLISHED
    assert [tags for _, _, tags in purged(httpserver)] == [PUBLISHED_TAGS] * 3
    failures = logged(caplog)
    assert [r.levelno for r in failures] == [logging.WARNING, logging.WARNING, logging.INFO]
    assert "answered 500" in failures[0].getMessage()


@pytest.mark.parametrize("in_background", [True, False])
def test_an_unreachable_front_cache_never_fails_the_save(
    settings,
    publishing,
    django_capture_on_commit_callbacks,
    caplog,
    in_background,
):
    incident, user = publishing
    settings.FRONT_CACHE_PURGE_URLS = ["http://127.0.0.1:9/.purge"]  # nothing listens there
    settings.FRONT_CACHE_PURGE_IN_BACKGROUND = in_background
    settings.FRONT_CACHE_PURGE_RETRY_SECONDS = 0

    published_despite_the_front_caches(incident, user, django_capture_on_commit_callbacks)

    records = logged(caplog)
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING, logging.ERROR]
    assert records[-1].getMessage().startswith("Gave up purging ")
    assert "http://127.0.0.1:9/.purge after 3 attempts: ConnectError" in records[-1].getMessage()


def published_despite_the_front_caches(incident, user, capture_on_commit_callbacks):
    """Publish, run what waits for the commit, and wait for the purges: the save stands."""
    with capture_on_commit_callbacks(execute=True):
        workflow.apply(incident, "publish", user)
    front_cache.flush()
    incident.refresh_from_db()
    assert incident.status == incident.Status.PUBLISHED


def logged(caplog):
    """What the purges logged."""
    return [r for r in caplog.records if r.name == "outages.front_cache"]


def test_the_background_thread_sends_the_purge(
    settings,
    purges,
    publishing,
    django_capture_on_commit_callbacks,
):
    incident, user = publishing
    settings.FRONT_CACHE_PURGE_IN_BACKGROUND = True

    with django_capture_on_commit_callbacks(execute=True):
        workflow.apply(incident, "publish", user)

    assert purged(purges) == [("PURGE", "/.purge", PUBLISHED_TAGS)]


def test_without_front_caches_nothing_is_queued(settings, httpserver):
    settings.FRONT_CACHE_PURGE_URLS = []

    front_cache.purge({"incidents"})
    settings.FRONT_CACHE_PURGE_URLS = [httpserver.url_for("/.purge")]

    assert purged(httpserver) == []


def test_a_purge_too_long_for_one_header_purges_every_page(purges):
    front_cache.purge({f"incident:incident-number-{n}" for n in range(1000)})

    assert purged(purges) == [("PURGE", "/.purge", {"site"})]


def test_purges_share_one_kept_http_client(purges, monkeypatch):
    made = []
    real_client = httpx.Client

    def counted(*args, **kwargs):
        made.append(kwargs)
        return real_client(*args, **kwargs)

    monkeypatch.setattr(front_cache, "_purger", front_cache.Purger())
    monkeypatch.setattr(httpx, "Client", counted)
    for tag in ("incident:one", "incident:two"):
        front_cache.purge({tag})
        front_cache.flush()

    assert [tags for _, _, tags in purged(purges)] == [{"incident:one"}, {"incident:two"}]
    assert len(made) == 1


def test_a_saves_answer_comes_once_its_purge_is_sent(settings, httpserver, rf):
    settings.FRONT_CACHE_PURGE_URLS = [httpserver.url_for("/.purge")]
    settings.FRONT_CACHE_PURGE_IN_BACKGROUND = True
    settings.FRONT_CACHE_PURGE_WAIT = 30
    # The front cache takes a moment to answer, as a busy one does.
    httpserver.expect_request("/.purge", method="PURGE").respond_with_handler(
        lambda request: time.sleep(0.3) or Response("purged")
    )

    def save(request):
        front_cache.purge({"incident:a"})  # what a save's commit asks for
        return HttpResponse(status=302)

    response = front_cache.CacheHeaders(save)(rf.post("/admin/"))

    assert response.status_code == 302
    assert [request.headers["xkey-purge"] for request, _ in httpserver.log] == ["incident:a"]


def test_a_readers_answer_waits_for_no_purge(settings, rf, monkeypatch):
    settings.FRONT_CACHE_PURGE_WAIT = 30
    waited = []
    monkeypatch.setattr(front_cache._purger.changed, "wait_for", lambda *a: waited.append(a))

    front_cache.CacheHeaders(lambda request: HttpResponse("page"))(rf.get("/"))

    assert waited == []
