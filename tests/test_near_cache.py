"""The near cache: each process's copy of the page cache's keys, current with every write."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.core.cache import caches
from django.test import RequestFactory

from outages import page_cache
from postmortems import near_cache
from tests.test_page_cache import redis_answers
from tests.test_settings import settings_with

ROOT = Path(__file__).resolve().parent.parent
LOCATION = "redis://127.0.0.1:6379/14"
NEAR = {
    "default": {
        "BACKEND": "postmortems.redis_cache.RedisCache",
        "LOCATION": LOCATION,
        "OPTIONS": {"near_keys": ["pm:page:", "pm:tag:"]},
    }
}
PAGE = "pm:page:one"
TAG = "pm:tag:one"


@pytest.fixture
def cache(settings):
    if not redis_answers():
        pytest.fail("Redis does not answer at 127.0.0.1:6379; the shared-cache tests need it.")
    settings.CACHES = NEAR
    cache = caches["default"]
    cache.get_many([PAGE])  # starts this process's listener
    wait_until(lambda: near_of(cache).listening)
    echoed(cache, cache.clear)  # its message must not arrive during the test
    yield cache
    cache.clear()


@pytest.fixture
def behind_its_back():
    """Redis itself, to change a key without telling anyone (as a FLUSHDB typed in redis-cli)."""
    client = redis.Redis.from_url(LOCATION)
    yield client
    client.close()


def near_of(cache):
    return cache._cache.near


def wait_until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("still not so after 5 s")
        time.sleep(0.01)


def echoed(cache, write):
    """Write, and wait for the write's own message to come back to this process (it drops the
    keys once more when it does), so what is read next stays held."""
    near = near_of(cache)
    before = near.dropped
    write()
    wait_until(lambda: near.dropped >= before + 2)


def encoded(cache, value):
    """The value as Redis holds it, in the backend's own encoding."""
    return cache._cache._serializer.dumps(value)


def test_a_second_read_is_served_from_the_process(cache, behind_its_back):
    echoed(cache, lambda: cache.set_many({PAGE: {"body": b"old"}, TAG: "v1"}, None))
    assert cache.get_many([PAGE, TAG]) == {PAGE: {"body": b"old"}, TAG: "v1"}  # from Redis, kept

    behind_its_back.set(cache.make_key(TAG), encoded(cache, "v2"))

    # Not re-read: unannounced changes are what the near cache cannot see.
    assert cache.get_many([PAGE, TAG])[TAG] == "v1"


def test_keys_outside_its_prefixes_are_always_read_from_redis(cache, behind_its_back):
    cache.set_many({TAG: "v1", "pm:render:one": "me"}, None)
    cache.get_many([TAG, "pm:render:one"])

    behind_its_back.set(cache.make_key("pm:render:one"), encoded(cache, "other"))

    assert cache.get_many([TAG, "pm:render:one"])["pm:render:one"] != "me"


def test_a_copy_is_a_new_object_on_every_read(cache):
    cache.set(PAGE, {"tags": {"site": "v1"}}, None)
    first = cache.get_many([PAGE])[PAGE]
    first["tags"]["site"] = "changed by a caller"

    assert cache.get_many([PAGE])[PAGE] == {"tags": {"site": "v1"}}


def test_its_own_writes_are_dropped_here_before_they_return(cache):
    near, key = near_of(cache), cache.make_key(TAG)
    writes = [
        (lambda: cache.incr(TAG), {TAG: 6}),
        (lambda: cache.set(TAG, "v2", None), {TAG: "v2"}),
        (lambda: cache.set_many({TAG: "v3"}, None), {TAG: "v3"}),
        (lambda: cache.delete(TAG), {}),
        (lambda: cache.add(TAG, "v4", None), {TAG: 5}),  # already there: not added
        (lambda: cache.delete_many([TAG, "pm:render:one"]), {}),
        (lambda: cache.set(TAG, "v5", 0), {}),
    ]
    for write, after in writes:
        echoed(cache, lambda: cache.set(TAG, 5, None))
        cache.get_many([TAG])
        assert near.get([key]) is not None  # held

        write()

        assert near.get([key]) is None  # dropped at once, not when the message comes back
        assert cache.get_many([TAG]) == after


