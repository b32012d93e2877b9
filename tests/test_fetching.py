"""The one HTTP client: limits, conditional requests, redirects, JSON checks and pace, against
pytest-httpserver on 127.0.0.1 (allowed by the fetch_locally fixture)."""

import gzip
import json
import time

import pytest
from werkzeug import Response

from outages.interchange import fetching
from outages.interchange.fetching import FetchFailed, fetch, read

HISTORY = {"incidents": [{"id": "test-1", "name": "Test incident, not a real outage"}]}


def local(httpserver, path):
    return f"http://127.0.0.1:{httpserver.port}{path}"


def refusal(source, via=fetch, **kwargs):
    """The message that fetch() (or read()) fails with."""
    with pytest.raises(FetchFailed) as failure:
        via(source, **kwargs)
    return str(failure.value)


def test_json_comes_back_with_its_etag(httpserver, fetch_locally):
    httpserver.expect_request("/incidents.json").respond_with_json(
        HISTORY, headers={"ETag": '"v1"'}
    )
    url = local(httpserver, "/incidents.json")

    fetched = fetch(url, expect_json=True)

    assert fetched.status == 200 and not fetched.not_modified
    assert json.loads(fetched.body) == HISTORY
    assert fetched.content_type == "application/json"
    assert fetched.etag == '"v1"'
    assert fetched.last_modified == ""
    assert fetched.url == fetched.final_url == url
    assert fetched.fetched_at.utcoffset().total_seconds() == 0


def test_the_etag_is_sent_back_and_a_304_has_no_body(httpserver, fetch_locally):
    httpserver.expect_request(
        "/incidents.json", headers={"If-None-Match": '"v1"'}
    ).respond_with_data("", status=304)

    fetched = fetch(local(httpserver, "/incidents.json"), etag='"v1"', expect_json=True)

    request = httpserver.log[0][0]
    assert request.headers["If-None-Match"] == '"v1"'
    assert fetched.not_modified and fetched.status == 304
    assert fetched.body == b""
    assert fetched.etag == '"v1"'  # a 304 need not repeat it; the one sent still holds


def test_last_modified_is_returned_and_sent_back(httpserver, fetch_locally):
    stamp = "Wed, 02 Dec 2026 10:00:00 GMT"
    httpserver.expect_ordered_request("/feed.atom").respond_with_data(
        "<feed/>", content_type="application/atom+xml", headers={"Last-Modified": stamp}
    )
    httpserver.expect_ordered_request(
        "/feed.atom", headers={"If-Modified-Since": stamp}
    ).respond_with_data("", status=304)
    url = local(httpserver, "/feed.atom")

    first = fetch(url)
    second = fetch(url, last_modified=first.last_modified)

    assert first.last_modified == stamp and first.content_type == "application/atom+xml"
    assert httpserver.log[1][0].headers["If-Modified-Since"] == stamp
    assert "If-None-Match" not in httpserver.log[1][0].headers
    assert second.not_modified and second.last_modified == stamp


def test_a_304_to_a_plain_request_is_a_failure(httpserver, fetch_locally):
    httpserver.expect_request("/x").respond_with_data("", status=304)
    url = local(httpserver, "/x")

    failure = refusal(url)

    assert failure == f"{url}: the server answered 304 Not Modified"


def test_redirects_are_followed_and_final_url_says_where_it_ended(httpserver, fetch_locally):
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/moved"}
    )
    httpserver.expect_request("/moved").respond_with_data(
        "", status=302, headers={"Location": local(httpserver, "/new.json")}
    )
    httpserver.expect_request("/new.json").respond_with_json(HISTORY)
    url = local(httpserver, "/old")

    fetched = fetch(url, expect_json=True)

    assert fetched.url == url
    assert fetched.final_url == local(httpserver, "/new.json")
    assert json.loads(fetched.body) == HISTORY
    assert [entry[0].path for entry in httpserver.log] == ["/old", "/moved", "/new.json"]


def test_five_redirects_are_followed_and_a_loop_is_refused(httpserver, fetch_locally):
    for hop in range(5):
        httpserver.expect_request(f"/hop{hop}").respond_with_data(
            "", status=307, headers={"Location": f"/hop{hop + 1}"}
        )
    httpserver.expect_request("/hop5").respond_with_data("done")
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    loop = local(httpserver, "/a")

    assert fetch(local(httpserver, "/hop0")).body == b"done"
    failure = refusal(loop)

    assert failure == f"{loop}: was redirected more than 5 times"
    assert len(httpserver.log) == 6 + 6  # the chain, then the loop's first request and 5 more


