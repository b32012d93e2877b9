"""Whole-page cache for readers, invalidated by tags rather than by time.

A cached page records the tags it was built from ("incidents" for anything that lists or counts
incidents, "incident:<slug>", "provider:<slug>", "service:<provider>.<slug>",
"region:<provider>.<code>", "customer:<slug>") together with each tag's version at the time.
A change bumps the versions of the tags it touches, so exactly the pages that showed the changed
incident miss on their next request, and every other page keeps being served from the cache, even
while the database is away. Versions live in the same cache as the pages, so several app servers
sharing a Redis cache (CACHE_URL) see each other's changes at once.

Requests carrying a session cookie skip the cache: editors see their own previews and the staff
links in the page header, and a page rendered for them is never stored for readers.

A page that misses is rendered once, not once per reader (single flight): the first request takes
a lock in the cache (cache.add, so it holds across processes and servers sharing Redis) and
renders; meanwhile the others get the previous version of the same address, marked
"X-Page-Cache: stale", or, if there is none, wait up to PAGE_CACHE_WAIT_SECONDS for the one render
and then render themselves. A stored page is fresh for PAGE_CACHE_SECONDS while its tags stay, and
kept PAGE_CACHE_STALE_SECONDS longer as that previous version.
"""

import gzip
import hashlib
import logging
import time
import uuid
from contextlib import contextmanager
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.http import HttpResponse
from django.middleware.common import CommonMiddleware
from django.middleware.gzip import re_accepts_gzip
from django.middleware.http import ConditionalGetMiddleware
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers
from django.utils.http import quote_etag
from django.utils.text import compress_string
from django.views.decorators.http import require_safe

from outages import front_cache
from outages.models import (
    CustomerImpact,
    Incident,
    IncidentArticle,
    IncidentRelation,
    PromiseLink,
)

# Every page: bumped when names that appear everywhere change, or by an import.
SITE = front_cache.EVERY_PAGE
INCIDENTS = "incidents"  # every page that lists or counts incidents
# Query parameters some reader page understands. An address with any other is rendered but not
# stored, so nobody can push real pages out of the cache with made-up parameters.
KNOWN_PARAMETERS = frozenset(
    ["q", "provider", "service", "region", "customer", "cause", "year", "since", "until"]
    + ["through", "impact", "sort", "page", "p", "state"]
)
KEPT_HEADERS = ("Content-Type", "Last-Modified", "Content-Disposition", "Content-Language")
REMEMBERED_PAGES = 10000  # addresses whose tags a process remembers, to fetch them with the page
FIRST_POLL_SECONDS = 0.02  # a reader waiting for another's render looks again after this,
LAST_POLL_SECONDS = 0.25  # doubling up to this

logger = logging.getLogger(__name__)


def incident_tag(slug):
    return f"incident:{slug}"


def provider_tag(slug):
    return f"provider:{slug}"


def service_tag(provider_slug, slug):
    return f"service:{provider_slug}.{slug}"


def region_tag(provider_slug, code):
    return f"region:{provider_slug}.{code}"


def customer_tag(slug):
    return f"customer:{slug}"


def _tag_key(tag):
    return "pm:tag:" + hashlib.sha256(tag.encode()).hexdigest()


# A key nothing stores. A read that includes it goes to Redis itself, not to the process's near
# copy of pages and versions (postmortems/near_cache.py), which may not have heard yet of a
# write another server made a moment ago. Renders read through: the versions they record, and
# the page once they hold the render lock, which the last renderer let go of after storing it.
READ_THROUGH = "pm:read-through"


def _read(keys, through):
    return cache.get_many([*keys, READ_THROUGH] if through else list(keys))


def _versions(tags, through=True):
    """The current version of each tag, giving a fresh one to tags the cache does not hold."""
    keys = {tag: _tag_key(tag) for tag in tags}
    found = _read(keys.values(), through)
    missing = [tag for tag, key in keys.items() if key not in found]
    for tag in missing:
        cache.add(keys[tag], uuid.uuid4().hex, timeout=None)
    if missing:
        found.update(_read([keys[tag] for tag in missing], through))
    return {tag: found.get(key) for tag, key in keys.items()}


