"""`make stress`, second part: no stampede after a publish. 64 readers ask for the slowest pages
of a 100,000-incident corpus while an editor publishes every 5 s; each publish must cost one
render of each page, not one per reader. Takes about two minutes; everything is on 127.0.0.1.

    make stampede                                   # also run by `make stress`, after bench.stress
    .venv/bin/python -m bench.stampede
    STAMPEDE_URLS=http://127.0.0.1:8080,http://127.0.0.1:8081 .venv/bin/python -m bench.stampede

1. The database is STAMPEDE_DATABASE_URL (postgres://postgres@127.0.0.1:5432/pm_stampede). When
   it does not exist it is made as a copy of STAMPEDE_TEMPLATE (pm_bench_100k, the corpus of
   `BENCH_INCIDENTS=100000 make bench`, which is only read) and analysed; then it is migrated and
   given a new superuser for the editor. The editor's saves change titles in the copy only.
2. The servers: STAMPEDE_URLS, comma-separated base URLs of servers already running on that
   database (several app servers sharing a cache, or a front cache in front of them); else one
   production server (bench.server: granian as `make serve` runs it), the page cache in
   CACHE_URL or Redis database 2.
3. Each page is requested once first, so the run starts with every page stored (a cold map at
   this size takes seconds): the map, statistics, the incident list and a search for the sample
   data's most common word.
4. STAMPEDE_CLIENTS (64) reader threads, each with a kept-alive connection to one of the base
   URLs in turn, ask for those pages at random (with Accept-Encoding: gzip, as browsers do) for
   STAMPEDE_SECONDS (60), while the editor (bench.editor, signed into the admin at
   STAMPEDE_EDITOR_URL, else the first base URL) saves a published incident's change form every
   STAMPEDE_INTERVAL (5) seconds, on a fixed clock (a save that ends late is followed at once,
   so a slow one does not push every later publish back). Every save of a published incident
   moves the "incidents" tag, so all four pages go stale at each one.
5. Reported per page: how many times it was rendered (responses marked X-Page-Cache: miss, not
   counting answers a front cache replayed) against how many publishes there were (saves whose
   POST was answered, or got no answer and so may have published), stale and fresh answers,
   p50/p99/max latency and errors; then when each publish and each render happened. Renders
   are counted over the whole run, not between publishes: a request may wait seconds in the
   server's queue, so when it was sent says little about which publish it followed. Targets:
   no more renders of a page than publishes (the render lock is shared through the cache, so
   this holds for several servers sharing Redis too), and no error (anything but a 200, or no
   answer within 30 s).

Exit status 0 when both targets hold, 1 otherwise.
"""

import http.client
import os
import random
import secrets
import statistics
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import urlsplit

from .editor import Editor
from .server import (
    Failed,
    KeptAlive,
    Server,
    choose_cache_url,
    connect,
    database_name,
    exit_on_sigterm,
    free_port,
    manage,
    production_env,
    query,
)

PAGES = {
    "map": "/map/",
    "statistics": "/statistics/",
    "incident list": "/incidents/",
    # The sample data's most common word (outages/interchange/sample_words.py, COMMON_WORD).
    "search": "/incidents/?q=network",
}
CLIENT_TIMEOUT = 30
LOGGED = {  # what the server's log says: counted and shown
    "Traceback": "tracebacks",
    "Respawning worker": "workers replaced (exited, or over the memory bound)",
    "Served the previous": "failed renders answered with the previous version",
}
WARM_TIMEOUT = 120  # the first render of the map at 100,000 incidents, on a loaded machine


def setting(name, default):
    return type(default)(os.environ.get(name) or default)


@dataclass
class Answer:
    page: str
    server: str
    started: float
    ended: float
    status: int | None  # None: no answer
    cache: str = ""  # X-Page-Cache
    replayed: bool = False  # served by a front cache, not by an app server
    error: str = ""

    @property
    def seconds(self):
        return self.ended - self.started


def replayed_by_front_cache(headers):
    """Whether a front cache answered from its own store (Varnish's X-Varnish names two
    requests on a hit; Age counts seconds in a shared cache; CDNs say HIT)."""
    if len((headers.get("X-Varnish") or "").split()) > 1:
        return True
    if (headers.get("Age") or "0") != "0":
        return True
    return "HIT" in (headers.get("X-Cache") or headers.get("CF-Cache-Status") or "").upper()


