"""Figures served from the storage (local files or a bucket) at their address on this site,
with headers that let a browser do nothing with them but show them. Archived copies of sources
are served raw under the same rule (inert())."""

from pathlib import PurePosixPath

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

from outages.images import CONTENT_TYPES
from outages.models import Figure, Incident

# Opened on its own, the file is a document with no right to run or load anything. Set on the
# response, it is kept: django-csp adds the site's policy only where none is set.
INERT_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def inert(response, filename):
    """Serve a file that is not the site's own (an uploaded figure, a provider's archived page)
    so that the browser only shows it: no script runs, nothing is sniffed into another type."""
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = INERT_POLICY
    return response


@require_safe
def figure_file(request, name):
    """The file of a figure of a published incident (staff, previewing drafts: of any)."""
    figures = Figure.objects.filter(image=name)
    if not request.user.is_staff:
        figures = figures.filter(incident__in=Incident.objects.published())
    content_type = CONTENT_TYPES.get(PurePosixPath(name).suffix.lstrip(".").lower())
    if content_type is None or not figures.exists():
        raise Http404("No such figure.")
    try:
        stream = default_storage.open(name, "rb")
    except OSError:
        raise Http404("The figure's file is missing.") from None
    response = FileResponse(stream, content_type=content_type)
    inert(response, PurePosixPath(name).name)
    # A file's name is its content's hash, so it never changes; whether readers may see it can
    # (a withdrawal), so it is kept for a day. Drafts' figures are not stored on the way.
    response["Cache-Control"] = (
        "private, no-store" if request.user.is_staff else "public, max-age=86400"
    )
    return response