def bump(tags):
    """Give each tag a new version now, and again once the current transaction commits.

    The first bump makes the change visible at once to this process's next request; the second
    drops any page a reader built from the old rows between the first bump and the commit, and
    is followed by the purge of the front caches, so what they fetch next is the new page.
    Outside a transaction (the admin's saves bump after their commit) one bump is all: a second
    would make readers render every page twice, once on each version.
    """
    tags = set(tags)
    if not tags:
        return

    def write():
        cache.set_many({_tag_key(tag): uuid.uuid4().hex for tag in tags}, timeout=None)

    def committed():
        write()
        front_cache.purge(tags)

    write()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(committed)
    else:
        front_cache.purge(tags)


def incident_tags(pks):
    """The tags of every page that shows one of these incidents, read from the database."""
    # Drafts and withdrawn incidents are on no cached page, so changing them costs readers nothing.
    pks = list(Incident.objects.published().filter(pk__in=pks).values_list("pk", flat=True))
    if not pks:
        return set()
    tags = {INCIDENTS}
    for slug, provider in Incident.objects.filter(pk__in=pks).values_list("slug", "provider__slug"):
        tags.update((incident_tag(slug), provider_tag(provider)))
    # A service or region, and so its provider, exists for readers while a published incident
    # names it (Provider.objects.visible()): its provider's page comes and goes with it, even
    # when that provider is not the incident's. An impact's services count as named too.
    services = Incident.services.through.objects.filter(incident_id__in=pks).values_list(
        "service__provider__slug", "service__slug"
    )
    named = CustomerImpact.services.through.objects.filter(
        customerimpact__incident_id__in=pks
    ).values_list("service__provider__slug", "service__slug")
    for provider, slug in [*services, *named]:
        tags.update((service_tag(provider, slug), provider_tag(provider)))
    regions = Incident.regions.through.objects.filter(incident_id__in=pks)
    for provider, code in regions.values_list("region__provider__slug", "region__code"):
        tags.update((region_tag(provider, code), provider_tag(provider)))
    impacts = CustomerImpact.objects.filter(incident_id__in=pks)
    tags.update(customer_tag(slug) for slug in impacts.values_list("customer__slug", flat=True))
    # Both ends of a promise link show it (the promise's incident and the later one).
    links = PromiseLink.objects.filter(Q(incident_id__in=pks) | Q(later_incident_id__in=pks))
    for ends in links.values_list("incident__slug", "later_incident__slug"):
        tags.update(map(incident_tag, ends))
    # A relation shows on both ends' pages (and their cascades): the other ends follow.
    tags.update(incident_tag(slug) for slug in related_slugs(pks))
    return tags


def related_slugs(pks):
    """The published incidents related to these (IncidentRelation), either end."""
    relations = IncidentRelation.objects.involving(pks).shown()
    ends = relations.values_list("incident__slug", "other__slug")
    return {slug for pair in ends for slug in pair}


def shown_incident_tags(incident, shown):
    """incident_tags() for one incident, from its provider and `shown`, its services, regions
    and impacts with customers as its page read them (no queries)."""
    return {
        incident_tag(incident.slug),
        provider_tag(incident.provider.slug),
        *(service_tag(s.provider.slug, s.slug) for s in shown.services),
        *(region_tag(r.provider.slug, r.code) for r in shown.regions),
        *(customer_tag(i.customer.slug) for i in shown.impacts),
    }


@contextmanager
def changing(pks):
    """Invalidate the pages of some incidents around a change to them.

    Tags are read before and after, so the page of a service an incident leaves misses as well
    as the page of the service it joins, and a withdrawn incident leaves every list it was on.
    The incidents' stored articles are forgotten before and after too (and once more after the
    commit): the next read of each page renders its article from the rows as they are then.
    """
    pks = [pk for pk in pks if pk is not None]
    before = incident_tags(pks)
    IncidentArticle.objects.forget(pks)
    yield
    IncidentArticle.objects.forget(pks)
    bump(before | incident_tags(pks))


def invalidate_all():
    bump([SITE])


def depends_on(request, *tags):
    """Record that the page being built shows what these tags cover."""
    recorded = getattr(request, "page_tags", None)
    if recorded is not None:
        recorded.update(_versions(set(tags) - set(recorded)))


def _page_key(request):
    address = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    return "pm:page:" + hashlib.sha256(address.encode()).hexdigest()


def _lock_key(page_key):
    """Held by the one request rendering this page."""
    return "pm:render:" + page_key


def _cacheable(request):
    return (
        settings.PAGE_CACHE_SECONDS > 0
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and KNOWN_PARAMETERS.issuperset(request.GET)
    )


