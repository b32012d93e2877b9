"""Single flight: a page that misses is rendered by one request; the others get the previous
version, marked stale, or wait a bounded time for the one render."""

import threading

import pytest
from django.core.cache import cache, caches
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.http import HttpResponse
from django.test import RequestFactory

from outages import page_cache
from tests.test_page_cache import any_cache  # noqa: F401 (a fixture: local memory, then Redis)

URL = "/incidents/"


def keys_of(url):
    page = page_cache._page_key(RequestFactory().get(url))
    return page, page_cache._lock_key(page)


def another_request_renders(url):
    """Take the render lock of url's page as a request in another worker would."""
    _, lock = keys_of(url)
    assert cache.add(lock, "another worker", 60)
    return lock


@pytest.fixture
def stored(client, make_incidents):
    """The incident list, stored, then made stale by a change to the incidents."""
    make_incidents(3)
    first = client.get(URL)
    assert first["X-Page-Cache"] == "miss"
    page_cache.bump([page_cache.INCIDENTS])
    return first


@pytest.mark.usefixtures("any_cache")
def test_while_another_request_renders_readers_get_the_previous_version_marked_stale(
    client, stored, django_assert_num_queries
):
    another_request_renders(URL)

    with django_assert_num_queries(0):
        response = client.get(URL)
        head = client.head(URL)

    assert response["X-Page-Cache"] == "stale"
    assert response.content == stored.content
    assert response["ETag"] == stored["ETag"]
    assert (head.status_code, head["X-Page-Cache"]) == (200, "stale")


@pytest.mark.usefixtures("any_cache")
def test_the_first_request_after_a_change_renders_stores_and_lets_go(client, stored):
    _, lock = keys_of(URL)

    assert client.get(URL)["X-Page-Cache"] == "miss"

    assert cache.get(lock) is None
    assert client.get(URL)["X-Page-Cache"] == "hit"


def test_a_page_past_its_freshness_is_also_served_stale_while_it_renders(client, make_incidents):
    make_incidents(1)
    first = client.get(URL)
    page, _ = keys_of(URL)
    cache.set(page, {**cache.get(page), "fresh_until": 0})
    another_request_renders(URL)

    assert client.get(URL).content == first.content
    assert client.get(URL)["X-Page-Cache"] == "stale"
    cache.delete(keys_of(URL)[1])
    assert client.get(URL)["X-Page-Cache"] == "miss"


def test_without_a_previous_version_a_reader_waits_for_the_one_render(
    client, make_incidents, monkeypatch, django_assert_num_queries
):
    make_incidents(2)
    rendered = client.get(URL)
    page, lock = keys_of(URL)
    entry = cache.get(page)
    cache.delete(page)
    another_request_renders(URL)
    pauses = []

    def other_finishes(seconds):
        pauses.append(seconds)
        cache.set(page, entry)
        cache.delete(lock)

    monkeypatch.setattr(page_cache, "_pause", other_finishes)
    with django_assert_num_queries(0):
        response = client.get(URL)

    assert response["X-Page-Cache"] == "hit"
    assert response.content == rendered.content
    assert len(pauses) == 1
    assert cache.get(lock) is None


def test_a_reader_waits_no_longer_than_the_bound_then_renders_itself(
    client, make_incidents, monkeypatch, settings
):
    settings.PAGE_CACHE_WAIT_SECONDS = 0.05
    make_incidents(2)
    lock = another_request_renders(URL)
    pauses = []
    # A clock that moves only when the reader pauses, so the bound is checked by what the
    # reader waited for, whatever else the machine is doing.
    clock = [1000.0]

    def pause(seconds):
        pauses.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(page_cache, "_pause", pause)
    monkeypatch.setattr(page_cache.time, "monotonic", lambda: clock[0])
    response = client.get(URL)

    assert response.status_code == 200
    assert response["X-Page-Cache"] == "miss"
    assert "Incident 2" in response.content.decode()
    assert pauses and sum(pauses) == pytest.approx(0.05)
    assert cache.get(lock) == "another worker"  # never taken from its holder
    assert client.get(URL)["X-Page-Cache"] == "hit"  # what it rendered was stored


def reader_view(*responses):
    """A cached view answering these responses in turn, and the list of its calls."""
    calls = []

    def view(request):
        calls.append(request)
        answer = responses[len(calls) - 1]
        return answer() if callable(answer) else answer

    return page_cache.cached()(view), calls


def page(text, status=200):
    return HttpResponse(text, status=status)


def test_a_render_that_raises_lets_go_of_the_lock_and_stores_nothing(rf):
    def broken():
        raise ValueError("a bug")

    view, calls = reader_view(broken, page("fixed"))
    key, lock = keys_of("/page/")

    with pytest.raises(ValueError):
        view(rf.get("/page/"))

    assert cache.get(lock) is None
    assert cache.get(key) is None
    assert view(rf.get("/page/")).content == b"fixed"


def test_a_server_error_is_not_stored_and_the_previous_version_is_served_instead(rf, db):
    view, calls = reader_view(page("first"), page("down", 503), page("down", 503))
    view(rf.get("/page/"))
    page_cache.invalidate_all()

    response = view(rf.get("/page/"))

    assert (response.status_code, response.content) == (200, b"first")
    assert response["X-Page-Cache"] == "stale"
    assert cache.get(keys_of("/page/")[1]) is None
    cache.clear()
    assert view(rf.get("/page/")).status_code == 503  # with nothing to fall back on
    assert len(calls) == 3


