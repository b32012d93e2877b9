"""Incidents as documents to take away: the Markdown download of a postmortem."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from outages.interchange.markdown_export import postmortem
from outages.models import Incident, IncidentRelation


@require_safe
def incident_markdown(request, slug):
    # Ten queries whatever the incident's size: see Incident.objects.in_full(), and its
    # relations (IncidentRelation.objects.seen_from()).
    incident = get_object_or_404(Incident.objects.published().in_full(), slug=slug)
    response = HttpResponse(
        postmortem(
            incident,
            request.build_absolute_uri,
            IncidentRelation.objects.seen_from(incident),
        ),
        content_type="text/markdown; charset=utf-8",
    )
    # Slugs are [-a-zA-Z0-9_]+, so the file name needs no quoting beyond the quotes.
    response["Content-Disposition"] = f'attachment; filename="{incident.slug}.md"'
    return response
