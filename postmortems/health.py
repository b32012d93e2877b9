"""Probes for load balancers, and the page readers get while the database is away."""

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
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
    return HttpResponseServerError(loader.render_to_string("500.html"))
