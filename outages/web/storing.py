"""Middleware: an editor's save stores the articles it changed before it answers.

A write forgets the stored articles of the incidents it changes (outages.models.articles); left
to itself, the next reader renders each one again. After a publish, that reader is the one a
front cache sends first, and every other reader of the page waits for it, on a server busy with
the other pages the publish made stale. Rendered here, after the commit and before the answer,
the editor pays instead, and the front caches are purged only after it (front_cache.CacheHeaders
holds a request's purges until its answer), so the first reader they send finds it stored.

Only a handful: a rename that reaches thousands of incidents (a provider, shown on each of its
incidents) leaves them to their readers rather than keep the editor waiting.
"""

import logging

from django.db import DatabaseError

from outages.models import Incident
from outages.models.articles import EVERY_ARTICLE, noting_forgotten
from outages.web import articles
from outages.web.views import for_page

log = logging.getLogger(__name__)

STORED_AT_ONCE = 20  # incidents whose articles one request stores again before its answer
READ_ONLY = frozenset(["GET", "HEAD", "OPTIONS"])


class StoreChangedArticles:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in READ_ONLY:
            return self.get_response(request)
        with noting_forgotten() as forgotten:
            response = self.get_response(request)
        # Only after a save that went through (a redirect, mostly): a refused one, the
        # database away say, answers at once.
        saved = response.status_code < 400 and EVERY_ARTICLE not in forgotten
        if saved and 0 < len(forgotten) <= STORED_AT_ONCE:
            store(forgotten)
        return response


def store(pks):
    """Store the articles of these incidents (the published ones) now; a database that refuses
    only leaves them to their next reader: the save itself is committed."""
    try:
        articles.fill(for_page, Incident.objects.filter(pk__in=sorted(pks)))
    except DatabaseError as error:
        # Expected while the database goes away: a line, not a traceback.
        log.warning("The changed articles were left to their readers: %s", error)
