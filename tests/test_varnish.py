"""The shipped VCL (deploy/varnish/postmortems.vcl) in a real varnishd in front of the live
server: what it stores, what it passes, and what a purge drops. Skipped where varnishd is not
installed (apt-get install varnish varnish-modules), as browser tests are without Chromium."""

import http.client
import http.server
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.server import free_port
from bench.topology import BACKENDS_VCL, VCL, Varnish
from outages.page_cache import INCIDENTS, incident_tag

pytestmark = pytest.mark.skipif(
    shutil.which("varnishd") is None,
    reason="varnishd not installed; apt-get install varnish varnish-modules",
)


def ask(port, path, *, method="GET", headers=None, source="127.0.0.1"):
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.fixture
def varnish(live_server):
    """varnishd with the shipped VCL, both backends on the live server, few threads."""
    parameters = {"thread_pool_min": 5, "thread_pool_max": 50}
    app_port = urlsplit(live_server.url).port
    with Varnish([app_port], parameters=parameters, storage="malloc,16m") as front:
        yield front


def test_the_shipped_vcl_compiles():
    # Compiled from a copy the varnish user can read, wherever this checkout lives.
    with tempfile.TemporaryDirectory() as folder:
        Path(folder).chmod(0o755)
        for vcl in (VCL, BACKENDS_VCL):
            shutil.copy(vcl, folder)
        command = ["varnishd", "-C", "-f", str(Path(folder) / VCL.name)]
        compiled = subprocess.run(command, capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr[-2000:]


@pytest.mark.django_db(transaction=True)
def test_readers_pages_are_stored_passed_and_purged_by_tag(varnish, make_incidents):
    first, second = make_incidents(2)
    pages = {first: first.get_absolute_url(), second: second.get_absolute_url()}
    port = varnish.port

    for page in pages.values():
        status, headers, _ = ask(port, page)
        assert (status, headers["X-Cache"]) == (200, "miss")
        status, headers, _ = ask(port, page, headers={"Cookie": "theme=dark"})
        assert (status, headers["X-Cache"]) == (200, "hit"), "only the session cookie passes"
        assert "xkey" not in headers and "Surrogate-Key" not in headers
        assert int(headers["Age"]) >= 0

    # Editors and the admin go past the cache, both ways.
    _, headers, _ = ask(port, pages[first], headers={"Cookie": "sessionid=anything"})
    assert headers["X-Cache"] == "pass"
    _, headers, _ = ask(port, "/admin/login/")
    assert headers["X-Cache"] == "pass"
    assert ask(port, pages[first], method="POST")[1]["X-Cache"] == "pass"

    # Only the purgers' addresses may purge (127.0.0.2 is this machine, but not in the ACL).
    refused = ask(
        port,
        "/",
        method="PURGE",
        headers={"xkey-purge": incident_tag(first.slug)},
        source="127.0.0.2",
    )
    assert refused[0] == 403
    assert ask(port, pages[first])[1]["X-Cache"] == "hit"

    # A purge of one incident's tag drops its own page at once: the next reader waits for the
    # new page rather than getting the old one. The other incident's page stays stored.
    status, headers, _ = ask(
        port, "/", method="PURGE", headers={"xkey-purge": incident_tag(first.slug)}
    )
    assert (status, headers["X-Purged"]) == (200, "1")
    assert ask(port, pages[first])[1]["X-Cache"] == "miss"
    assert ask(port, pages[first])[1]["X-Cache"] == "hit"
    assert ask(port, pages[second])[1]["X-Cache"] == "hit"
    assert ask(port, "/", method="PURGE")[0] == 400, "a purge names its tags"


@pytest.mark.django_db(transaction=True)
def test_lists_are_soft_purged_and_the_incident_hard_purged_in_one_purge(varnish, make_incidents):
    (incident,) = make_incidents(1)
    page, listing = incident.get_absolute_url(), "/incidents/"
    port = varnish.port
    for url in (page, listing):
        assert ask(port, url)[1]["X-Cache"] == "miss"

    # What a publish purges: the list's tag and the incident's own.
    tags = f"{INCIDENTS} {incident_tag(incident.slug)}"
    status, headers, _ = ask(port, "/", method="PURGE", headers={"xkey-purge": tags})

    assert (status, headers["X-Purged"]) == (200, "2")
    # The list, slow to render at scale, is served stale to the first reader while Varnish
    # fetches it once in the background; the incident's own page is fetched for its reader.
    assert ask(port, listing)[1]["X-Cache"] == "stale"
    assert ask(port, page)[1]["X-Cache"] == "miss"


class SlowPage(http.server.ThreadingHTTPServer):
    """A stand-in app server: /page is a shared, tagged page whose render number `slow` waits
    until the test lets it go, as a render that began before a publish and ends after its
    purge."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", free_port()), SlowPageHandler)
        self.renders, self.slow, self.tags = 0, 1, f"site {INCIDENTS}"
        self.arrived, self.release = threading.Event(), threading.Event()


class SlowPageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n"
        if self.path == "/page":
            self.server.renders += 1
            number = self.server.renders
            if number == self.server.slow:
                self.server.arrived.set()
                self.server.release.wait(10)
            body = f"render {number}\n".encode()
        self.send_response(200)
        if self.path == "/page":
            control = "public, max-age=0, s-maxage=60, stale-while-revalidate=60"
            self.send_header("Cache-Control", control)
            self.send_header("Surrogate-Key", self.server.tags)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_page():
    server = SlowPage()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        parameters = {"thread_pool_min": 5, "thread_pool_max": 50}
        with Varnish([server.server_address[1]], parameters=parameters, storage="malloc,16m") as v:
            yield server, v.port
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def test_a_page_fetched_across_a_purge_is_not_stored(slow_page):
    server, port = slow_page
    answers = []
    reader = threading.Thread(target=lambda: answers.append(ask(port, "/page")))
    reader.start()
    assert server.arrived.wait(10), "the first fetch reached the app"
    # The publish's purge comes while that render is under way (nothing stored to drop yet).
    assert ask(port, "/", method="PURGE", headers={"xkey-purge": INCIDENTS})[0] == 200
    server.release.set()
    reader.join(10)

    status, headers, body = answers[0]
    assert (status, body) == (200, b"render 1\n"), "its reader still gets it"
    # It may show the rows before the publish, so the next reader gets a new render; that one
    # began after the purge and is kept.
    status, headers, body = ask(port, "/page")
    assert (status, headers["X-Cache"], body) == (200, "miss", b"render 2\n")
    status, headers, body = ask(port, "/page")
    assert (status, headers["X-Cache"], body) == (200, "hit", b"render 2\n")


def test_a_page_fetched_just_after_a_purge_is_stored(slow_page):
    server, port = slow_page
    server.slow, server.tags = 0, incident_tag("one")  # an incident's page: hard-purged
    # One connection for all, so each fetch starts a fraction of a millisecond after its purge:
    # closer than the millisecond Varnish prints a REAL to, which once refused to store them.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    seen = []
    try:
        for _ in range(50):
            connection.request("PURGE", "/", headers={"xkey-purge": incident_tag("one")})
            connection.getresponse().read()
            for _ in range(2):
                connection.request("GET", "/page")
                response = connection.getresponse()
                response.read()
                seen.append(response.headers["X-Cache"])
    finally:
        connection.close()
    assert seen == ["miss", "hit"] * 50


def test_a_background_refresh_across_a_purge_leaves_the_stale_copy(slow_page):
    server, port = slow_page
    server.slow = 2
    assert ask(port, "/page")[2] == b"render 1\n"
    purge = {"xkey-purge": INCIDENTS}  # a list's tag: soft-purged, served stale while refreshed
    assert ask(port, "/", method="PURGE", headers=purge)[1]["X-Purged"] == "1"
    status, headers, body = ask(port, "/page")
    assert (headers["X-Cache"], body) == ("stale", b"render 1\n")
    assert server.arrived.wait(10), "the background refresh reached the app"
    # A second publish while that refresh renders: what it brings may predate the change.
    ask(port, "/", method="PURGE", headers=purge)
    server.release.set()

    # Dropped: readers keep the stale copy, never that render, and the next reader's refresh,
    # begun after the purge, is kept.
    seen = []
    for _ in range(50):
        seen.append(ask(port, "/page")[2])
        if seen[-1] == b"render 3\n":
            break
        time.sleep(0.1)
    assert b"render 2\n" not in seen
    assert seen[-1] == b"render 3\n"