def reader(number, server, clock, running, answers):
    rng = random.Random(number)
    parts = urlsplit(server)
    connection = KeptAlive(parts.hostname, parts.port or 80, CLIENT_TIMEOUT)
    while running():
        page = rng.choice(list(PAGES))
        started = clock()
        try:
            response, _ = connection.get(PAGES[page], {"Accept-Encoding": "gzip"})
        except (OSError, http.client.HTTPException) as error:
            answers.append(Answer(page, server, started, clock(), None, error=repr(error)))
            continue
        answers.append(
            Answer(
                page,
                server,
                started,
                clock(),
                response.status,
                response.getheader("X-Page-Cache", ""),
                replayed_by_front_cache(response.headers),
            )
        )


# --- Set-up -----------------------------------------------------------------------------------


def prepare_database(url, template):
    """Copy template into url's database if it is missing; migrate; return the incident edited."""
    from psycopg2 import sql

    name = database_name(url)
    maintenance = connect(url, "postgres")
    try:
        with maintenance.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                print(f"   copying {template} into {name} (read only from {template})", flush=True)
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template])
                if cursor.fetchone() is None:
                    raise Failed(
                        f"No database {template} to copy: make it with DATABASE_URL=postgres://"
                        f"postgres@127.0.0.1:5432/{template} BENCH_INCIDENTS=100000 make bench, "
                        "or name another in STAMPEDE_TEMPLATE."
                    )
                create = sql.SQL("CREATE DATABASE {} TEMPLATE {}")
                cursor.execute(create.format(sql.Identifier(name), sql.Identifier(template)))
                query(url, "ANALYZE")
    finally:
        maintenance.close()
    rows = query(
        url,
        "SELECT id, (SELECT count(*) FROM outages_incident WHERE status = 'published')"
        " FROM outages_incident WHERE status = 'published' ORDER BY id LIMIT 1",
    )
    if not rows:
        raise Failed(f"{name} holds no published incident.")
    return rows[0]


def main():
    exit_on_sigterm()
    clients = setting("STAMPEDE_CLIENTS", 64)
    seconds = setting("STAMPEDE_SECONDS", 60)
    interval = setting("STAMPEDE_INTERVAL", 5.0)
    url = setting("STAMPEDE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pm_stampede")
    servers = [s.strip().rstrip("/") for s in setting("STAMPEDE_URLS", "").split(",") if s.strip()]
    began = time.monotonic()
    try:
        with ExitStack() as stack:
            print("== Set-up", flush=True)
            pk, published = prepare_database(url, setting("STAMPEDE_TEMPLATE", "pm_bench_100k"))
            username, password = f"stampede-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
            env = production_env(
                url,
                choose_cache_url(),
                free_port(),
                DJANGO_SUPERUSER_USERNAME=username,
                DJANGO_SUPERUSER_EMAIL=f"{username}@example.com",
                DJANGO_SUPERUSER_PASSWORD=password,
            )
            manage(env, "migrate", "--noinput")
            manage(env, "createsuperuser", "--noinput")
            log = None
            if not servers:
                manage(env, "collectstatic", "--noinput", "--verbosity", "0")
                server = stack.enter_context(Server(env))
                servers, log = [server.url], server
            print(
                f"   {published:,} published incidents in {database_name(url)}; servers "
                f"{', '.join(servers)}; page cache {env['CACHE_URL']}",
                flush=True,
            )
            failures = exercise(servers, username, password, pk, clients, seconds, interval, log)
    except Failed as error:
        failures = [str(error)]
    print(f"\nTotal {time.monotonic() - began:.0f} s.")
    if failures:
        print(f"\nFAILED ({len(failures)}):")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("\nPASSED: one render per page per publish, and no error.")
    return 0


def warm(server, path):
    parts = urlsplit(server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WARM_TIMEOUT)
    try:
        started = time.monotonic()
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise Failed(f"{server}{path} answered {response.status} before the run.")
        return time.monotonic() - started, len(body)
    finally:
        connection.close()


