"""Django's Redis cache backend, without the costs that matter on a page-cache hit.

Django's backend builds a new redis.Redis object for every operation, and building one (it
fills a table of some 170 response callbacks) costs as much CPU as the round trip it is for.
A client is safe to share: each command borrows a connection from the pool, and after a fork
the pool sees the new process and opens connections of its own. So one is kept per pool.

And every key is checked, character by character, for what memcached would refuse (50 µs for
the dozen keys of a hit). Redis takes any key, and ours are short hex digests.

With the option "near_keys" (key prefixes), reads of keys that all start with one of them are
served from a copy in the process while it is current (postmortems/near_cache.py), and every
write to such a key tells the other processes, in the same MULTI/EXEC.
"""

import threading

from django.core.cache.backends import redis
from django.core.exceptions import ImproperlyConfigured

from postmortems import near_cache
from postmortems.near_cache import NearCache

# One copy per process and Redis database, shared by every cache object that points there
# (Django makes one per thread, and the test suite one per settings change).
_near_caches = {}
_near_caches_lock = threading.Lock()


class ReusedClients(redis.RedisCacheClient):
    def __init__(self, servers, near_keys=(), **options):
        self.clients = {}
        super().__init__(servers, **options)
        self.near = None
        if near_keys:
            if len(servers) > 1:
                # A replica's lag would bring back what a message dropped.
                raise ImproperlyConfigured("The near cache needs a single Redis server.")
            client = self.get_client(write=True)
            db = client.connection_pool.connection_kwargs.get("db", 0)
            # Channels are shared by every database of a server: name the database.
            channel = f"near-cache:{db}"
            place = (tuple(servers), channel, tuple(near_keys))
            with _near_caches_lock:
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
        if near is None or len(near.near_keys(keys)) < len(keys):
            return super().get_many(keys)
        raw = near.get(keys)
        if raw is None:
            dropped = near.dropped  # before the read: see NearCache.keep
            raw = self.get_client(write=True).mget(keys)
            near.keep(dropped, keys, raw)
        loads = self._serializer.loads
        return {
            key: loads(value) for key, value in zip(keys, raw, strict=True) if value is not None
        }

    # Writes to near-cached keys: Django's own, each in one MULTI/EXEC with its message.

    def _write(self, keys, commands):
        """Run commands(pipeline) and publish the names of `keys` in one MULTI/EXEC, so the
        write never happens without its message; drop the keys here before returning. The
        commands' replies, without the message's."""
        pipeline = self.get_client(write=True).pipeline(transaction=True)
        commands(pipeline)
        pipeline.publish(self.near.channel, near_cache.message(keys))
        try:
            return pipeline.execute()[:-1]
        finally:
            self.near.drop(keys)

    def _near(self, keys):
        return self.near.near_keys(keys) if self.near else []

    def add(self, key, value, timeout):
        if not self._near([key]) or timeout == 0:  # timeout 0: added and deleted, no change
            return super().add(key, value, timeout)
        value = self._serializer.dumps(value)
        return bool(self._write([key], lambda p: p.set(key, value, ex=timeout, nx=True))[0])

    def set(self, key, value, timeout):
        if not self._near([key]):
            return super().set(key, value, timeout)
        value = self._serializer.dumps(value)
        if timeout == 0:
            self._write([key], lambda p: p.delete(key))
        else:
            self._write([key], lambda p: p.set(key, value, ex=timeout))

    def set_many(self, data, timeout):
        near = self._near(data)
        if not near:
            return super().set_many(data, timeout)

        def commands(pipeline):
            pipeline.mset({key: self._serializer.dumps(value) for key, value in data.items()})
            if timeout is not None:
                for key in data:
                    pipeline.expire(key, timeout)

        self._write(near, commands)

    def delete(self, key):
        if not self._near([key]):
            return super().delete(key)
        return bool(self._write([key], lambda p: p.delete(key))[0])

    def delete_many(self, keys):
        near = self._near(keys)
        if not near:
            return super().delete_many(keys)
        self._write(near, lambda p: p.delete(*keys))

    def incr(self, key, delta):
        if not self._near([key]):
            return super().incr(key, delta)
        if not self.get_client(write=True).exists(key):
            raise ValueError(f"Key '{key}' not found.")
        return self._write([key], lambda p: p.incr(key, delta))[0]

    def clear(self):
        if not self.near:
            return super().clear()
        pipeline = self.get_client(write=True).pipeline(transaction=True)
        pipeline.flushdb()
        pipeline.publish(self.near.channel, near_cache.EVERYTHING)
        try:
            return bool(pipeline.execute()[0])
        finally:
            self.near.drop_all()


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
