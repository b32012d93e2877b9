"""The citation of a published version, as the incident page, the version pages and the API show
it (outages/citations.py writes it out)."""

from datetime import UTC

from django.urls import reverse

from outages.citations import Citation
from outages.models import IncidentVersion


def citation_of(request, version):
    """The Citation of a version loaded with its incident (select_related)."""
    return Citation(
        key=f"{version.incident.slug}-v{version.number}",
        title=version.title,
        provider=version.provider_name,
        number=version.number,
        issued=version.published_at.astimezone(UTC).date(),
        url=request.build_absolute_uri(version.get_absolute_url()),
    )


def current_version(incident):
    """The incident's newest version (one query), or None when it has none: an incident that was
    written around the site's write paths has not been frozen."""
    version = IncidentVersion.objects.filter(incident=incident).order_by("-number").first()
    if version is not None:
        version.incident = incident  # loaded already
    return version


def cite_box(request, version):
    """What the "Cite this" box shows of a version (templates/outages/includes/cite_box.html)."""
    return {"version": version, "entry": citation_of(request, version)}


def current_citation(request, incident):
    """cite_box() of the incident's newest version, or None when it has none."""
    version = current_version(incident)
    return None if version is None else cite_box(request, version)


def citation_document(request, version):
    """A version's citation as the JSON API gives it (without an access date: the document is
    cached; the files it links to carry the day they were fetched); None without a version."""
    if version is None:
        return None
    entry = citation_of(request, version)
    files = {
        name: request.build_absolute_uri(
            reverse(
                "outages:incident_version_citation",
                args=[version.incident.slug, version.number, extension],
            )
        )
        for name, extension in [("text", "txt"), ("bibtex", "bib"), ("csl_json", "json")]
    }
    return {
        "version": version.number,
        "url": entry.url,
        "published_at": version.published_at.isoformat(),
        "text": entry.as_text(),
        "bibtex": entry.as_bibtex(),
        "csl": entry.as_csl(),
        "files": files,
    }
