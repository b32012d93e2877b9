"""`make stress`: 32 readers and an editor use the production server for 60 s while its database
is stopped for 10 s in the middle. Takes about two minutes; everything is on 127.0.0.1.

    make stress
    .venv/bin/python -m bench.stress

1. The database (bench.outage) is a throwaway PostgreSQL cluster of its own, so stopping it
   never disturbs the shared server: `pg_createcluster 15 pmstress --port 5499 --
   --auth-host=trust --auth-local=trust` (Debian's postgresql-common; run as root or postgres),
   started, a database `postmortems` created, migrated, filled with the shipped fixtures
   (`load_fixtures`, `update_search_index`) and given a superuser. The cluster is dropped at
   the end (`pg_dropcluster --stop`), also on failure, Ctrl-C or SIGTERM; a cluster of that
   name left by a killed run is dropped first. Without those tools (or the rights to use them),
   or if making the cluster fails, it says why and falls back to a TCP proxy in front of
   DATABASE_URL's server, with a scratch database pm_bench_stress: "stopping" closes the proxy
   and cuts every connection through it.
2. The production server as `make serve` runs it (bench.server); where varnishd and pgbouncer
   are installed, the production topology instead (bench.stress_front: Varnish with the
   shipped VCL → two app servers sharing Redis → PgBouncer → the database), with readers
   going through Varnish, the editor saving through the first app server, and its own checks:
   each save visible through Varnish within 1 s, on the second app server too, and pages
   served by Varnish while the database is down. STRESS_FRONT=0 keeps the single server.
3. 32 reader threads, each on its own kept-alive http.client connection (standard library, no
   extra package), request a mix for 60 s: pages (home, lists, incidents, customers,
   providers, statistics), searches from a fixed list (cached after the first time) and
   searches made unique (never cached, so always built from the database), Atom and RSS feeds,
   and the JSON API. Every response is recorded: status, latency, X-Page-Cache.
4. At 20 s the cluster is stopped (`pg_ctlcluster 15 pmstress stop -m fast`, which also cuts
   the server's open connections), and started again 10 s later.
5. Checked, and printed:
   - outside the outage window (from the stop until 5 s after the database is back): no 5xx,
     no other error status, no client error or timeout;
   - inside it: only 200 or the clean 503 page (its body says "briefly unavailable" and holds
     no "Traceback"), no response slower than 5 s, and some cached pages (200, X-Page-Cache:
     hit) served while the database was down;
   - after the database is back: the first 200 on an uncached search, and the last error,
     both within 5 s of `pg_ctlcluster start` reporting it ready (both are also shown from
     the moment the start command was issued).
6. All the while an editor (bench.editor), logged into /admin/ as the superuser, saves the ELB
   incident's change form every second: the whole form read back (every inline row and its
   management data, and `loaded_version`, the lock number the admin form checks), with a
   new title. Each save must either succeed fully (302, then the form shows the new title and
   the same number of rows in every inline) or be refused with the clean 503 page within 5 s
   (of the request, or of the stop for a request already waiting then); never anything else.
   The change form is heavy, so under this load a successful save may take several seconds;
   only refusals are held to 5 s. Once the database is back, the incident must have the title
   of the last successful save, its lock number raised once per successful save, one revision
   per successful save, and exactly the timeline events, customer impacts, action items,
   corrections, services, regions and sources it had before: never half a save.

Settings: STRESS_CLIENTS (32), STRESS_SECONDS (60), STRESS_OUTAGE_AT (20), STRESS_OUTAGE_SECONDS
(10), STRESS_PG_PORT (5499), STRESS_CLUSTER (pmstress; another name lets two runs coexist),
BENCH_PORTS (a range such as 8130-8148 for every server started; else any free ports),
STRESS_FRONT=0 (no front cache), STRESS_PROXY=1 (use the fallback even where a cluster could be
made), DATABASE_URL (the fallback's server), CACHE_URL (else Redis database 2 if it answers,
else local memory).
Exit status 0 when every check passes, 1 when any fails.
"""

