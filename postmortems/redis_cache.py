"""Django's Redis cache backend, without two costs that matter on a page-cache hit.

Django's backend builds a new redis.Redis object for every operation, and building one (it
fills a table of some 170 response callbacks) costs as much CPU as the round trip it is for.
A client is safe to share: each command borrows a connection from the pool, and after a fork
the pool sees the new process and opens connections of its own. So one is kept per pool.

And every key is checked, character by character, for what memcached would refuse (50 µs for
the dozen keys of a hit). Redis takes any key, and ours are short hex digests.
"""

from django.core.cache.backends import redis


class ReusedClients(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        self.clients = {}
        super().__init__(*args, **kwargs)

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self.clients.get(id(pool))  # pools live as long as this object
        if client is None:
            client = self.clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClients

    def validate_key(self, key):
        pass