def test_a_body_that_trickles_in_fails_once_the_whole_may_not_take_longer(
    httpserver, fetch_locally
):
    # Each byte arrives well within the timeout; the whole body never would in time. (Before
    # the slow-server test below: the test server answers one request at a time, and that
    # test leaves it asleep for a moment.)
    def trickle(request):
        def drip():
            for _ in range(40):
                time.sleep(0.1)
                yield b"x"

        return Response(drip(), content_type="text/plain")

    fetch_locally.FETCH_TIMEOUT = 0.3
    httpserver.expect_request("/drip").respond_with_handler(trickle)
    url = local(httpserver, "/drip")

    failure = refusal(url)

    assert failure == f"{url}: took more than 1.8 s to send its body"


def test_a_server_that_does_not_answer_in_time_fails(httpserver, fetch_locally):
    def slow(request):
        time.sleep(1)
        return Response("late")

    fetch_locally.FETCH_TIMEOUT = 0.3
    httpserver.expect_request("/slow").respond_with_handler(slow)
    url = local(httpserver, "/slow")

    failure = refusal(url)

    assert failure == f"{url}: did not answer within 0.3 s"


def test_a_declared_length_over_the_limit_is_refused_unread(httpserver, fetch_locally):
    fetch_locally.FETCH_MAX_BYTES = 1024
    httpserver.expect_request("/big").respond_with_data(b"x" * 2000)
    url = local(httpserver, "/big")

    failure = refusal(url)

    assert failure == f"{url}: the response is larger than the 1 KB limit (2000 bytes)"


def test_the_limit_reads_in_megabytes(httpserver, fetch_locally):
    fetch_locally.FETCH_MAX_BYTES = 20 * 1024 * 1024
    # Werkzeug counts a body given whole; a body given as an iterable keeps the header.
    httpserver.expect_request("/huge").respond_with_response(
        Response(iter([b"x"]), headers={"Content-Length": "30000000"})
    )

    with pytest.raises(
        FetchFailed, match=r": the response is larger than the 20 MB limit \(30000000 bytes\)$"
    ):
        fetch(local(httpserver, "/huge"))


def test_a_streamed_body_over_the_limit_is_refused(httpserver, fetch_locally):
    fetch_locally.FETCH_MAX_BYTES = 1000
    sent = []

    def stream(request):
        def chunks():
            for _ in range(100):
                sent.append(1)
                yield b"y" * 100

        return Response(chunks(), content_type="application/json")

    httpserver.expect_request("/stream").respond_with_handler(stream)
    url = local(httpserver, "/stream")

    failure = refusal(url)

    assert failure == f"{url}: the response is larger than the 1000 bytes limit"
    assert "Content-Length" not in httpserver.log[0][1].headers  # nothing said how long


def test_a_gzip_body_is_decoded(httpserver, fetch_locally):
    body = json.dumps(HISTORY).encode()
    httpserver.expect_request("/gz").respond_with_data(
        gzip.compress(body), content_type="application/json", headers={"Content-Encoding": "gzip"}
    )

    fetched = fetch(local(httpserver, "/gz"), expect_json=True)

    assert httpserver.log[0][0].headers["Accept-Encoding"] == "gzip"
    assert fetched.body == body


def test_a_small_gzip_that_expands_past_the_limit_is_refused(httpserver, fetch_locally):
    fetch_locally.FETCH_MAX_BYTES = 1024 * 1024
    bomb = gzip.compress(b"0" * (50 * 1024 * 1024))
    assert len(bomb) < 1024 * 1024
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    url = local(httpserver, "/bomb")

    failure = refusal(url)

    assert failure == f"{url}: the response is larger than the 1 MB limit"