import http.client
import json
import os
import random
import re
import secrets
import statistics
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from . import stress_front
from .editor import CLIENT_TIMEOUT, UNAVAILABLE_TEXT, Editor, incident_state
from .outage import Cluster, Proxy
from .server import (
    DEFAULT_DATABASE_URL,
    HOST,
    ROOT,
    Failed,
    KeptAlive,
    choose_cache_url,
    exit_on_sigterm,
    free_port,
    manage,
    production_env,
    query,
)

EDITED_INCIDENT = "aws-elb-us-east-2012-12-24"
SLOWEST_ALLOWED = 5.0
RECOVERY_ALLOWED = 5.0
SEARCH_WORDS = [
    "load balancer",
    "netflix",
    "power",
    "dns",
    "storage",
    "configuration",
    "kinesis",
    "network",
    "christmas",
    "ebs",
]


def setting(name, default):
    return int(os.environ.get(name) or default)


# --- Readers ----------------------------------------------------------------------------------


@dataclass
class Response:
    kind: str
    url: str
    started: float  # seconds since the clients started
    ended: float
    status: int | None  # None: no answer (connection error or timeout)
    cache: str = ""
    clean: bool = True  # no traceback; for a 503, the 503 page
    error: str = ""
    front: str = ""  # X-Cache from Varnish: hit, stale, miss or pass ("" without it)
    plain: bool = False  # a plain-text answer: Varnish's own 503, not the app's page

    @property
    def seconds(self):
        return self.ended - self.started


class Mix:
    """What readers ask for, by share of requests."""

    def __init__(self, incidents, customers, providers):
        pages = ["/", "/incidents/", "/providers/", "/customers/", "/statistics/"]
        pages += [f"/incidents/{slug}/" for slug in incidents]
        pages += [f"/customers/{slug}/" for slug in customers]
        pages += [f"/providers/{slug}/" for slug in providers]
        pages += [f"/incidents/?provider={slug}" for slug in providers]
        self.kinds = [
            ("page", 45, pages),
            ("search", 15, [f"/incidents/?{urlencode({'q': w})}" for w in SEARCH_WORDS]),
            ("uncached search", 10, None),
            (
                "feed",
                12,
                ["/incidents/feed.atom", "/incidents/feed.rss"]
                + [f"/providers/{slug}/feed.atom" for slug in providers],
            ),
            (
                "json",
                18,
                ["/api/v1/incidents/", "/api/v1/customers/"]
                + [f"/api/v1/incidents/{slug}/" for slug in incidents],
            ),
        ]
        self.counter = 0
        self.lock = threading.Lock()

    def pick(self, rng):
        kind, _, urls = rng.choices(self.kinds, weights=[k[1] for k in self.kinds])[0]
        if urls is None:
            return kind, self.unique_search(rng)
        return kind, rng.choice(urls)

    def unique_search(self, rng):
        with self.lock:
            self.counter += 1
            number = self.counter
        return f"/incidents/?{urlencode({'q': f'{rng.choice(SEARCH_WORDS)} u{number}'})}"

    def all_fixed(self):
        return [url for _, _, urls in self.kinds if urls for url in urls]


def reader(number, port, mix, clock, running, responses):
    rng = random.Random(number)
    connection = KeptAlive(HOST, port, CLIENT_TIMEOUT)
    while running():
        kind, url = mix.pick(rng)
        started = clock()
        try:
            answer, body = connection.get(url)
        except (OSError, http.client.HTTPException) as error:
            responses.append(Response(kind, url, started, clock(), None, error=repr(error)))
            continue
        clean = b"Traceback" not in body
        if answer.status == 503:
            clean = clean and UNAVAILABLE_TEXT in body
        # Served from a cache: Varnish's, or else the app's page cache.
        front = answer.getheader("X-Cache", "")
        cache = "hit" if front in ("hit", "stale") else answer.getheader("X-Page-Cache", "")
        plain = answer.getheader("Content-Type", "").startswith("text/plain")
        responses.append(
            Response(
                kind, url, started, clock(), answer.status, cache, clean, front=front, plain=plain
            )
        )


