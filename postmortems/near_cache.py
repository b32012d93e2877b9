"""A copy, in each process, of the cache keys a page-cache hit reads, dropped when they change.

A page-cache hit reads its page and its tags' versions from Redis. The round trip, and the
thread switch it forces in a busy worker, cost more than everything else the hit does, so a
stored page served from Redis took 1.4 times the CPU of `/healthz`. The values of some keys
(the pages and the tags' versions) are therefore also kept in each process, as Redis sent them,
and served from there while they stay current.

They stay current because every write to such a key, by any process on any server, publishes
the key's name on a Redis channel after the write, and each process listens on that channel in
a thread of its own, dropping what it holds of the keys named. What a process writes itself it
drops at once, before the write returns. A process keeps copies only while it is listening:
when its subscription breaks (Redis restarted, the network failed, no answer to a ping), it
drops everything and reads from Redis until it has subscribed again. A copy read from Redis is
kept only if no key was dropped while it was being read, so a change published during the read
cannot be undone by it. And nothing is kept longer than MAX_AGE_SECONDS, in case a key changes
without a message (a FLUSHDB typed into redis-cli, say).

Between a write and the moment another process has read its message (well under a millisecond
on an idle machine), that process may still serve the previous value. Readers may see a change
that much later. A front cache refetching a purged page in that moment would keep the old page,
so settings turn the copy off when FRONT_CACHE_PURGE_URLS is set (a front cache serves the hits
then anyway).
"""

import logging
import os
import threading
import time

logger = logging.getLogger(__name__)

MAX_BYTES = 32 * 1024 * 1024  # held per process at most: past it, it starts again empty
MAX_AGE_SECONDS = 60
PING_SECONDS = 1.0  # the listener pings Redis when it has heard nothing for this long,
SILENT_SECONDS = 3.0  # and gives the subscription up after this long without an answer
EVERYTHING = b"*"  # the message of a FLUSHDB (cache.clear())


class NearCache:
    """The copies one process holds of one Redis database's keys that start with `prefixes`."""

    def __init__(self, client, channel, prefixes):
        self.client, self.channel, self.prefixes = client, channel, tuple(prefixes)
        self.lock = threading.Lock()
        self.dropped = 0  # how many times anything was dropped: a read must not span one
        self._empty()
        self.listening = False
        self.pid = None

    def holds(self, keys):
        return all(key.startswith(self.prefixes) for key in keys)

    def get(self, keys):
        """The raw values of these keys if this process holds every one, else None."""
        if self.pid != os.getpid():
            self._start()
        if not self.listening:
            return None
        if time.monotonic() - self.emptied_at > MAX_AGE_SECONDS:
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
                if value is not None and key not in self.values:
                    if self.size + len(value) > MAX_BYTES:
                        self._empty()
                    self.values[key] = value
                    self.size += len(value)

    def changed(self, keys):
        """This process wrote these keys: drop them here now, and tell every other process."""
        keys = [key for key in keys if key.startswith(self.prefixes)]
        if keys:
            self.drop(keys)
            self.client.publish(self.channel, " ".join(keys))

    def flushed(self):
        self.drop_all()
        self.client.publish(self.channel, EVERYTHING)

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
        """Listen from this process (the first use, or the first after a fork: the parent's
        thread and copies are not this process's)."""
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
            self.listening = False
            self._empty()
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
        try:
            pubsub.subscribe(self.channel)
            heard = time.monotonic()
            while True:
                message = pubsub.get_message(timeout=PING_SECONDS)
                now = time.monotonic()
                if message is None:
                    if now - heard > SILENT_SECONDS:
                        raise ConnectionError("Redis did not answer a ping")
                    pubsub.ping()
                    continue
                heard = now
                if message["type"] == "subscribe":
                    # Messages sent before this moment were missed: start empty.
                    self.drop_all()
                    self.listening = True
                elif message["type"] == "message":
                    if message["data"] == EVERYTHING:
                        self.drop_all()
                    else:
                        self.drop(message["data"].decode().split())
        finally:
            with self.lock:
                self.listening = False
                self._empty()
            pubsub.close()