def test_every_write_publishes_the_keys_it_wrote(cache):
    listener = redis.Redis.from_url(LOCATION).pubsub()
    listener.subscribe(near_of(cache).channel)
    wait_until(lambda: listener.get_message(timeout=0.1) is not None)  # subscribed

    cache.set_many({TAG: "v1", "pm:render:one": "me"}, None)
    cache.set("pm:render:two", "me", None)  # not near-cached: no message
    cache.add(PAGE, {"body": b""}, None)

    messages = []
    wait_until(lambda: messages.append(listener.get_message(timeout=0.1)) or len(messages) > 3)
    listener.close()
    sent = [json.loads(m["data"]) for m in messages if m]
    assert sent == [[cache.make_key(TAG)], [cache.make_key(PAGE)]]


def test_a_write_by_another_process_is_seen_once_its_message_arrives(cache):
    echoed(cache, lambda: cache.set(TAG, "v1", None))
    assert cache.get_many([TAG]) == {TAG: "v1"}
    assert near_of(cache).get([cache.make_key(TAG)]) is not None  # held here

    another_server(f"from django.core.cache import cache; cache.set({TAG!r}, 'v2', None)")

    wait_until(lambda: cache.get_many([TAG]) == {TAG: "v2"})


def test_a_bump_by_another_server_makes_the_page_miss_here(cache, settings):
    settings.PAGE_CACHE_SECONDS = 600
    tags = {"site", "incident:elb"}
    request = RequestFactory().get("/incidents/elb/")
    key = page_cache._page_key(request)
    versions = page_cache._versions(tags)
    echoed(cache, lambda: cache.set(key, {"tags": versions, "fresh_until": time.time() + 600}))
    assert page_cache._stored_page(key, tags)[1] is True  # fresh,
    # and held here, once the messages of those writes have come back
    wait_until(
        lambda: (
            page_cache._stored_page(key, tags)[1]
            and near_of(cache).get([cache.make_key(key)]) is not None
        )
    )

    another_server("from outages import page_cache; page_cache.bump(['incident:elb'])")

    wait_until(lambda: page_cache._stored_page(key, tags)[1] is False)


def another_server(code):
    """Run `code` in a process of its own with this test's Redis database as its cache."""
    env = {**os.environ, "CACHE_URL": LOCATION, "DJANGO_SETTINGS_MODULE": "postmortems.settings"}
    env.pop("FRONT_CACHE_PURGE_URLS", None)
    script = f"import django; django.setup(); {code}"
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=60)


def test_clear_drops_every_copy(cache, behind_its_back):
    cache.set(TAG, "v1", None)
    cache.get_many([TAG])
    cache.clear()

    assert cache.get_many([TAG]) == {}


def test_a_broken_subscription_drops_the_copies_until_it_is_back(cache, behind_its_back):
    near = near_of(cache)
    cache.set(TAG, "v1", None)
    cache.get_many([TAG])

    # Only this database's subscribers: other servers on this Redis are not ours to break.
    for client in behind_its_back.client_list(_type="pubsub"):
        if client["db"] == "14":
            behind_its_back.client_kill_filter(_id=client["id"])
    wait_until(lambda: not near.listening)
    behind_its_back.set(cache.make_key(TAG), encoded(cache, "v2"))

    assert cache.get_many([TAG]) == {TAG: "v2"}  # nothing held: read from Redis
    wait_until(lambda: near.listening)
    cache.get_many([TAG])
    assert near.get([cache.make_key(TAG)]) is not None  # held again once subscribed


def test_a_read_overtaken_by_a_message_is_not_kept(cache):
    near = near_of(cache)
    key = cache.make_key(TAG)
    before = near.dropped
    near.drop([key])  # a message handled while the read was on its way

    near.keep(before, [key], [b"v1"])

    assert near.get([key]) is None


