"""The production server that `make serve` runs: granian, configured from the environment.

    python -m postmortems.serve

granian parses HTTP in Rust and hands each request to a few Python threads. Under 16 busy
connections on two cores it answered cached pages 1.5 times as fast as gunicorn's gthread
workers, with a p99 of 6-8 ms against 21-42 ms (README's Performance section).

Worker processes only share cached pages, and see each other's invalidations, through a shared
cache. With the default local-memory cache there is therefore a single worker process (with
threads); set CACHE_URL to a Redis server to use every core.
"""

import gc
import os

from postmortems.environment import env


def options():
    """granian's settings, from the environment (HOST, PORT, CACHE_URL, WEB_CONCURRENCY,
    THREADS, ACCESS_LOG, WORKER_MAX_RSS_MB)."""
    shared_cache = env("CACHE_URL", "").startswith(("redis", "hiredis", "memcache"))
    cores = len(os.sched_getaffinity(0))
    return {
        "address": env("HOST", "127.0.0.1"),
        "port": env("PORT", 8000),
        # One process per core: more only take turns on the same cores, and under load their
        # turns made the slowest answers two to four times slower. Two threads a process let a
        # request go on while another waits for the database, a render in progress elsewhere or
        # the cache (one or two made no difference to cached pages; four made the p99 worse).
        # A single process (no shared cache) keeps four, so one slow page holds up no reader.
        "workers": env("WEB_CONCURRENCY", cores if shared_cache else 1),
        "blocking_threads": env("THREADS", 2 if shared_cache else 4),
        "log_access": env("ACCESS_LOG", False),
        # A worker whose memory grows past this is replaced (after its requests in flight), so a
        # slow leak can never take the site down; the others go on answering meanwhile.
        "workers_max_rss": env("WORKER_MAX_RSS_MB", 1024),
        "respawn_failed_workers": True,
        "workers_kill_timeout": 10,  # seconds a stopping worker has to finish its requests
    }


def application():
    """The WSGI application, made in each worker (granian's factory). What loading Django and
    the app made (about 90,000 objects, which never become garbage) is then frozen: the
    worker's full garbage collections skip it. Unfrozen, each took 40-60 ms of CPU under load,
    with the worker's requests stalled behind it; frozen, at most 4-7 ms."""
    from postmortems.wsgi import application as wsgi

    gc.freeze()
    return wsgi


def main():
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

    server = Granian(
        "postmortems.serve:application",
        factory=True,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        websockets=False,
        **options(),
    )
    server.serve()


if __name__ == "__main__":
    main()