@pytest.mark.parametrize(
    ("content_type", "body", "said"),
    [
        ("text/html; charset=utf-8", "<p>Sign in</p>", "sent text/html where JSON was expected"),
        ("application/json", "oops", "is not valid JSON: Expecting value at line 1 column 1"),
        (
            "application/json",
            "[" * 100_000,
            "is JSON nested too deeply to read",
        ),
    ],
)
def test_a_body_that_is_not_json_is_refused(httpserver, fetch_locally, content_type, body, said):
    httpserver.expect_request("/incidents.json").respond_with_data(body, content_type=content_type)
    url = local(httpserver, "/incidents.json")

    assert refusal(url, expect_json=True) == f"{url}: {said}"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain; charset=utf-8", "application/vnd.example+json; charset=utf-8", "TEXT/JSON"],
)
def test_json_under_other_labels_is_accepted_when_it_parses(
    httpserver, fetch_locally, content_type
):
    httpserver.expect_request("/x").respond_with_data(
        json.dumps(HISTORY), content_type=content_type
    )

    fetched = fetch(local(httpserver, "/x"), expect_json=True)

    assert fetched.content_type == content_type.split(";")[0].lower()
    assert httpserver.log[0][0].headers["Accept"].startswith("application/json")


@pytest.mark.parametrize(
    ("status", "said"), [(404, "404 Not Found"), (500, "500 Internal Server Error")]
)
def test_an_error_status_is_a_failure(httpserver, fetch_locally, status, said):
    httpserver.expect_request("/x").respond_with_data("nope", status=status)
    url = local(httpserver, "/x")

    failure = refusal(url)

    assert failure == f"{url}: the server answered {said}"


def test_requests_say_who_we_are(httpserver, fetch_locally):
    fetch_locally.FETCH_USER_AGENT = "postmortems-test/1.0 (+https://example.org/about)"
    httpserver.expect_request("/x").respond_with_data("ok")

    fetch(local(httpserver, "/x"))

    headers = httpserver.log[0][0].headers
    assert headers["User-Agent"] == "postmortems-test/1.0 (+https://example.org/about)"
    assert headers["Accept"].startswith("text/html")


class Clock:
    """time.monotonic and time.sleep for fetching only: sleeping moves the clock, nothing
    waits."""

    def __init__(self):
        self.now, self.slept = 1000.0, []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_requests_to_one_host_are_spaced(httpserver, fetch_locally, monkeypatch):
    fetch_locally.FETCH_MIN_INTERVAL = 0.5
    clock = Clock()
    monkeypatch.setattr(fetching, "time", clock)
    monkeypatch.setattr(fetching, "_next_turn", {})
    httpserver.expect_request("/x").respond_with_data("ok")

    fetch(local(httpserver, "/x"))
    fetch(local(httpserver, "/x"))
    clock.now += 0.2
    fetch(local(httpserver, "/x"))
    fetch(f"http://localhost:{httpserver.port}/x")  # another name: its own turn

    assert clock.slept == [0.5, pytest.approx(0.3)]
    assert len(httpserver.log) == 4


def test_read_opens_a_local_file(tmp_path, settings):
    path = tmp_path / "incidents.json"
    path.write_text(json.dumps(HISTORY))

    fetched = read(str(path), expect_json=True)

    assert fetched.url == fetched.final_url == str(path)
    assert (fetched.status, fetched.content_type, fetched.etag) == (200, "application/json", "")
    assert json.loads(fetched.body) == HISTORY
    assert fetched.fetched_at.utcoffset().total_seconds() == 0
    assert read(path).url == str(path)  # a Path works too


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("feed.xml", "application/xml"),
        ("feed.atom", "application/atom+xml"),
        ("feed.rss", "application/rss+xml"),
        ("notes", ""),
    ],
)
def test_read_guesses_the_type_from_the_extension(tmp_path, name, content_type):
    path = tmp_path / name
    path.write_text("<feed/>")

    assert read(path).content_type == content_type


def test_read_refuses_a_missing_an_oversized_or_a_non_json_file(tmp_path, settings):
    settings.FETCH_MAX_BYTES = 1024
    big, page = tmp_path / "big.json", tmp_path / "page.html"
    big.write_bytes(b"1" * 1025)
    page.write_text("<p>not JSON</p>")

    missing = refusal(tmp_path / "missing.json", via=read)
    oversized = refusal(big, via=read)
    html = refusal(page, via=read, expect_json=True)

    assert missing == f"no such file: {tmp_path / 'missing.json'}"
    assert oversized == f"{big}: the file is larger than the 1 KB limit"
    assert html == f"{page}: is text/html where JSON was expected"


def test_read_hands_urls_to_fetch(httpserver, fetch_locally):
    httpserver.expect_request("/x.json").respond_with_json(HISTORY)

    assert json.loads(read(local(httpserver, "/x.json"), expect_json=True).body) == HISTORY
    with pytest.raises(FetchFailed, match=r"^file:///etc/passwd: refused: only http"):
        read("file:///etc/passwd")
