"""Archived copies of sources as readers see them: the copy's text under a banner saying what it
is, what changed from the version before, and the stored bytes served inert. Readers see only
ArchivedCopy.objects.public(); anything else is "not found", as an unknown number is."""

import mimetypes
import re
from urllib.parse import urlsplit

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from outages import page_cache
from outages.archive_text import changes, kind_of, media_type
from outages.models import ArchivedCopy, Incident
from outages.web.media import inert

# A content type as a header may carry it; a stored one that is not (it came from a provider's
# server) is served as bytes to download, never guessed at.
CONTENT_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(\s*;[\x20-\x7e]*)?")
NOT_IN_FILENAME = re.compile(r"[^A-Za-z0-9.-]+")
# Types whose bytes are text to read; anything else (a PDF, an image) is offered raw only.


def served_type(content_type):
    """The stored content type if a header may carry it, else bytes to download."""
    content_type = content_type.strip()
    return content_type if CONTENT_TYPE.fullmatch(content_type) else "application/octet-stream"


def visible_copies(request):
    """Readers see public() copies; staff, checking a draft's sources, see every copy."""
    return ArchivedCopy.objects.all() if request.user.is_staff else ArchivedCopy.objects.public()


def shown_copy(request, pk):
    copy = visible_copies(request).select_related("source").filter(pk=pk).first()
    if copy is None:
        raise Http404("No such archived copy.")
    return copy


def citing(request, copy):
    """The published incidents that cite the copy's source; the page shows them, so it is
    stored with their tags and a change to any of them (a new copy too) refreshes it."""
    incidents = list(
        Incident.objects.published()
        .filter(sources=copy.source_id)
        .select_related("provider")
        .newest_first()
    )
    page_cache.depends_on(request, *(page_cache.incident_tag(i.slug) for i in incidents))
    return incidents


def archived_copy(request, pk):
    """One archived version as text a reader can read, with its versions and citing incidents."""
    copy = shown_copy(request, pk)
    versions = list(visible_copies(request).series_of(copy).defer("body").order_by("number"))
    return render(
        request,
        "outages/archived_copy.html",
        {
            "copy": copy,
            "kind": kind_of(copy.content_type),
            "text": copy.text,
            "versions": versions,
            "newest": versions[-1],
            "incidents": citing(request, copy),
        },
    )


def archived_copy_changes(request, pk):
    """What changed in the text from the version before this one (none before the first)."""
    copy = shown_copy(request, pk)
    previous = (
        visible_copies(request).series_of(copy).filter(number=copy.number - 1).first()
        if copy.has_previous
        else None
    )
    if previous is None:
        raise Http404("This is the first archived version: nothing came before it.")
    old, new = previous.text, copy.text
    lines = changes(old, new) if old is not None and new is not None else None
    return render(
        request,
        "outages/archived_copy_changes.html",
        {
            "copy": copy,
            "previous": previous,
            "kind": kind_of(copy.content_type),
            "lines": lines,
            "added": sum(kind == "added" for kind, _ in lines or []),
            "removed": sum(kind == "removed" for kind, _ in lines or []),
            "incidents": citing(request, copy),
        },
    )


@require_safe
def archived_copy_raw(request, pk):
    """The stored bytes as the provider sent them, inert: the browser runs nothing in them.

    Never page-cached: a stored page is replayed without its own Content-Security-Policy, and
    the site's policy would take the sandbox's place."""
    copy = get_object_or_404(visible_copies(request), pk=pk)
    response = HttpResponse(copy.content, content_type=served_type(copy.content_type))
    inert(response, raw_filename(copy))
    # The provider's words, kept as evidence: not for search engines to file under this site.
    response["X-Robots-Tag"] = "noindex"
    # A version never changes, but whether readers may see it can (a withdrawal).
    response["Cache-Control"] = (
        "private, no-store" if request.user.is_staff else "public, max-age=86400"
    )
    return response


def raw_filename(copy):
    """“status.example.com-version-2.html”: the host, the version and the kind, nothing that
    needs quoting."""
    host = NOT_IN_FILENAME.sub("-", urlsplit(copy.url).hostname or "").strip("-") or "archived"
    extension = mimetypes.guess_extension(media_type(served_type(copy.content_type))) or ".bin"
    return f"{host}-version-{copy.number}{extension}"
