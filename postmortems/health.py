"""Probes for load balancers, and the page readers get while the database is away."""

import logging
import sys

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse, HttpResponseServerError
from django.template import loader
from django.views.decorators.cache import never_cache

UNAVAILABLE_RETRY_SECONDS = 10


@never_cache
def healthz(request):
    """The app is up. Touches nothing else, so it also measures the bare cost of a request."""
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
def readyz(request):
    """The app can reach its database: a load balancer should send readers here."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return HttpResponse("database unreachable\n", content_type="text/plain", status=503)
    return HttpResponse("ok\n", content_type="text/plain")


def server_error(request):
    """handler500: a lost database is an outage of ours, said plainly, not a server error.

    Both templates are rendered without a request, so no context processor can touch the
    database that just failed.
    """
    if database_unavailable(sys.exc_info()[1]):
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
    return HttpResponseServerError(loader.render_to_string("500.html"))


def database_unavailable(error):
    """The errors that mean the database is away (down, restarting, unreachable), not a bug."""
    return isinstance(error, (OperationalError, InterfaceError))


class DatabaseUnavailableFilter(logging.Filter):
    """Each 503 of a lost database is logged as one line naming the error, without its traceback.

    While the database is away every reader who misses the caches gets the 503 page: a
    traceback for each would bury the log and say nothing new. Other errors keep theirs.
    """

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        if database_unavailable(error):
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            record.msg = f"{record.getMessage()} (database unavailable: {reason})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