def test_copies_are_dropped_after_their_longest_life(cache, behind_its_back, monkeypatch):
    cache.set(TAG, "v1", None)
    cache.get_many([TAG])
    behind_its_back.set(cache.make_key(TAG), encoded(cache, "v2"))

    monkeypatch.setattr(near_cache, "MAX_AGE_SECONDS", 0)

    assert cache.get_many([TAG]) == {TAG: "v2"}


def test_settings_keep_it_for_redis_without_a_front_cache(monkeypatch):
    monkeypatch.delenv("NEAR_CACHE", raising=False)
    monkeypatch.delenv("FRONT_CACHE_PURGE_URLS", raising=False)
    options = settings_with(monkeypatch, CACHE_URL=LOCATION)["CACHES"]["default"]["OPTIONS"]

    # The page cache's pages and tag versions, and nothing else.
    request = RequestFactory().get("/incidents/elb/")
    for key in [page_cache._page_key(request), page_cache._tag_key("site")]:
        assert key.startswith(tuple(options["near_keys"]))
    assert not page_cache._lock_key("pm:page:x").startswith(tuple(options["near_keys"]))


def test_settings_turn_it_off_behind_a_front_cache(monkeypatch):
    monkeypatch.delenv("NEAR_CACHE", raising=False)
    read = settings_with(
        monkeypatch, CACHE_URL=LOCATION, FRONT_CACHE_PURGE_URLS="http://127.0.0.1:6081/"
    )

    assert "near_keys" not in read["CACHES"]["default"].get("OPTIONS", {})


def test_it_starts_again_empty_past_its_size(cache, monkeypatch):
    near = near_of(cache)
    monkeypatch.setattr(near_cache, "MAX_BYTES", 20)  # values of up to 5 bytes are kept
    keys = [cache.make_key(f"pm:tag:{number}") for number in range(5)]
    for key in keys[:4]:
        near.keep(near.dropped, [key], [b"12345"])
    assert near.get(keys[:4]) == [b"12345"] * 4

    near.keep(near.dropped, [keys[4]], [b"12345"])  # 25 bytes: over
    near.keep(near.dropped, [cache.make_key(TAG)], [b"123456"])  # too big to keep at all

    assert near.get(keys[:1]) is None
    assert near.get(keys[4:]) == [b"12345"]
    assert near.get([cache.make_key(TAG)]) is None


def test_nothing_is_served_from_the_process_when_redis_has_not_answered_lately(
    cache, behind_its_back
):
    near = near_of(cache)
    echoed(cache, lambda: cache.set(TAG, "v1", None))
    cache.get_many([TAG])
    behind_its_back.set(cache.make_key(TAG), encoded(cache, "v2"))
    assert cache.get_many([TAG]) == {TAG: "v1"}

    near.heard -= near_cache.HEARD_SECONDS  # as if the listener had heard nothing since

    assert cache.get_many([TAG]) == {TAG: "v2"}


def test_a_render_reads_through_to_what_another_server_stored(cache, behind_its_back):
    """After taking the render lock, the page another server stored before letting go of the
    lock is read from Redis, even while this process's copy has not heard of it yet."""
    tags = {"site"}
    key = page_cache._page_key(RequestFactory().get("/incidents/"))
    versions = page_cache._versions(tags)
    old = {"tags": {"site": "before"}, "fresh_until": time.time() + 600}
    echoed(cache, lambda: cache.set(key, old, None))
    wait_until(lambda: page_cache._stored_page(key, tags)[0] == old)
    assert near_of(cache).get([cache.make_key(key)]) is not None  # the old page, held here

    new = {"tags": versions, "fresh_until": time.time() + 600}
    behind_its_back.set(cache.make_key(key), encoded(cache, new))  # its message not yet here

    assert page_cache._stored_page(key, tags) == (old, False)  # a hit's look: the copy
    assert page_cache._stored_page(key, tags, through=True) == (new, True)