def _replay(request, entry):
    """The stored page. It is stored compressed (compressing on every hit cost more than the
    rest of serving it), and unpacked only for the rare client that does not take gzip."""
    body, packed = entry["body"], entry["gzip"]
    if packed and re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
        response = HttpResponse(body, status=entry["status"])
        response["Content-Encoding"] = "gzip"
        response["ETag"] = "W/" + entry["etag"]  # as GZipMiddleware marks a compressed body
    else:
        response = HttpResponse(gzip.decompress(body) if packed else body, status=entry["status"])
        response["ETag"] = entry["etag"]
    for name, value in entry["headers"].items():
        response[name] = value
    patch_vary_headers(response, ["Accept-Encoding"])
    response["X-Page-Cache"] = "hit"
    return response


def cached(*tags_from_url):
    """Cache a reader view's 200 responses, tagged by functions of its URL arguments.

    Each function in tags_from_url takes the view's keyword arguments and returns a tag; the view
    may add more tags while it renders with depends_on(). Fresh pages are usually served by
    ServeHits before the request reaches the view; this serves the rest.
    """

    def decorator(view):
        @require_safe  # reader pages are only read: anything but GET and HEAD is a 405
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not _cacheable(request):
                return view(request, *args, **kwargs)
            key = _page_key(request)
            tags = _url_tags(tags_from_url, kwargs)
            # ServeHits has looked already when the request came through it.
            entry, fresh = getattr(request, "stored_page", None) or _stored_page(key, tags)
            if fresh:
                return _replay(request, entry)
            return _single_flight(request, key, tags, entry, lambda: view(request, *args, **kwargs))

        wrapper.page_tags_from_url = tags_from_url
        return wrapper

    return decorator


def _url_tags(tags_from_url, kwargs):
    return {SITE, *(tag(kwargs) for tag in tags_from_url)}


