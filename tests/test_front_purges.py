"""Purging the CDNs: Fastly's and Cloudflare's APIs get the tags a change touched, in batches
each API accepts, retried when they fail, and their tokens never reach a log."""

import json
import logging

import pytest
from werkzeug import Response

from outages import front_cache, front_purges, workflow
from tests.test_front_cache import (
    PUBLISHED_TAGS,
    logged,
    published_despite_the_front_caches,
    publishing,  # noqa: F401 (a fixture)
)
from tests.test_workflow import draft, publisher  # noqa: F401

FASTLY_SERVICE = "SU1Z0isxPaozGVKXdv0eY"
CLOUDFLARE_ZONE = "023e105f4ecef8ad9ca31a8372d0c353"
FASTLY_TOKEN = "fastly-secret-token"
CLOUDFLARE_TOKEN = "cloudflare-secret-token"
FASTLY_PATH = f"/fastly/service/{FASTLY_SERVICE}/purge"
CLOUDFLARE_PATH = f"/cloudflare/zones/{CLOUDFLARE_ZONE}/purge_cache"
CLOUDFLARE_OK = {"success": True, "errors": [], "messages": [], "result": {"id": CLOUDFLARE_ZONE}}


@pytest.fixture
def cdns(settings, httpserver, monkeypatch):
    """Both CDNs' APIs played by the tests' HTTP server; purges wait for flush() (no thread)."""
    monkeypatch.setattr(front_purges, "FASTLY_API", httpserver.url_for("/fastly"))
    monkeypatch.setattr(front_purges, "CLOUDFLARE_API", httpserver.url_for("/cloudflare"))
    settings.FRONT_CACHE_PURGE_URLS = [
        f"fastly://{FASTLY_SERVICE}",
        f"cloudflare://{CLOUDFLARE_ZONE}",
    ]
    settings.FASTLY_API_TOKEN = FASTLY_TOKEN
    settings.CLOUDFLARE_API_TOKEN = CLOUDFLARE_TOKEN
    settings.FRONT_CACHE_PURGE_IN_BACKGROUND = False
    settings.FRONT_CACHE_PURGE_RETRY_SECONDS = 0
    yield httpserver
    settings.FRONT_CACHE_PURGE_URLS = []
    front_cache.flush()  # drops whatever a test left waiting


@pytest.fixture
def draft_and_publisher(db, request):
    """The workflow tests' draft, and a publisher to publish it."""
    return request.getfixturevalue("publishing")


def answer_ok(httpserver):
    httpserver.expect_request(FASTLY_PATH, method="POST").respond_with_json({"status": "ok"})
    httpserver.expect_request(CLOUDFLARE_PATH, method="POST").respond_with_json(CLOUDFLARE_OK)


def sent(httpserver):
    front_cache.flush()
    return [request for request, _ in httpserver.log]


def fastly_keys(request):
    return request.headers["Surrogate-Key"].split(" ")


def test_a_publish_purges_its_tags_from_fastly_and_cloudflare_after_commit(
    cdns, draft_and_publisher, django_capture_on_commit_callbacks
):
    incident, user = draft_and_publisher
    answer_ok(cdns)

    with django_capture_on_commit_callbacks(execute=True):
        workflow.apply(incident, "publish", user)
        assert sent(cdns) == []  # nothing before the commit

    fastly, cloudflare = sent(cdns)
    assert (fastly.method, fastly.path) == ("POST", FASTLY_PATH)
    assert set(fastly_keys(fastly)) == PUBLISHED_TAGS
    assert fastly.headers["Fastly-Key"] == FASTLY_TOKEN
    assert fastly.headers["Accept"] == "application/json"
    assert (cloudflare.method, cloudflare.path) == ("POST", CLOUDFLARE_PATH)
    assert cloudflare.headers["Authorization"] == f"Bearer {CLOUDFLARE_TOKEN}"
    assert cloudflare.headers["Content-Type"] == "application/json"
    assert set(json.loads(cloudflare.data)["tags"]) == PUBLISHED_TAGS
    assert list(json.loads(cloudflare.data)) == ["tags"]


