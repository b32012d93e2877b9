"""Production behaviour: probes, the database going away, compression and security headers."""

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client

from outages.models import Incident, TimelineEvent
from tests.test_search import admin_form_data

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k3y-" + "Zq8v!xR2#pL9@wT5$mN7^bF4&hJ6*cD1" * 2


@pytest.fixture
def database_down(db, monkeypatch):
    """Every query fails the way psycopg2 fails when the server has gone (until the test ends,
    before the test database is cleaned up)."""

    def refuse(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(CursorWrapper, "execute", refuse)
        patch.setattr(CursorWrapper, "executemany", refuse)
        yield


def test_healthz_answers_without_the_database(client, database_down, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_readyz_says_whether_the_database_answers(client, db):
    assert client.get("/readyz").status_code == 200


def test_readyz_fails_when_the_database_is_down(client, database_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.content == b"database unreachable\n"


@pytest.fixture
def stored_page(incident):
    reader = Client(raise_request_exception=False)
    url = incident.get_absolute_url()
    response = reader.get(url)
    assert response.status_code == 200
    return reader, url, response


def test_without_the_database_readers_get_a_plain_503_and_stored_pages(stored_page, database_down):
    reader, url, stored = stored_page

    again = reader.get(url)
    assert again.status_code == 200
    assert again.content == stored.content
    down = reader.get("/incidents/?q=never+asked+before")
    assert down.status_code == 503
    assert down["Retry-After"] == "10"
    assert "no-store" in down["Cache-Control"]
    body = down.content.decode()
    assert "briefly unavailable" in body
    assert "Traceback" not in body and "OperationalError" not in body


def test_other_errors_stay_500s(db, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    with monkeypatch.context() as patch:
        patch.setattr(CursorWrapper, "execute", broken)
        response = Client(raise_request_exception=False).get("/incidents/?q=anything")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_an_editor_saving_while_the_database_fails_loses_nothing_and_is_told(
    admin_client, incident, monkeypatch
):
    change = f"/admin/outages/incident/{incident.pk}/change/"
    data = admin_form_data(admin_client.get(change))
    data["title"] = "Half-saved title"
    data["events-0-description"] = "Half-saved event"
    data["events-1-description"] = "Another half-saved event"
    real_save = TimelineEvent.save
    saved = []

    def fail_on_the_second_row(self, *args, **kwargs):
        # The incident and the first row are written; then the connection drops.
        if saved:
            raise OperationalError("server closed the connection unexpectedly")
        saved.append(self)
        return real_save(self, *args, **kwargs)

    admin_client.raise_request_exception = False
    with monkeypatch.context() as patch:
        patch.setattr(TimelineEvent, "save", fail_on_the_second_row)
        response = admin_client.post(change, data)

    assert response.status_code == 503
    assert "it was not saved" in response.content.decode()
    assert saved, "the failure came in the middle of the save"
    incident.refresh_from_db()
    assert incident.title == "Incident 1"
    assert list(incident.events.values_list("description", flat=True)) == [
        "Workflows disabled.",
        "Workflows disabled.",
    ]
    assert incident.version == Incident.objects.get(pk=incident.pk).version


@pytest.mark.parametrize(
    "url", ["/incidents/", "/incidents/feed.atom", "/api/v1/incidents/", "an incident's page"]
)
def test_pages_feeds_and_json_are_compressed(client, varied_incidents, url):
    if not url.startswith("/"):
        url = varied_incidents[0].get_absolute_url()
    plain = client.get(url)
    packed = client.get(url, headers={"accept-encoding": "gzip"})

    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content) / 2


# --- Content-Security-Policy -----------------------------------------------------------------

PUBLIC_PAGES = [
    "/",
    "/incidents/",
    "/incidents/?q=load+balancer",
    "/incidents/aws-elb-us-east-2012-12-24/",
    "/incidents/aws-elb-us-east-2012-12-24/v/1/",
    "/providers/",
    "/providers/aws/",
    "/providers/aws/services/elb/",
    "/providers/aws/regions/us-east-1/",
    "/customers/",
    "/customers/netflix/",
    "/statistics/",
    "/map/",
    "/my-stack/?provider=aws",
]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/ld\+json)[^>]*>", re.I)


def test_the_policy_allows_nothing_inline_and_nothing_from_elsewhere(client, db):
    policy = dict(
        part.strip().split(" ", 1)
        for part in client.get("/healthz")["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in client.get("/healthz")["Content-Security-Policy"]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_have_no_inline_script_or_style(client, db, shipped_data, url):
    response = client.get(url)
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), url
    assert "<style" not in html, url
    assert not re.search(r"\sstyle=", html), url
    assert not re.search(r"\son[a-z]+=", html), url
    assert "javascript:" not in html, url


def test_structured_data_is_the_only_script_element_without_a_source(client, db, shipped_data):
    html = client.get("/incidents/aws-elb-us-east-2012-12-24/").content.decode()
    blocks = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    for attributes, body in blocks:
        if "src=" not in attributes:
            assert 'type="application/ld+json"' in attributes
            json.loads(body)


# --- Production settings, as `make serve` runs them ---------------------------------------------


def production(*args, **env):
    environment = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DEBUG",
            "HTTPS",
            "CACHE_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    environment.update(
        {"DEBUG": "false", "SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "postmortems.example"}
    )
    environment.update(env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_production_settings():
    result = production("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_https_is_switched_off():
    result = production("manage.py", "check", "--deploy", "--fail-level", "WARNING", HTTPS="false")
    assert result.returncode != 0
    assert "security.W008" in result.stderr


HEADERS_SCRIPT = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="postmortems.example")
secure = client.get("/healthz", secure=True)
plain = client.get("/incidents/")
probe = client.get("/healthz")
print(json.dumps({
    "secure": dict(secure.headers),
    "plain": [plain.status_code, plain.headers.get("Location")],
    "probe": probe.status_code,
    "cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,
                settings.SESSION_COOKIE_HTTPONLY],
}))
"""


def test_production_sends_the_security_headers_and_redirects_to_https():
    result = production("-c", HEADERS_SCRIPT, DJANGO_SETTINGS_MODULE="postmortems.settings")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    headers = seen["secure"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert seen["plain"] == [301, "https://postmortems.example/incidents/"]
    assert seen["probe"] == 200  # load balancers probe over plain HTTP
    assert seen["cookies"] == [True, True, True]


def test_each_server_worker_freezes_what_loading_the_app_made():
    # In a process of its own: a frozen collector in the test process would hide its garbage.
    script = (
        "import gc; from postmortems import serve; before = gc.get_freeze_count(); "
        "app = serve.application(); print(before, gc.get_freeze_count(), callable(app))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before, after, callable_app = done.stdout.split()
    assert int(before) == 0 and int(after) > 1000 and callable_app == "True"


@pytest.mark.parametrize(
    "env, workers, threads",
    [
        ({}, 1, 4),  # local memory: one process, or its pages would miss others' invalidations
        ({"CACHE_URL": "redis://127.0.0.1:6379/2"}, "cores", 2),
        ({"CACHE_URL": "redis://127.0.0.1:6379/2", "WEB_CONCURRENCY": "3", "THREADS": "1"}, 3, 1),
        ({"WEB_CONCURRENCY": "2", "THREADS": "1"}, 2, 1),
    ],
)
def test_server_processes_and_threads_follow_the_cache(monkeypatch, env, workers, threads):
    from postmortems import serve

    for name in ("CACHE_URL", "WEB_CONCURRENCY", "THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    options = serve.options()
    cores = len(os.sched_getaffinity(0))
    assert options["workers"] == (cores if workers == "cores" else workers)
    assert options["blocking_threads"] == threads


def test_a_server_setting_that_cannot_be_read_is_named(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from postmortems import serve

    monkeypatch.setenv("THREADS", "many")
    with pytest.raises(ImproperlyConfigured, match="THREADS"):
        serve.options()


def test_the_production_server_starts_answers_and_stops_gracefully(tmp_path):
    from bench.server import Server, free_port, production_env, request

    # /healthz touches no database, so any address will do.
    port = free_port()
    env = production_env(f"sqlite:///{tmp_path / 'unused.sqlite3'}", "locmem://serve", port)
    with Server(env) as server:
        status, headers, _ = request(port, "/healthz", timeout=5)
        assert status == 200, server.log_tail()
        assert "script-src 'self'" in headers["Content-Security-Policy"]  # the whole stack ran
    assert server.process.returncode == 0  # SIGTERM: every worker stopped in its own time
