"""A shared HTTP cache in front of the app (Varnish, or a CDN): what it may keep, and purging it.

Pages the page cache stores (outages/page_cache.py) tell shared caches they may keep them for
FRONT_CACHE_SECONDS, and name their tags in `Surrogate-Key` (space-separated: Fastly, and
Varnish's xkey through the VCL in deploy/) and `Cache-Tag` (comma-separated: Cloudflare). When
a change bumps tags, the same tag names are purged from every front cache in
FRONT_CACHE_PURGE_URLS once the transaction commits, so a publish shows at once even there
(outages/front_purges.py says what each kind of front cache is sent).

Browsers get `max-age=0` and revalidate every page with its ETag (a 304). `must-revalidate` is
left out on purpose: it forbids every cache, shared ones included, to serve a stale page, and
serving one while the next is fetched (`stale-while-revalidate`) or while the database is away
(`stale-if-error`) is the point of the front cache.

Everything else is `private, no-store` unless its view said otherwise: editors' responses
(any request with the session cookie, the admin), pages the page cache would not store (unknown
query parameters, errors, the 503 page) and the probes. A 404 or 410 of a reader page is kept
briefly (FRONT_CACHE_MISSING_SECONDS) with its tags, so a publish purges it too.
"""

import atexit
import logging
import os
import threading
import time
from contextlib import contextmanager

import httpx
from django.conf import settings
from django.utils.cache import patch_cache_control, patch_vary_headers

from outages import front_purges

logger = logging.getLogger(__name__)

EVERY_PAGE = "site"  # the tag every page carries: purging it empties the front caches
SURROGATE_KEY = "Surrogate-Key"  # Fastly; Varnish's VCL copies it to xkey
CACHE_TAG = "Cache-Tag"  # Cloudflare
HEADERS = (SURROGATE_KEY, CACHE_TAG)
STORED_HEADERS = (*HEADERS, "Vary")  # what the page cache keeps of shared() with the page
# Longer than this, the tags of one purge are replaced by EVERY_PAGE: Varnish refuses request
# headers past 8 KB by default, and a purge that large has changed nearly everything anyway.
LONGEST_PURGE = 4000
MISSING_STATUSES = frozenset([404, 410])


# --- Headers --------------------------------------------------------------------------------


def shared(response, tags):
    """Let shared caches keep a reader page the page cache stores, under these tags: for
    FRONT_CACHE_SECONDS, or the `shared_seconds` its view set (a version page, which only a
    purge changes)."""
    patch_cache_control(
        response,
        public=True,
        max_age=0,
        s_maxage=getattr(response, "shared_seconds", settings.FRONT_CACHE_SECONDS),
        stale_while_revalidate=settings.FRONT_CACHE_STALE_WHILE_REVALIDATE,
        stale_if_error=settings.FRONT_CACHE_STALE_IF_ERROR,
    )
    # With the session cookie the answer differs (an editor's page, never kept), so a shared
    # cache that does not pass such requests by itself must not serve them this one.
    patch_vary_headers(response, ["Cookie"])
    _name_tags(response, tags)


def stale(response):
    """A previous version served while the next one renders: readers may have it, shared
    caches must not keep it (they would keep it after the purge that made it old)."""
    private(response)


def private(response):
    """Kept by no cache, browser or shared; the admin's own `never_cache` header is kept."""
    control = response.get("Cache-Control", "")
    if "private" not in control or "no-store" not in control:
        del response["Cache-Control"]
        patch_cache_control(response, private=True, no_store=True)
    for name in HEADERS:
        del response[name]


def _name_tags(response, tags):
    tags = sorted(tags)
    response[SURROGATE_KEY] = " ".join(tags)
    response[CACHE_TAG] = ",".join(tags)