def test_with_the_database_down_the_renderer_serves_the_previous_version(
    client, stored, monkeypatch
):
    def refuse(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(CursorWrapper, "execute", refuse)
        response = client.get(URL)

    assert response.status_code == 200
    assert response["X-Page-Cache"] == "stale"
    assert response.content == stored.content
    assert client.get(URL)["X-Page-Cache"] == "miss"  # the database is back: rendered again


def test_a_renderer_whose_lock_expired_leaves_the_next_holder_s_lock(rf):
    key, lock = keys_of("/page/")

    def slow():
        cache.set(lock, "the next holder")  # ours expired and another request took it
        return page("rendered")

    view, calls = reader_view(slow)

    assert view(rf.get("/page/"))["X-Page-Cache"] == "miss"
    assert cache.get(lock) == "the next holder"
    assert cache.get(key)["body"] == b"rendered"  # what it rendered is still good to keep


def test_editors_are_never_held_back_by_a_render(client, admin_client, stored):
    another_request_renders(URL)

    response = admin_client.get(URL)

    assert response.status_code == 200
    assert "X-Page-Cache" not in response


def test_two_readers_missing_together_render_the_page_once(rf, monkeypatch):
    rendering, finish = threading.Event(), threading.Event()

    def slow():
        rendering.set()
        assert finish.wait(10)
        return page("the one render")

    view, calls = reader_view(slow, page("a second render"))
    answers = {}

    def read(name):
        answers[name] = view(rf.get("/page/"))

    first = threading.Thread(target=read, args=["first"])
    first.start()
    assert rendering.wait(10)

    def let_the_first_finish(seconds):
        finish.set()
        first.join(10)

    monkeypatch.setattr(page_cache, "_pause", let_the_first_finish)
    read("second")

    assert len(calls) == 1
    assert answers["first"]["X-Page-Cache"] == "miss"
    assert answers["second"]["X-Page-Cache"] == "hit"
    assert answers["second"].content == b"the one render"


def count_round_trips(monkeypatch):
    """The names of the cache calls made from now on, in order (not the calls local memory's
    get_many makes to get: with Redis, get_many is one round trip)."""
    backend, calls, inside = caches["default"], [], []
    for name in ("get", "get_many", "add", "set", "set_many", "delete"):
        real = getattr(backend, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            if not inside:
                calls.append(_name)
            inside.append(_name)
            try:
                return _real(*args, **kwargs)
            finally:
                inside.pop()

        monkeypatch.setattr(backend, name, counted)
    return calls


def test_a_fresh_hit_is_still_one_round_trip_and_a_stale_answer_two(client, stored, monkeypatch):
    client.get(URL)
    calls = count_round_trips(monkeypatch)

    assert client.get(URL)["X-Page-Cache"] == "hit"
    assert calls == ["get_many"]

    page_cache.bump([page_cache.INCIDENTS])
    another_request_renders(URL)
    calls.clear()
    assert client.get(URL)["X-Page-Cache"] == "stale"
    assert calls == ["get_many", "add"]


def test_a_change_committed_already_moves_its_tags_once(monkeypatch):
    calls = count_round_trips(monkeypatch)

    page_cache.bump([page_cache.INCIDENTS])

    assert calls == ["set_many"]


def test_a_change_inside_a_transaction_moves_its_tags_again_at_the_commit(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    calls = count_round_trips(monkeypatch)

    with django_capture_on_commit_callbacks(execute=True):
        page_cache.bump([page_cache.INCIDENTS])
        assert calls == ["set_many"]

    assert calls == ["set_many", "set_many"]


def test_a_reader_that_takes_the_lock_just_after_another_render_serves_that_render(
    client, stored, monkeypatch, django_assert_num_queries
):
    page, lock = keys_of(URL)
    seen = cache.get(page)  # what this reader found: the page before the change...
    assert client.get(URL)["X-Page-Cache"] == "miss"  # ...then another rendered it and let go
    looks = iter([(seen, False)])
    real = page_cache._stored_page
    monkeypatch.setattr(
        page_cache,
        "_stored_page",
        lambda key, tags, through=False: next(looks, None) or real(key, tags, through),
    )

    with django_assert_num_queries(0):
        response = client.get(URL)

    assert response["X-Page-Cache"] == "hit"
    assert cache.get(lock) is None


def test_a_render_overtaken_by_a_change_leaves_the_newer_page_stored(rf, db):
    key, _ = keys_of("/page/")

    def overtaken(request):
        # A change commits, and a request on another server renders and stores the new page,
        # all while this render, begun on the old rows, is still under way.
        page_cache.bump(["incidents"])
        newer = page_cache._versions({page_cache.SITE, "incidents"})
        page_cache._store(key, newer, page("the new rows"))
        return page("the old rows")

    view = page_cache.cached(lambda kwargs: "incidents")(overtaken)

    assert view(rf.get("/page/")).content == b"the old rows"  # its reader still gets it
    again = view(rf.get("/page/"))
    assert (again["X-Page-Cache"], again.content) == ("hit", b"the new rows")
