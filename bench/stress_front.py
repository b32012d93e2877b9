"""bench.stress behind a front cache: the site it loads, and what it checks there.

Where varnishd and pgbouncer are installed (and the page cache is shared, Redis), the site is the
production topology (bench.topology): Varnish with the shipped VCL in front of two app servers
that share Redis and reach the database through PgBouncer in transaction pooling. Readers go
through Varnish; the editor saves through the first app server, directly. STRESS_FRONT=0 (or a
missing tool) runs the single server of before.

Checked, besides bench.stress's own checks:
- every successful save is visible through Varnish within 1 s of the editor's answer: a watcher
  reads the incident's public page through Varnish every 50 ms until it shows the new title
  (the app purges the incident's tags in Varnish after the commit), and prints each delay. A
  save answered in the outage window, or less than 1 s before it, is printed but not held to
  that: its page cannot be rendered while the database is away;
- the invalidation crosses app servers: after each save on the first server, the second
  server, which had the page in the shared page cache, shows the new title too (or a later
  save's; the previous version it serves marked stale while one request renders the new one is
  asked for again until it is not);
- while the database is down, Varnish keeps serving pages (X-Cache: hit or stale).
"""

import http.client
import os
import re
import secrets
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .editor import CLIENT_TIMEOUT
from .server import HOST
from .topology import pgbouncer_missing, topology, varnish_missing

VISIBLE_WITHIN = 1.0  # seconds from the editor's answer to the page through Varnish
POLL_SECONDS = 0.05
GIVE_UP_SECONDS = 10.0
FRONT_ENV = {
    "WEB_CONCURRENCY": "2",
    "FRONT_CACHE_SECONDS": "5",
    "FRONT_CACHE_STALE_WHILE_REVALIDATE": "2",
}


@dataclass
class Site:
    reader_port: int
    editor_port: int
    front: bool
    description: str
    servers: list = field(default_factory=list)
    other_port: int | None = None  # the second app server, for the crossing check
    varnish: object = None  # bench.topology.Varnish, for its counters
    counters: dict = field(default_factory=dict)  # Varnish's, read at the end of the run

    def log_text(self):
        return "\n".join(server.log_text() for server in self.servers)


def why_no_front(cache_url):
    if os.environ.get("STRESS_FRONT", "1") == "0":
        return "STRESS_FRONT=0"
    if not cache_url.startswith(("redis", "hiredis")):
        return f"two app servers need a shared page cache (Redis), not {cache_url}"
    return varnish_missing() or pgbouncer_missing()


@contextmanager
def serving(database_url, cache_url):
    """The site under stress: the front-cache topology where it can run, else one server."""
    why_not = why_no_front(cache_url)
    env = {"SECRET_KEY": secrets.token_urlsafe(50)}  # one key for every app server
    if not why_not:
        # The four worker processes of one server on this machine, split over two; and pages
        # kept briefly, so the outage outlasts them and Varnish must serve them stale.
        env.update(FRONT_ENV)
    with topology(
        database_url,
        app_servers=1 if why_not else 2,
        varnish=not why_not,
        pgbouncer=not why_not,
        cache_url=cache_url,
        **env,
    ) as urls:
        ports = [urlsplit(url).port for url in urls.apps]
        if why_not:
            description = f"one app server, no front cache ({why_not})"
        else:
            description = (
                f"Varnish ({urls.front}) → 2 app servers ({', '.join(urls.apps)}) → PgBouncer "
                f"(transaction pooling, {urlsplit(urls.database).port}) → PostgreSQL"
            )
        yield Site(
            reader_port=urlsplit(urls.front).port,
            editor_port=ports[0],
            front=not why_not,
            description=description,
            servers=urls.servers,
            other_port=ports[1] if len(ports) > 1 else None,
            varnish=urls.varnish,
        )


def get(port, path):
    connection = http.client.HTTPConnection(HOST, port, timeout=CLIENT_TIMEOUT)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        connection.close()


@dataclass
class Seen:
    save: int
    delay: float | None  # seconds from the editor's answer to the new title through Varnish
    other_server: bool | None  # the second app server showed the new title (or a later one)
    other_shown: str = ""  # what it showed: the save in the title, and X-Page-Cache
    older: dict = field(
        default_factory=dict
    )  # the answers with an older title, by X-Cache/X-Page-Cache
    longest: float = 0.0  # the slowest single request through Varnish while following
    answered: float = 0.0  # when the editor had the save's answer


def shown_save(body):
    """The number of the editor's save whose title the page shows (0: none of them)."""
    found = SAVE_MARK.search(body)
    return int(found.group(1)) if found else 0


SAVE_MARK = re.compile(rb"\(stress save (\d+)\)")