def exercise(servers, username, password, pk, clients, seconds, interval, log):
    for name, path in PAGES.items():
        took, size = warm(servers[0], path)
        print(f"   first render of {name}: {took:.1f} s, {size / 1000:,.0f} KB gzipped", flush=True)
    editor_url = urlsplit(setting("STAMPEDE_EDITOR_URL", servers[0]))
    start = time.monotonic()

    def clock():
        return time.monotonic() - start

    stopping = threading.Event()

    def running():
        return clock() < seconds and not stopping.is_set()

    editor = Editor(editor_url.port, pk, clock, timeout=CLIENT_TIMEOUT, interval=interval)
    editor.login(username, password)
    answers, errors = [], []
    threads = [
        threading.Thread(
            target=reader,
            args=(number, servers[number % len(servers)], clock, running, answers),
            daemon=True,
        )
        for number in range(clients)
    ]
    threads.append(editor.thread(running, errors))
    print(
        f"\n== {clients} readers on {len(servers)} server(s) for {seconds} s; "
        f"a publish every {interval:g} s",
        flush=True,
    )
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    except BaseException:
        stopping.set()
        raise
    return errors + report(answers, editor, log)


# --- Report -----------------------------------------------------------------------------------


def percentile(values, share):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(answers, editor, log):
    failures = []
    saves = [s for s in editor.saves if s.outcome == "saved"]
    # A save whose POST got no answer may have published all the same: counted as a publish.
    posts = [s.requests[-1] for s in editor.saves if len(s.requests) == 2]
    forms = [s.requests[0][1] - s.requests[0][0] for s in saves]
    print(
        f"\nEditor: {len(editor.saves)} saves, {len(saves)} published; the change form took "
        f"median {statistics.median(forms or [0]):.1f} s, the POST "
        f"{statistics.median([end - begun for begun, end in posts] or [0]):.1f} s."
    )
    for save in editor.saves:
        if save.outcome != "saved":
            failures.append(f"Editor save {save.number}: {save.outcome} {save.detail}")
    failures += editor.checks
    if not posts:
        failures.append("No publish: no renders per publish to count.")
        return failures

    print(
        f"\n{'Page':<14} {'Answers':>7} {'fresh':>6} {'stale':>6} {'renders':>7} "
        f"{'per publish':>11} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6}"
    )
    for page in PAGES:
        mine = [a for a in answers if a.page == page]
        renders = sum(a.cache == "miss" and not a.replayed for a in mine)
        latencies = [a.seconds * 1000 for a in mine]
        bad = [a for a in mine if a.status != 200]
        print(
            f"{page:<14} {len(mine):>7} {sum(a.cache == 'hit' for a in mine):>6} "
            f"{sum(a.cache == 'stale' for a in mine):>6} {renders:>7} "
            f"{renders / len(posts):>11.2f} {percentile(latencies, 0.5):>7.0f} "
            f"{percentile(latencies, 0.99):>7.0f} {max(latencies):>7.0f} {len(bad):>6}"
        )
        if renders > len(posts):
            failures.append(f"{page}: {renders} renders for {len(posts)} publishes")
        if bad:
            example = bad[0]
            failures.append(
                f"{len(bad)} errors on {page}, e.g. {example.status or example.error} at "
                f"{example.started:.1f} s"
            )
    latencies = [a.seconds * 1000 for a in answers]
    print(
        f"{'all':<14} {len(answers):>7}  p50 {percentile(latencies, 0.5):.0f} ms, p99 "
        f"{percentile(latencies, 0.99):.0f} ms, max {max(latencies):.0f} ms"
    )
    # When each render was asked for and answered (it ran in between, after its turn in the
    # server's queue): the publishes it followed can be read off.
    print("\nPublishing POSTs (s): " + ", ".join(f"{b:.1f}–{e:.1f}" for b, e in posts))
    for page in PAGES:
        spans = sorted(
            (a.started, a.ended) for a in answers if a.page == page and a.cache == "miss"
        )
        print(f"  {page} renders (s): " + ", ".join(f"{b:.1f}–{e:.1f}" for b, e in spans))
    if log is not None:
        lines = log.log_text().splitlines()
        counts = {what: sum(what in line for line in lines) for what in LOGGED}
        print("Server log: " + ", ".join(f"{n} {LOGGED[what]}" for what, n in counts.items()))
        if counts["Traceback"]:
            failures.append(f"The server logged {counts['Traceback']} tracebacks.")
    return failures


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nInterrupted; the server is stopped.", file=sys.stderr)
        sys.exit(130)
