"""Django's Redis cache backend, without the costs that matter on a page-cache hit.

Django's backend builds a new redis.Redis object for every operation, and building one (it
fills a table of some 170 response callbacks) costs as much CPU as the round trip it is for.
A client is safe to share: each command borrows a connection from the pool, and after a fork
the pool sees the new process and opens connections of its own. So one is kept per pool.

And every key is checked, character by character, for what memcached would refuse (50 µs for
the dozen keys of a hit). Redis takes any key, and ours are short hex digests.

With the option "near_keys" (key prefixes), reads of keys that all start with one of them are
served from a copy in the process while it is current (postmortems/near_cache.py), and every
write to such a key tells the other processes.
"""

from django.core.cache.backends import redis

from postmortems.near_cache import NearCache

# One copy per process and Redis database, shared by every cache object that points there (the
# test suite makes a new one per settings change).
_near_caches = {}


class ReusedClients(redis.RedisCacheClient):
    def __init__(self, servers, near_keys=(), **options):
        self.clients = {}
        super().__init__(servers, **options)
        self.near = None
        if near_keys:
            client = self.get_client(write=True)
            db = client.connection_pool.connection_kwargs.get("db", 0)
            # Channels are shared by every database of a server: name the database.
            channel = f"near-cache:{db}"
            place = (tuple(servers), channel, tuple(near_keys))
            if place not in _near_caches:
                _near_caches[place] = NearCache(client, channel, near_keys)
            self.near = _near_caches[place]

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self.clients.get(id(pool))  # pools live as long as this object
        if client is None:
            client = self.clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def get_many(self, keys):
        near = self.near
        if near is None or not near.holds(keys):
            return super().get_many(keys)
        raw = near.get(keys)
        if raw is None:
            dropped = near.dropped  # before the read: see NearCache.keep
            raw = self.get_client().mget(keys)
            near.keep(dropped, keys, raw)
        return {
            key: self._serializer.loads(value)
            for key, value in zip(keys, raw, strict=True)
            if value is not None
        }

    # Every write to a key is followed by the message; a key not near-cached is left out of it.

    def add(self, key, value, timeout):
        added = super().add(key, value, timeout)
        if added and self.near:
            self.near.changed([key])
        return added

    def set(self, key, value, timeout):
        super().set(key, value, timeout)
        if self.near:
            self.near.changed([key])

    def set_many(self, data, timeout):
        super().set_many(data, timeout)
        if self.near:
            self.near.changed(list(data))

    def delete(self, key):
        deleted = super().delete(key)
        if self.near:
            self.near.changed([key])
        return deleted

    def delete_many(self, keys):
        super().delete_many(keys)
        if self.near:
            self.near.changed(keys)

    def incr(self, key, delta):
        value = super().incr(key, delta)
        if self.near:
            self.near.changed([key])
        return value

    def clear(self):
        cleared = super().clear()
        if self.near:
            self.near.flushed()
        return cleared


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClients
        if self._options.get("near_keys"):
            # The prefixes of the keys as Redis stores them (KEY_PREFIX and version first).
            prefixes = [self.make_key(prefix) for prefix in self._options["near_keys"]]
            self._options = {**self._options, "near_keys": prefixes}

    def validate_key(self, key):
        pass
