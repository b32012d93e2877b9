"""The site's own 404, 400 and 500 pages for readers, also while DEBUG is on.

`make run` serves with DEBUG on (autoreload, static files from the source folders, no secret to
set up), and anyone who opens that server is a reader: Django's debug pages would show them every
URL pattern, the settings and the tracebacks. So under DEBUG a reader who is not staff gets the
pages production gives, with production's status; staff, who are the developers and editors of a
development server, keep Django's debug pages. With DEBUG off Django does all this itself and
this middleware steps aside.
"""

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.core.handlers.exception import get_exception_response
from django.core.signals import got_request_exception
from django.http import Http404
from django.urls import Resolver404, get_resolver, get_urlconf
from django.utils.log import log_response


class ReaderErrorPages:
    """After AuthenticationMiddleware: whether the reader is staff decides."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No view was found for the address: Django answered with its list of URL patterns.
        if response.status_code == 404 and request.resolver_match is None and for_readers(request):
            return error_page(request, 404, Resolver404({"path": request.path_info}))
        return response

    def process_exception(self, request, exception):
        if not for_readers(request) or isinstance(exception, PermissionDenied):
            return None  # Django's own handling; a 403 page is the production one already
        if isinstance(exception, Http404):
            return error_page(request, 404, exception)
        if isinstance(exception, (BadRequest, SuspiciousOperation)):
            response = error_page(request, 400, exception)
        else:
            # As Django does for an uncaught exception, so error reporting still hears of it.
            got_request_exception.send(sender=None, request=request)
            response = get_resolver(get_urlconf()).resolve_error_handler(500)(request)
        log_response(
            "%s: %s",
            response.reason_phrase,
            request.path,
            response=response,
            request=request,
            exception=exception,
        )
        return response


def for_readers(request):
    """Under DEBUG, for anyone but staff (the debug pages stay for them)."""
    user = getattr(request, "user", None)
    return settings.DEBUG and not getattr(user, "is_staff", False)


def error_page(request, status, exception):
    """The page production gives for this status: the URLconf's handler, as Django calls it."""
    return get_exception_response(request, get_resolver(get_urlconf()), status, exception)
