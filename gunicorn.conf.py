"""gunicorn settings for `make serve`, from the environment.

Worker processes only share cached pages, and see each other's invalidations, through a shared
cache. With the default local-memory cache there is therefore a single worker process (with
threads); set CACHE_URL to a Redis server to use every core.
"""

import gc
import os

from postmortems.environment import env

bind = f"{env('HOST', '127.0.0.1')}:{env('PORT', 8000)}"

SHARED_CACHE = env("CACHE_URL", "").startswith(("redis", "hiredis", "memcache"))
CORES = len(os.sched_getaffinity(0))

worker_class = "gthread"
workers = env("WEB_CONCURRENCY", 2 * CORES if SHARED_CACHE else 1)
# Threads overlap waits on the database and the cache; more would only contend for the GIL.
threads = env("THREADS", 4)
preload_app = True  # import Django once, fail before forking if the settings are wrong
timeout = 30
graceful_timeout = 10
keepalive = 5
# Recycle workers now and then, so a slow leak can never take the site down. Not often: a worker
# stops taking requests for 1-3 s before its successor starts, and at 20,000 requests a busy
# server (2,500 cached pages a second over four workers) recycled one every 8 s.
max_requests = 200000
max_requests_jitter = 20000
accesslog = env("ACCESS_LOG", "") or None
errorlog = "-"
# No admin socket under the home directory: two servers on one machine (a benchmark beside a
# running site) would fight over it, and nothing here uses it.
control_socket_disable = True


def pre_fork(server, worker):
    """Freeze what the master imported (Django, the app: about 90,000 objects) before each fork.

    A worker's full garbage collections then skip those objects, which never become garbage.
    Unfrozen, each full collection took 40-60 ms of CPU under load, with the worker's four
    threads stalled behind it; frozen, at most 4-7 ms (measured with gc.callbacks and
    time.thread_time in each worker, 8 s of wrk on cached pages). It also keeps the collector
    from writing into pages the workers share with the master.
    """
    gc.freeze()