# --- The run ----------------------------------------------------------------------------------


def main():
    exit_on_sigterm()
    clients = setting("STRESS_CLIENTS", 32)
    seconds = setting("STRESS_SECONDS", 60)
    outage_at = setting("STRESS_OUTAGE_AT", 20)
    outage_seconds = setting("STRESS_OUTAGE_SECONDS", 10)
    began = time.monotonic()
    why_not = Cluster.available()
    if setting("STRESS_PROXY", 0):
        why_not = "STRESS_PROXY=1 asks for the fallback"
    try:
        with ExitStack() as stack:
            database = None
            if not why_not:
                try:
                    database = stack.enter_context(Cluster(setting("STRESS_PG_PORT", 5499)))
                except Failed as error:
                    why_not = f"creating one failed: {' '.join(str(error).split())}"
            if database is None:
                print(f"No throwaway cluster: {why_not}. Falling back to a TCP proxy.")
                url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
                database = stack.enter_context(Proxy(url))
            print(f"Database: {database.description}")
            failures = exercise(database, clients, seconds, outage_at, outage_seconds)
    except Failed as error:
        failures = [str(error)]
    print(f"\nTotal {time.monotonic() - began:.0f} s, database dropped.")
    if failures:
        print(f"\nFAILED ({len(failures)}):")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("\nPASSED: every check held.")
    return 0


def exercise(database, clients, seconds, outage_at, outage_seconds):
    cache_url = choose_cache_url()
    password = secrets.token_urlsafe(16)
    env = production_env(
        database.url,
        cache_url,
        free_port(),
        DJANGO_SUPERUSER_USERNAME="stress-editor",
        DJANGO_SUPERUSER_EMAIL="stress-editor@example.com",
        DJANGO_SUPERUSER_PASSWORD=password,
    )
    setup_started = time.monotonic()
    manage(env, "migrate", "--noinput")
    fixtures = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "fixtures").glob("*.json"))
    manage(env, "load_fixtures", *fixtures)
    manage(env, "update_search_index")
    manage(env, "createsuperuser", "--noinput")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    incidents = [
        row[0]
        for row in query(
            database.url, "SELECT slug FROM outages_incident WHERE status = 'published'"
        )
    ]
    # Rows readers may see: published on their own, or named by a published incident (a subset
    # of Provider.objects.visible() and Customer.objects.visible(), enough for the mix).
    customers = visible(
        database.url,
        "outages_customer",
        "SELECT customer_id FROM outages_customerimpact m"
        " JOIN outages_incident i ON i.id = m.incident_id WHERE i.status = 'published'",
    )
    providers = visible(
        database.url,
        "outages_provider",
        "SELECT provider_id FROM outages_incident WHERE status = 'published'",
    )
    pk = query(database.url, "SELECT id FROM outages_incident WHERE slug = %s", [EDITED_INCIDENT])
    if not pk:
        raise Failed(f"The fixtures hold no incident {EDITED_INCIDENT}.")
    pk = pk[0][0]
    before = incident_state(database.url, pk)
    print(
        f"Set up in {time.monotonic() - setup_started:.0f} s: {len(incidents)} incidents, "
        f"{len(customers)} customers, page cache {cache_url}"
    )
    mix = Mix(incidents, customers, providers)

    with stress_front.serving(database.url, cache_url) as site:
        print(f"Site: {site.description}")
        # Read every fixed URL once, so the page cache holds what a running site would.
        for url in mix.all_fixed():
            server_request(site.reader_port, url)
        page = f"/incidents/{EDITED_INCIDENT}/"
        if site.other_port:
            server_request(site.other_port, page)  # in the shared page cache, by the second
        start, started_at = time.monotonic(), datetime.now(UTC)

        def clock():
            return time.monotonic() - start

        stopping = threading.Event()  # set on Ctrl-C or failure, so cleanup need not wait

        def running():
            return clock() < seconds and not stopping.is_set()

        editor = Editor(site.editor_port, pk, clock)
        editor.login("stress-editor", password)
        responses, threads = [], []
        for number in range(clients):
            thread = threading.Thread(
                target=reader,
                args=(number, site.reader_port, mix, clock, running, responses),
                daemon=True,
            )
            threads.append(thread)
        editor_errors = []
        threads.append(editor.thread(running, editor_errors))
        watcher = stress_front.Watcher(site, editor, page)
        if site.front:
            threads.append(threading.Thread(target=watcher.run, args=(running,), daemon=True))
        print(
            f"{clients} readers and an editor for {seconds} s; the database stops at "
            f"{outage_at} s for {outage_seconds} s (0 s is {started_at:%H:%M:%S.%f} UTC in the "
            "server logs)",
            flush=True,
        )
        for thread in threads:
            thread.start()
        events = {}
        try:
            sleep_until(clock, outage_at)
            events["stop called"] = clock()
            database.stop()
            events["stopped"] = clock()
            print(f"  {events['stopped']:5.1f} s  database stopped", flush=True)
            sleep_until(clock, events["stopped"] + outage_seconds)
            events["start called"] = clock()
            database.start()
            events["back"] = clock()
            events["back at"] = time.time()  # to read the server log's times against
            print(f"  {events['back']:5.1f} s  database accepting connections again", flush=True)
        except BaseException:
            stopping.set()
            raise
        finally:
            for thread in threads:
                thread.join()
        log = site.log_text()
        if site.varnish is not None:
            site.counters = site.varnish.counters()
    after = incident_state(database.url, pk)
    failures = report(responses, events, editor, editor_errors, before, after, log)
    down = (events["stopped"], events["start called"])
    window = (events["stop called"], events["back"] + RECOVERY_ALLOWED)
    return failures + stress_front.report(site, watcher, responses, down, window)