class CacheHeaders:
    """Middleware: `private, no-store` for editors and for whatever no view marked, and a short
    shared life for readers' 404s and 410s. Placed after WhiteNoise, whose static files keep
    their own year-long lifetime."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A request's purges wait for its answer: what it does after its commit (storing the
        # articles it changed, outages.web.storing) is done before a front cache fetches again.
        with _purger.holding():
            response = self.get_response(request)
        # A save's answer comes once its purges are sent (or after FRONT_CACHE_PURGE_WAIT), so
        # an editor who sees "saved" finds the new page through the front caches at once.
        _purger.wait_for_own(settings.FRONT_CACHE_PURGE_WAIT)
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            private(response)  # an editor: never kept, whatever the view said
        elif not response.has_header("Cache-Control"):
            # page_tags: the page cache took the request as a reader's (cached(), known
            # parameters) but stored nothing, the view having raised or answered non-200.
            tags = getattr(request, "page_tags", None)
            if tags and response.status_code in MISSING_STATUSES:
                patch_cache_control(
                    response, public=True, max_age=0, s_maxage=settings.FRONT_CACHE_MISSING_SECONDS
                )
                _name_tags(response, tags)
            else:
                private(response)
        return response


# --- Purging --------------------------------------------------------------------------------


def purge(tags):
    """Purge pages with these tags from every front cache, in the background. Call it only once
    the change is committed (page_cache.bump does, from transaction.on_commit)."""
    if settings.FRONT_CACHE_PURGE_URLS and tags:
        _purger.add(tags)


def flush():
    """Wait until every purge asked for so far has been sent (or given up): at exit, and in
    tests. Without the background thread (FRONT_CACHE_PURGE_IN_BACKGROUND off) it sends them."""
    _purger.flush()


class Purger:
    """Tags waiting to be purged, and the one thread per process that sends them.

    Tags asked for while a purge is under way are merged into the next one, so the queue never
    holds more than one purge's worth (at most LONGEST_PURGE characters, then EVERY_PAGE).
    """

    def __init__(self):
        self.changed = threading.Condition()
        self.pending = set()
        self.sending = False
        self.thread = None
        self.client = None
        self.own = threading.local()  # whether this thread (a request's) asked for a purge

    def http(self):
        """The one HTTP client of this process's purges, kept: making one costs tens of
        milliseconds of CPU (its TLS context), which a busy server turns into a late purge, and
        its kept-alive connections save a handshake per purge."""
        if self.client is None:
            self.client = httpx.Client(follow_redirects=False)
        return self.client

    @contextmanager
    def holding(self):
        """Keep the tags this thread asks to purge until the block ends, then ask for them."""
        self.own.held = held = set()
        try:
            yield
        finally:
            self.own.held = None
            if held:
                self.add(held)

    def add(self, tags):
        held = getattr(self.own, "held", None)
        if held is not None:
            held.update(tags)
            return
        self.own.asked = True
        with self.changed:
            self.pending.update(tags)
            if EVERY_PAGE in self.pending or len(" ".join(self.pending)) > LONGEST_PURGE:
                self.pending = {EVERY_PAGE}
            if self.background():
                if self.thread is None or not self.thread.is_alive():
                    self.thread = threading.Thread(
                        target=self.run, name="front-cache-purge", daemon=True
                    )
                    self.thread.start()
                self.changed.notify_all()

    def take(self):
        """The pending tags, now being sent (call with the lock held)."""
        tags, self.pending = self.pending, set()
        self.sending = bool(tags)
        return tags

    def sent(self):
        with self.changed:
            self.sending = False
            self.changed.notify_all()

    def background(self):
        return settings.FRONT_CACHE_PURGE_IN_BACKGROUND

    def run(self):
        while True:
            with self.changed:
                self.changed.wait_for(lambda: self.pending and self.background())
                tags = self.take()
            try:
                send(tags)
            finally:
                self.sent()

    def wait_for_own(self, timeout):
        """If this thread asked for purges, wait up to timeout seconds until the background
        thread has sent them (and whatever was merged with them). Never sends anything itself:
        without the thread, purges wait for flush()."""
        if not getattr(self.own, "asked", False):
            return
        self.own.asked = False
        if timeout > 0 and self.background():
            with self.changed:
                self.changed.wait_for(lambda: not (self.pending or self.sending), timeout)

    def flush(self):
        with self.changed:
            if self.background() and self.thread is not None and self.thread.is_alive():
                self.changed.wait_for(lambda: not (self.pending or self.sending))
                return
            tags = self.take()
        if tags:
            try:
                send(tags)
            finally:
                self.sent()


def send(tags):
    """Purge these tags from each front cache, each request tried FRONT_CACHE_PURGE_ATTEMPTS
    times. Never raises: a purge that fails is logged, and the pages expire after
    FRONT_CACHE_SECONDS."""
    for address in settings.FRONT_CACHE_PURGE_URLS:
        for purge in front_purges.requests(address, tags):
            _send_one(_purger.http(), purge)


def _send_one(client, purge):
    # Logs name the front cache by purge.name: the request's headers hold the API tokens.
    names, where = " ".join(purge.tags), purge.name
    attempts = settings.FRONT_CACHE_PURGE_ATTEMPTS
    pause = settings.FRONT_CACHE_PURGE_RETRY_SECONDS
    timeout = httpx.Timeout(settings.FRONT_CACHE_PURGE_TIMEOUT)
    for attempt in range(1, attempts + 1):
        try:
            response = client.request(
                purge.method, purge.url, headers=purge.headers, json=purge.json, timeout=timeout
            )
        except httpx.HTTPError as error:
            problem = f"{type(error).__name__}: {error}"
        else:
            problem = (
                front_purges.refusal(response)
                if response.is_success
                else f"answered {response.status_code}"
            )
            if problem is None:
                logger.info("Purged %s from %s", names, where)
                return True
        if attempt == attempts:
            logger.error(
                "Gave up purging %s from %s after %d attempts: %s", names, where, attempt, problem
            )
            return False
        logger.warning(
            "Purging %s from %s failed (attempt %d of %d): %s",
            names,
            where,
            attempt,
            attempts,
            problem,
        )
        time.sleep(pause)
        pause *= 2
    return False


_purger = Purger()
# A command (an import) exits right after its commit: send what it asked for first.
atexit.register(flush)
# A forked worker starts with no thread and an unheld lock of its own.
os.register_at_fork(after_in_child=_purger.__init__)
