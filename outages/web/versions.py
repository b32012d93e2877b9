"""Published versions of an incident at their permanent addresses, and their citations.

A version page is the frozen article (web/freezing.py) under a banner that links to the current
version and says what changed since. It is cached like the incident's own pages, under its tag:
a new version changes the banner, a withdrawal puts its notice on top."""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from outages import revisions
from outages.models import Incident, IncidentVersion
from outages.web import freezing
from outages.web.citing import citation_of, cite_box

# With front caches purged on each change (FRONT_CACHE_PURGE_URLS), how long they may keep a
# version page: it changes only when a newer version or a withdrawal purges it.
VERSION_FRONT_SECONDS = 86400

# The citation files: format -> (content type, file extension, writer of Citation, accessed).
FILES = {
    "txt": ("text/plain; charset=utf-8", lambda entry, day: entry.as_text(day) + "\n"),
    "bib": ("application/x-bibtex; charset=utf-8", lambda entry, day: entry.as_bibtex(day)),
    "json": (
        "application/vnd.citationstyles.csl+json; charset=utf-8",
        lambda entry, day: entry.as_csl_json(day),
    ),
}


def citable_version(slug, number):
    """The version readers may open (IncidentVersion.objects.citable()), or 404."""
    version = (
        IncidentVersion.objects.citable()
        .select_related("incident")
        .filter(incident__slug=slug, number=number)
        .first()
    )
    if version is None:
        raise Http404("No such version.")
    return version


def version_detail(request, slug, number):
    """1 the version with its incident, 2 the later versions with their revisions; when there
    are: 3 the incident as stored in this version's revision and the newest's, 4-5 the rows
    stored with each (what revisions.compare reads; a changed provider costs one more query,
    to name it)."""
    version = citable_version(slug, number)
    if not version.article_html:  # made by a bulk import, or by the migration: freeze it now
        freezing.freeze_from_revision(version)
    incident = version.incident
    later = list(
        IncidentVersion.objects.filter(incident=incident, number__gt=number)
        .select_related("revision")
        .only("number", "published_at", "revision__comment")
        .order_by("number")
    )
    for later_version in later:
        later_version.incident = incident  # for their addresses
    response = render(
        request,
        "outages/incident_version.html",
        {
            "version": version,
            "incident": incident,
            "withdrawn": incident.status == Incident.Status.WITHDRAWN,
            "later": [
                (
                    later_version,
                    revisions.comment_text(
                        later_version.revision.comment if later_version.revision else ""
                    ),
                )
                for later_version in later
            ],
            "changes": changes_since(version, later[-1]) if later else None,
            "citation": cite_box(request, version),
        },
    )
    if settings.FRONT_CACHE_PURGE_URLS:
        response.shared_seconds = VERSION_FRONT_SECONDS  # read by front_cache.shared()
    return response


def changes_since(version, newest):
    """(field changes, row changes) from a version to the newest (revisions.compare), or None
    when either revision is gone."""
    stored = freezing.stored_incident(version.incident, [version.revision_id, newest.revision_id])
    older, newer = stored.get(version.revision_id), stored.get(newest.revision_id)
    if older is None or newer is None:
        return None
    return revisions.compare(older, newer)


@require_safe
def citation_file(request, slug, number, format):
    """A version's citation as a file, with today's date (UTC) as the date it was accessed.
    Not in the page cache: a browser or shared cache may keep it until the day ends, so the
    access date it carries is never yesterday's."""
    if format not in FILES:
        raise Http404("No such format.")
    version = citable_version(slug, number)
    content_type, write = FILES[format]
    now = timezone.now().astimezone(UTC)
    response = HttpResponse(write(citation_of(request, version), now.date()), content_type)
    response["Content-Disposition"] = f'attachment; filename="{slug}-v{number}.{format}"'
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    seconds = max(1, int((midnight - now).total_seconds()))
    response["Cache-Control"] = f"public, max-age={seconds}"
    return response