def visible(url, table, referring):
    """Slugs of the rows of table published on their own or whose id the query referring gives."""
    rows = query(
        url, f"SELECT slug FROM {table} WHERE published OR id IN ({referring}) ORDER BY slug"
    )
    return [row[0] for row in rows]


def sleep_until(clock, moment):
    while (left := moment - clock()) > 0:
        time.sleep(min(left, 0.2))


def server_request(port, url):
    connection = http.client.HTTPConnection(HOST, port, timeout=CLIENT_TIMEOUT)
    try:
        connection.request("GET", url)
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            raise Failed(f"{url} answered {answer.status} before the test began.")
    finally:
        connection.close()


# --- Checks and report ------------------------------------------------------------------------


def report(responses, events, editor, editor_errors, before, after, log):
    failures = list(editor_errors)
    window = (events["stop called"], events["back"] + RECOVERY_ALLOWED)
    down = (events["stopped"], events["start called"])

    def overlaps(r, span):
        return r.started <= span[1] and r.ended >= span[0]

    phases = {
        "before the stop": [r for r in responses if r.ended < window[0]],
        "outage window": [r for r in responses if overlaps(r, window)],
        "after recovery": [r for r in responses if r.started > window[1]],
    }
    print(
        f"\nOutage: stop called at {events['stop called']:.1f} s, stopped at "
        f"{events['stopped']:.1f} s, start called at {events['start called']:.1f} s, back at "
        f"{events['back']:.1f} s. Outage window for the checks: {window[0]:.1f}–{window[1]:.1f} s."
    )
    print(
        f"\n{'Phase':<16} {'Requests':>8} {'200':>6} {'hits':>6} {'503':>5} {'other':>5} "
        f"{'no answer':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    for name, rows in phases.items():
        print(phase_line(name, rows))
    print(phase_line("all", responses))
    print("\nBy kind (whole run):")
    for kind in sorted({r.kind for r in responses}):
        print(phase_line(kind, [r for r in responses if r.kind == kind]))

    for name in ("before the stop", "after recovery"):
        bad = [r for r in phases[name] if r.status != 200 or not r.clean]
        if bad:
            failures.append(f"{len(bad)} failed requests {name}, e.g. {describe(bad[0])}")
    outage = phases["outage window"]
    wrong = [r for r in outage if r.status not in (200, 503) or not r.clean]
    if wrong:
        failures.append(
            f"{len(wrong)} answers in the outage window were neither 200 nor the clean 503 page, "
            f"e.g. {describe(wrong[0])}"
        )
    slowest = max(responses, key=lambda r: r.seconds)
    print(f"\nSlowest response of the run: {slowest.seconds:.2f} s ({describe(slowest)})")
    slow = [r for r in responses if r.seconds > SLOWEST_ALLOWED]
    if slow:
        failures.append(
            f"{len(slow)} responses took over {SLOWEST_ALLOWED} s, e.g. {describe(slow[0])}"
        )
    hits_while_down = [
        r for r in responses if overlaps(r, down) and r.status == 200 and r.cache == "hit"
    ]
    served_while_down = [r for r in responses if overlaps(r, down) and r.status == 200]
    print(
        f"While the database was down ({down[0]:.1f}–{down[1]:.1f} s): "
        f"{len(served_while_down)} pages served (200), {len(hits_while_down)} of them from the "
        f"page cache; {sum(r.status == 503 for r in responses if overlaps(r, down))} clean 503s."
    )
    if not hits_while_down:
        failures.append("No cached page was served while the database was down.")

    # Recovery, counted from the database reporting itself ready (pg_ctlcluster start returns
    # then) and, for the reader, from the start command too.
    issued, back = events["start called"], events["back"]
    first_fresh = min(
        (
            r.ended
            for r in responses
            if r.started >= issued and r.status == 200 and r.cache == "miss"
        ),
        default=None,
    )
    errors_after = [r for r in responses if r.started >= events["stop called"] and r.status != 200]
    last_error = max((r.ended for r in errors_after), default=None)

    def when(moment):
        if moment is None:
            return "none"
        after_ready = moment - back
        relation = (
            f"{after_ready:.2f} s after" if after_ready >= 0 else f"{-after_ready:.2f} s before"
        )
        return f"{moment - issued:.2f} s after the start command, {relation} ready"

    print(
        f"Recovery: start command at {issued:.1f} s, database ready at {back:.1f} s. "
        f"First 200 on an uncached page: {when(first_fresh)}. Last error: {when(last_error)}. "
        f"Both must come within {RECOVERY_ALLOWED:.0f} s of ready."
    )
    if first_fresh is None or first_fresh - back > RECOVERY_ALLOWED:
        failures.append(f"No uncached page succeeded within {RECOVERY_ALLOWED} s of recovery.")
    if last_error is not None and last_error - back > RECOVERY_ALLOWED:
        failures.append(f"Errors went on {last_error - back:.1f} s after the database came back.")
    late = [r for r in errors_after if r.ended >= back]
    if late:
        print(
            f"  Errors answered after ready: {len(late)}: "
            f"{sum(r.status == 503 and not r.plain for r in late)} the app's 503 page, "
            f"{sum(r.status == 503 and r.plain for r in late)} Varnish's own 503 (no app server "
            f"answered), {sum(r.status is None for r in late)} no answer; the app's reasons: "
            f"{unavailable_reasons(log, events['back at']) or 'none logged'}"
        )

    failures += report_editor(editor, events, before, after)
    problems = [line for line in log.splitlines() if "Traceback" in line or "CRITICAL" in line]
    print(f"\nServer log: {len(log.splitlines())} lines, {len(problems)} with Traceback/CRITICAL.")
    for line in problems[:10]:
        print(f"  {line[:300]}")
    if problems:
        failures.append(f"The server logged {len(problems)} Traceback/CRITICAL lines.")
    return failures


def unavailable_reasons(log, since):
    """How often each reason the app logged for a lost database's 503 from `since` (a
    time.time()) on: {reason: count}."""
    reasons = {}
    for line in log.splitlines():
        try:
            record = json.loads(line)
            logged = datetime.fromisoformat(record["time"]).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        found = UNAVAILABLE_REASON.search(record.get("message", ""))
        if found and logged >= since:
            reasons[found.group(1)] = reasons.get(found.group(1), 0) + 1
    return reasons


UNAVAILABLE_REASON = re.compile(r"\(database unavailable: (.*)\)$")


def phase_line(name, rows):
    latencies = sorted(r.seconds * 1000 for r in rows)
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100)
        p50, p99, worst = f"{cuts[49]:.1f}", f"{cuts[98]:.1f}", f"{latencies[-1]:.0f}"
    else:
        p50 = p99 = worst = "—"
    return (
        f"{name:<16} {len(rows):>8} {sum(r.status == 200 for r in rows):>6} "
        f"{sum(r.status == 200 and r.cache == 'hit' for r in rows):>6} "
        f"{sum(r.status == 503 for r in rows):>5} "
        f"{sum(r.status not in (200, 503, None) for r in rows):>5} "
        f"{sum(r.status is None for r in rows):>9} {p50:>7} {p99:>7} {worst:>7}"
    )