class ServeHits:
    """Middleware: a fresh stored page, answered before the rest of the stack runs.

    It sits after the middleware that put headers on every response (security, CSP,
    X-Frame-Options, CacheHeaders), so a hit leaves with the same headers as before, and before
    sessions, CSRF, authentication, messages, the error pages and the view, none of which a
    stored page needs: together they cost more than the hit itself. Only addresses routed to a
    cached() view are looked up, so the probes and the admin never wait on the cache. Misses
    and stale pages go on to the view, where cached() renders them once.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        # What the middleware below would still have done to a hit: a 304 for a matching
        # If-None-Match, and Content-Length.
        self.conditional = ConditionalGetMiddleware(get_response)
        self.common = CommonMiddleware(get_response)

    def __call__(self, request):
        if request.method in ("GET", "HEAD") and _cacheable(request):
            try:
                match = resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404:
                match = None
            tags_from_url = getattr(match and match.func, "page_tags_from_url", None)
            if tags_from_url is not None:
                request.stored_page = _stored_page(
                    _page_key(request), _url_tags(tags_from_url, match.kwargs)
                )
                entry, fresh = request.stored_page
                if fresh:
                    response = self.conditional.process_response(request, _replay(request, entry))
                    return self.common.process_response(request, response)
        return self.get_response(request)


def _stored_page(key, tags, through=False):
    """(the stored page or None, whether it is fresh): none of its tags has moved since it was
    rendered, and it is younger than PAGE_CACHE_SECONDS. A page that is not fresh is the
    previous version, served while one request renders the next.

    The page and the versions of its tags come in one round trip to the cache: those its
    address implies, and those the view added when it was last seen by this process (an
    incident page's services, say). Remembering them is only a guess of which keys to fetch:
    freshness is always decided by the versions in the cache, and a tag not guessed costs a
    second round trip.
    """
    keys = {tag: _tag_key(tag) for tag in {*tags, *_seen_tags.get(key, ())}}
    found = _read([key, *keys.values()], through)
    entry = found.get(key)
    if entry is None:
        return None, False
    if len(_seen_tags) >= REMEMBERED_PAGES:
        _seen_tags.clear()
    _seen_tags[key] = tuple(entry["tags"])
    if entry.get("fresh_until", 0) < time.time() or not tags <= entry["tags"].keys():
        return entry, False
    current = {tag: found.get(tag_key) for tag, tag_key in keys.items()}
    added = entry["tags"].keys() - current.keys()
    if added:
        current.update(_versions(added, through))
    return entry, all(current[tag] == version for tag, version in entry["tags"].items())


# Page key: the tags of the page last stored there (see _stored_page). One per process.
_seen_tags = {}


def _single_flight(request, key, tags, stale, render):
    """The response to a request that missed: rendered here if no other request is rendering
    this page; else the previous version (stale) if there is one; else, after waiting up to
    PAGE_CACHE_WAIT_SECONDS, the page the other request stored, or one rendered here after all.
    """
    lock, token = _lock_key(key), uuid.uuid4().hex
    deadline = time.monotonic() + settings.PAGE_CACHE_WAIT_SECONDS
    pause = FIRST_POLL_SECONDS
    # The lock expires by itself, so a renderer that dies cannot hold the page back for long.
    while not cache.add(lock, token, settings.PAGE_CACHE_RENDER_SECONDS):
        if stale is not None:
            return _serve_stale(request, stale)
        left = deadline - time.monotonic()
        if left <= 0:
            return _render(request, key, tags, render, None)
        _pause(min(pause, left))
        pause = min(2 * pause, LAST_POLL_SECONDS)
    try:
        # Another request may have stored the page since we looked, and let go of the lock.
        entry, fresh = _stored_page(key, tags, through=True)
        if fresh:
            return _replay(request, entry)
        return _render(request, key, tags, render, entry or stale)
    finally:
        # Only our own lock: if ours expired during a slow render, another request holds it now.
        if cache.get(lock) == token:
            cache.delete(lock)


def _pause(seconds):
    time.sleep(seconds)


def _render(request, key, tags, render, stale):
    """Render the page and store it; with the database away or a server error, serve the
    previous version instead if there is one (and store nothing)."""
    # Versions are read before the database, so a change committed meanwhile bumps them past
    # what is stored here and the page misses next time.
    request.page_tags = _versions(tags)
    try:
        response = render()
    except (OperationalError, InterfaceError) as error:
        if stale is None:
            raise
        logger.warning("Served the previous %s: the database failed (%s)", request.path, error)
        return _serve_stale(request, stale)
    if hasattr(response, "render") and not response.is_rendered:
        response.render()  # a TemplateResponse (the sitemap), to store its content
    if response.status_code >= 500 and stale is not None:
        return _serve_stale(request, stale)
    _store(key, request.page_tags, response)
    response["X-Page-Cache"] = "miss"
    return response


def _serve_stale(request, entry):
    """The previous version of this address, marked stale, while the new one is rendered."""
    response = _replay(request, entry)
    response["X-Page-Cache"] = "stale"
    front_cache.stale(response)
    return response


def _moved(tags):
    """Whether any of these {tag: version} has a new version now."""
    keys = {_tag_key(tag): version for tag, version in tags.items()}
    return _read(keys.keys(), through=True) != keys


def _store(key, tags, response):
    if response.status_code != 200 or response.streaming or response.has_header("Set-Cookie"):
        return
    control = response.get("Cache-Control", "")
    if "no-store" in control or "private" in control:
        return
    # Browsers ask again each time (a cheap 304 by ETag); shared caches keep it, tagged, unless a
    # change came during the render: the page may show the old rows, and the purge after that
    # change may reach the front caches before this page does.
    moved = _moved(tags)
    if moved:
        front_cache.stale(response)
    else:
        front_cache.shared(response, tags)
    content = response.content
    compressed = compress_string(content) if len(content) >= 200 else None
    packed = compressed is not None and len(compressed) < len(content)
    # The ETag ConditionalGetMiddleware would give the body, set here so hits need not hash it.
    response["ETag"] = quote_etag(hashlib.md5(content, usedforsecurity=False).hexdigest())
    entry = {
        "tags": tags,
        "fresh_until": time.time() + settings.PAGE_CACHE_SECONDS,
        "status": response.status_code,
        "body": compressed if packed else content,
        "gzip": packed,
        "etag": response["ETag"],
        "headers": {
            name: response[name]
            for name in (*KEPT_HEADERS, "Cache-Control", *front_cache.STORED_HEADERS)
            if name in response
        },
    }
    # Kept past its freshness as the previous version, served while the next is rendered.
    timeout = settings.PAGE_CACHE_SECONDS + settings.PAGE_CACHE_STALE_SECONDS
    if moved:
        # Rendered from rows older than a change, so never fresh: at most a previous version,
        # where nothing is stored. A request that began after the change may have stored the
        # new page meanwhile (on another server, say); replacing it would bring the old rows
        # back as the previous version, served until the page is rendered once more.
        cache.add(key, entry, timeout)
    else:
        cache.set(key, entry, timeout)
