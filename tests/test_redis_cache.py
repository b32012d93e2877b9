"""The Redis cache backend: Django's, keeping one client per connection pool."""

import pytest
from django.core.cache import caches

from tests.test_page_cache import redis_answers
from tests.test_settings import settings_with


@pytest.fixture
def redis_cache(settings):
    if not redis_answers():
        pytest.fail("Redis does not answer at 127.0.0.1:6379; the shared-cache tests need it.")
    settings.CACHES = {
        "default": {
            "BACKEND": "postmortems.redis_cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
        }
    }
    cache = caches["default"]
    cache.clear()
    yield cache
    cache.clear()


def test_a_redis_cache_url_gets_the_backend(monkeypatch):
    read = settings_with(monkeypatch, CACHE_URL="redis://127.0.0.1:6379/0")

    assert read["CACHES"]["default"]["BACKEND"] == "postmortems.redis_cache.RedisCache"


def test_it_behaves_as_djangos_backend(redis_cache):
    assert redis_cache.add("a", {"page": b"\x1f\x8b"}, 60)
    assert not redis_cache.add("a", "other", 60)
    redis_cache.set_many({"b": 1, "c": "three"}, None)

    assert redis_cache.get_many(["a", "b", "c", "missing"]) == {
        "a": {"page": b"\x1f\x8b"},
        "b": 1,
        "c": "three",
    }
    assert redis_cache.incr("b") == 2
    redis_cache.delete("a")
    assert redis_cache.get("a") is None


def test_every_operation_shares_one_client(redis_cache):
    redis_cache.get("a")
    first = redis_cache._cache.get_client()
    redis_cache.set("a", 1)

    assert redis_cache._cache.get_client(write=True) is first
    assert redis_cache._cache.get_client() is first