def test_many_tags_are_sent_in_batches_each_api_accepts(cdns):
    answer_ok(cdns)
    tags = {f"incident:{n}" for n in range(300)}

    front_cache.purge(tags)
    requests = sent(cdns)

    fastly = [fastly_keys(r) for r in requests if r.path == FASTLY_PATH]
    cloudflare = [json.loads(r.data)["tags"] for r in requests if r.path == CLOUDFLARE_PATH]
    assert [len(batch) for batch in fastly] == [256, 44]
    assert [len(batch) for batch in cloudflare] == [30] * 10
    assert set().union(*fastly) == set().union(*cloudflare) == tags


def test_a_failing_cdn_is_tried_again_and_a_refusal_counts_as_a_failure(cdns, caplog):
    answers = iter(
        [
            Response("rate limited", status=429),
            Response(
                json.dumps({"success": False, "errors": [{"code": 1134}]}),
                status=200,
                content_type="application/json",
            ),
            Response(json.dumps(CLOUDFLARE_OK), status=200, content_type="application/json"),
        ]
    )
    cdns.expect_request(CLOUDFLARE_PATH, method="POST").respond_with_handler(
        lambda request: next(answers)
    )
    cdns.expect_request(FASTLY_PATH, method="POST").respond_with_json({"status": "ok"})

    front_cache.purge({"incidents"})
    requests = sent(cdns)

    assert [r.path for r in requests] == [FASTLY_PATH] + [CLOUDFLARE_PATH] * 3
    records = logged(caplog)
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.INFO, f"Purged incidents from Fastly service {FASTLY_SERVICE}"),
        (
            logging.WARNING,
            f"Purging incidents from Cloudflare zone {CLOUDFLARE_ZONE} failed (attempt 1 of 3):"
            " answered 429",
        ),
        (
            logging.WARNING,
            f"Purging incidents from Cloudflare zone {CLOUDFLARE_ZONE} failed (attempt 2 of 3):"
            " answered success: false [{'code': 1134}]",
        ),
        (logging.INFO, f"Purged incidents from Cloudflare zone {CLOUDFLARE_ZONE}"),
    ]


def test_a_cdn_that_never_answers_never_fails_the_save_nor_logs_its_token(
    cdns, draft_and_publisher, django_capture_on_commit_callbacks, caplog
):
    incident, user = draft_and_publisher
    caplog.set_level(logging.DEBUG)  # the HTTP libraries' own logs too
    cdns.expect_request(FASTLY_PATH, method="POST").respond_with_data("denied", status=403)
    cdns.expect_request(CLOUDFLARE_PATH, method="POST").respond_with_data("down", status=503)

    published_despite_the_front_caches(incident, user, django_capture_on_commit_callbacks)

    ours = logged(caplog)
    assert [r.levelno for r in ours] == [logging.WARNING] * 2 + [logging.ERROR] + (
        [logging.WARNING] * 2 + [logging.ERROR]
    )
    assert ours[2].getMessage().startswith("Gave up purging ")
    assert f"Fastly service {FASTLY_SERVICE} after 3 attempts: answered 403" in ours[2].getMessage()
    everything = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "HTTP Request" in everything  # httpx's own log of each request is in there
    assert FASTLY_TOKEN not in everything
    assert CLOUDFLARE_TOKEN not in everything


def test_varnish_gets_one_purge_whatever_the_number_of_tags():
    tags = {f"incident:{n}" for n in range(300)}

    (purge,) = front_purges.requests("http://127.0.0.1:6081/", tags)

    assert (purge.method, purge.url, purge.name) == ("PURGE", "http://127.0.0.1:6081/", purge.url)
    assert set(purge.headers["xkey-purge"].split(" ")) == tags