def describe(r):
    what = r.error or f"{r.status}{'' if r.clean else ' (not the clean page)'}"
    return f"{r.kind} {r.url} at {r.started:.1f} s: {what} in {r.seconds:.2f} s"


def report_editor(editor, events, before, after):
    failures = []
    outcomes = {}
    for save in editor.saves:
        outcomes[save.outcome] = outcomes.get(save.outcome, 0) + 1
    saved = [s for s in editor.saves if s.outcome == "saved"]
    print(
        f"\nEditor: {len(editor.saves)} save attempts: "
        + ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        + " (saved = 302; refused = clean 503 on the save; unavailable = clean 503 on the form)."
    )
    for save in editor.saves:
        when = (
            "before the stop"
            if save.ended < events["stop called"]
            else ("after recovery" if save.started > events["back"] else "outage")
        )
        requests = " + ".join(f"{end - start:.2f}" for start, end in save.requests)
        print(
            f"  save {save.number:>2} {save.started:5.1f}–{save.ended:5.1f} s ({when}): "
            f"{save.outcome}{', ' + save.detail if save.detail else ''} [requests {requests} s]"
        )
        if save.outcome in ("refused", "unavailable") and save.requests:
            # A request already waiting when the database stopped counts from the stop.
            start, end = save.requests[-1]
            waited = end - max(start, events["stop called"])
            if waited > SLOWEST_ALLOWED:
                failures.append(f"Editor save {save.number} waited {waited:.1f} s for its 503.")
    every = sorted(end - start for save in editor.saves for start, end in save.requests)
    if every:
        print(
            f"  Editor requests: median {statistics.median(every):.2f} s, slowest {every[-1]:.2f} s"
        )
    failed = [s for s in editor.saves if s.outcome == "failed"]
    if failed:
        failures.append(
            f"{len(failed)} editor saves got neither a 302 nor the clean 503 page: "
            f"save {failed[0].number}: {failed[0].detail}"
        )
    if not any(s.started > events["back"] for s in saved):
        failures.append("No editor save succeeded after the database came back.")
    failures += editor.checks
    expected = {
        "title": editor.last_title or before["title"],
        "version": before["version"] + len(saved),
        "revisions": before["revisions"] + len(saved),
        "rows": before["rows"],
    }
    print(
        f"  Database after recovery: title {after['title']!r}, lock number "
        f"{before['version']} → {after['version']}, revisions {before['revisions']} → "
        f"{after['revisions']}, rows {after['rows']}"
    )
    for key, value in expected.items():
        if after[key] != value:
            failures.append(
                f"After recovery the incident's {key} is {after[key]!r}, not {value!r}."
            )
    refused_titles = {s.title for s in editor.saves if s.outcome != "saved" and s.title}
    if after["title"] in refused_titles:
        failures.append(f"A save the editor was told failed is in the database: {after['title']!r}")
    return failures


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nInterrupted; the server is stopped and the database dropped.", file=sys.stderr)
        sys.exit(130)
