"""A copy, in each process, of the cache keys a page-cache hit reads, dropped when they change.

A page-cache hit reads its page and its tags' versions from Redis. The round trip, and the
thread switch it forces in a busy worker, cost more than everything else the hit does, so a
stored page served from Redis took 1.4 times the CPU of `/healthz`. The values of some keys
(the pages and the tags' versions) are therefore also kept in each process, as Redis sent them,
and served from there while they stay current.

They stay current because every write to such a key, by any process on any server, publishes
the key's name on a Redis channel in the same MULTI/EXEC as the write (postmortems/
redis_cache.py), so there is never a write without its message. Each process listens on that
channel in a thread of its own and drops what it holds of the keys named; what a process writes
itself it drops before the write returns. A process serves copies only while its subscription
is known to work: the listener pings Redis when it has heard nothing for PING_SECONDS, and a
process that has heard nothing for HEARD_SECONDS (a silent network, a starved thread) reads
from Redis, as it does after a broken subscription, which also drops everything. A copy read
from Redis is kept only if nothing was dropped while it was being read, so a message handled
during the read cannot be undone by it.

Redis changes keys without a message when it expires or evicts them, or when someone types
FLUSHDB into redis-cli: nothing is kept longer than MAX_AGE_SECONDS, for those. (Pages and
tags' versions outlive their use in Redis by a day or forever, so neither matters here.)

Between a write and the moment another process has handled its message, that process may still
serve the previous value: well under a millisecond on an idle machine, longer while its threads
wait for the interpreter lock. A front cache refetching a purged page in that moment would keep
the old page, so settings keep the copy off when FRONT_CACHE_PURGE_URLS is set (a front cache
serves the hits then anyway).
"""

import json
import logging
import os
import threading
import time

logger = logging.getLogger(__name__)

MAX_BYTES = 32 * 1024 * 1024  # of values held per process: past it, it starts again empty
MAX_AGE_SECONDS = 60
PING_SECONDS = 0.5  # the listener pings Redis when it has heard nothing for this long;
HEARD_SECONDS = 1.5  # copies are served only if it heard from Redis this recently
EVERYTHING = b"*"  # the message of a FLUSHDB (cache.clear())


def message(keys):
    return json.dumps(keys)


class NearCache:
    """The copies one process holds of one Redis database's keys that start with `prefixes`."""

    def __init__(self, client, channel, prefixes):
        self.client, self.channel, self.prefixes = client, channel, tuple(prefixes)
        self._forked()
        # A forked worker starts with no listener and an unheld lock of its own.
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self):
        self.lock = threading.Lock()
        self.dropped = 0  # how many times anything was dropped: a read must not span one
        self._empty()
        self.listening = False
        self.heard = 0.0
        self.started = False

    def near_keys(self, keys):
        return [key for key in keys if key.startswith(self.prefixes)]

    def get(self, keys):
        """The raw values of these keys if this process holds every one, else None."""
        if not self.started:
            self._start()
        now = time.monotonic()
        if not self.listening or now - self.heard > HEARD_SECONDS:
            return None
        if now - self.emptied_at > MAX_AGE_SECONDS:
            self.drop_all()
            return None
        values = self.values
        try:
            return [values[key] for key in keys]
        except KeyError:
            return None

    def keep(self, dropped, keys, raw):
        """Keep what was read from Redis, unless anything was dropped since `dropped` was read
        (before the read began): the read may then hold a value older than the message."""
        with self.lock:
            if not self.listening or dropped != self.dropped:
                return
            for key, value in zip(keys, raw, strict=True):
                if value is None or key in self.values or len(value) > MAX_BYTES // 4:
                    continue
                if self.size + len(value) > MAX_BYTES:
                    self._empty()
                self.values[key] = value
                self.size += len(value)

    def drop(self, keys):
        with self.lock:
            self.dropped += 1
            for key in keys:
                self.size -= len(self.values.pop(key, b""))

    def drop_all(self):
        with self.lock:
            self._empty()

    def _empty(self):
        self.values, self.size = {}, 0  # bytes held
        self.dropped += 1
        self.emptied_at = time.monotonic()

    def _start(self):
        with self.lock:
            if self.started:
                return
            self.started = True
        threading.Thread(target=self._listen, name="near-cache", daemon=True).start()

    def _listen(self):
        pause = 0.1
        while True:
            began = time.monotonic()
            try:
                self._follow()
            except Exception as error:  # any failure means the same: read from Redis
                logger.warning("Near cache off until Redis answers again: %s", error)
            # Retry soon after a long subscription, backing off while Redis stays away.
            pause = 0.1 if time.monotonic() - began > 10 else min(pause * 2, 5.0)
            time.sleep(pause)

    def _follow(self):
        pubsub = self.client.pubsub()
        self.heard = time.monotonic()
        try:
            pubsub.subscribe(self.channel)
            while True:
                message = pubsub.get_message(timeout=PING_SECONDS)
                if message is None:
                    if time.monotonic() - self.heard > HEARD_SECONDS:
                        raise ConnectionError("Redis did not answer a ping")
                    pubsub.ping()
                    continue
                self.heard = time.monotonic()
                if message["type"] == "subscribe":
                    # Messages sent before this moment were missed: start empty.
                    with self.lock:
                        self._empty()
                        self.listening = True
                elif message["type"] == "message":
                    self._handle(message["data"])
        finally:
            with self.lock:
                self.listening = False
                self._empty()
            pubsub.close()

    def _handle(self, data):
        try:
            keys = None if data == EVERYTHING else json.loads(data)
        except ValueError:
            keys = None  # not ours: drop everything rather than guess
        if isinstance(keys, list):
            self.drop(keys)
        else:
            self.drop_all()