class Watcher:
    """Follows the editor: after each successful save, how soon the public page shows it."""

    def __init__(self, site, editor, page):
        self.site, self.editor, self.page = site, editor, page
        self.seen = []
        self.errors = []

    def run(self, running):
        done = 0
        while running():
            saves = [s for s in self.editor.saves if s.ended and s.outcome]
            for save in saves[done:]:
                if save.outcome == "saved":
                    self.follow(save)
            done = len(saves)
            time.sleep(POLL_SECONDS)

    def follow(self, save):
        delay, before = None, {}  # before: how the older answers came, {"X-Cache/X-Page-Cache": n}
        longest = 0.0
        while self.editor.clock() - save.ended < GIVE_UP_SECONDS:
            asked = self.editor.clock()
            try:
                status, headers, body = get(self.site.reader_port, self.page)
            except (OSError, http.client.HTTPException):
                status, headers, body = None, {}, b""
            longest = max(longest, self.editor.clock() - asked)
            # This save's title, or a later one's: the editor goes on saving meanwhile.
            if status == 200 and shown_save(body) >= save.number:
                delay = max(0.0, self.editor.clock() - save.ended)
                break
            how = f"{headers.get('X-Cache', '-')}/{headers.get('X-Page-Cache', '-')}"
            before[how] = before.get(how, 0) + 1
            time.sleep(POLL_SECONDS)
        other, shown = None, ""
        if self.site.other_port:
            other, shown = self.other_server(save)
        self.seen.append(Seen(save.number, delay, other, shown, before, longest, save.ended))

    def other_server(self, save):
        """Whether the second app server shows this save's title, or a later save's (the editor
        goes on saving meanwhile). The previous version it serves marked stale while a request
        renders the new one (single flight) is asked again, as a reader would be served the new
        one once it is rendered; a stored page shown as fresh must be current."""
        other, shown = None, ""
        while self.editor.clock() - save.ended < GIVE_UP_SECONDS:
            try:
                status, headers, body = get(self.site.other_port, self.page)
            except (OSError, http.client.HTTPException):
                return None, "no answer"
            if status != 200:
                return None, f"status {status}"
            number, cache = shown_save(body), headers.get("X-Page-Cache", "")
            other = number >= save.number
            shown = f"save {number}, X-Page-Cache {cache}"
            if cache != "stale":
                break
            time.sleep(POLL_SECONDS)
        return other, shown


def report(site, watcher, responses, down, window):
    """Print the front cache's part; return its failures."""
    if not site.front:
        return []
    failures = []
    print("\nThrough Varnish:")
    delays = [seen.delay for seen in watcher.seen if seen.delay is not None]
    for seen in watcher.seen:
        shown = "never" if seen.delay is None else f"{seen.delay:.2f} s"
        crossed = {True: "yes", False: "NO", None: "—"}[seen.other_server]
        if seen.other_shown:
            crossed += f" ({seen.other_shown})"
        older = ", ".join(f"{n} {how}" for how, n in seen.older.items()) or "none"
        print(
            f"  save {seen.save:>2}: visible through Varnish after {shown} (older answers "
            f"before: {older}; slowest request {seen.longest:.2f} s); second server: {crossed}"
        )
    if delays:
        print(
            f"  Publish to visible: median {statistics.median(delays):.2f} s, slowest "
            f"{max(delays):.2f} s over {len(delays)} saves (target < {VISIBLE_WITHIN:.0f} s)."
        )
    # A save answered in the outage window, or less than VISIBLE_WITHIN before it, cannot be
    # rendered until the database is back: it is shown above, not held to the target.
    held = [s for s in watcher.seen if not window[0] - VISIBLE_WITHIN <= s.answered <= window[1]]
    if len(held) < len(watcher.seen):
        print(
            f"  Not held to the {VISIBLE_WITHIN:.0f} s target: saves answered in the outage "
            f"window or less than {VISIBLE_WITHIN:.0f} s before it ("
            + ", ".join(str(s.save) for s in watcher.seen if s not in held)
            + ")."
        )
    late = [s for s in held if s.delay is None or s.delay > VISIBLE_WITHIN]
    if late:
        failures.append(
            f"{len(late)} saves were not visible through Varnish within {VISIBLE_WITHIN} s, "
            f"e.g. save {late[0].save}"
        )
    if not watcher.seen:
        failures.append("No save was followed through Varnish.")
    not_crossed = [s for s in watcher.seen if s.other_server is False]
    if not_crossed:
        failures.append(
            f"After {len(not_crossed)} saves on the first app server the second still showed the "
            f"old title, e.g. save {not_crossed[0].save}"
        )
    while_down = [
        r for r in responses if r.started <= down[1] and r.ended >= down[0] and r.status == 200
    ]
    from_varnish = [r for r in while_down if r.front in ("hit", "stale")]
    stale = sum(r.front == "stale" for r in while_down)
    print(
        f"  While the database was down: {len(from_varnish)} pages from Varnish's cache "
        f"({stale} of them stale), of {len(while_down)} served."
    )
    if not from_varnish:
        failures.append("Varnish served no cached page while the database was down.")
    if site.counters:
        print(
            "  Varnish: " + ", ".join(f"{k.split('.')[-1]} {v}" for k, v in site.counters.items())
        )
    return failures
