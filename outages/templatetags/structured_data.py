"""schema.org JSON-LD for incident pages, so search engines read dates and organisations."""

import html
import json
from datetime import UTC

from django import template
from django.utils.html import format_html, strip_tags
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from outages import text as words

register = template.Library()

# As json_script escapes them: no "</script>", "<!--" or entity can end the element early.
SCRIPT_SAFE = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def iso(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def organization(name, url, same_as=""):
    return {"@type": "Organization", "name": name, "url": url, "sameAs": same_as}


def without_blanks(data):
    """Leave unknown values out: validators flag a null or empty date or URL as an error."""
    if isinstance(data, dict):
        return {
            key: without_blanks(value) for key, value in data.items() if value not in (None, "", [])
        }
    if isinstance(data, list):
        return [without_blanks(value) for value in data]
    return data


@register.simple_tag(takes_context=True)
def incident_jsonld(context, incident, shown):
    """A Report about the outage (an Event organised by the provider) and the customers hit.

    Reads only what the incident page preloads: its provider, and `shown`, its services,
    regions and impacts with customers.
    """
    absolute = context["request"].build_absolute_uri
    provider = incident.provider
    data = {
        "@context": "https://schema.org",
        "@type": "Report",
        "headline": incident.title,
        "url": absolute(incident.get_absolute_url()),
        "description": Truncator(html.unescape(strip_tags(incident.summary_html))).words(40),
        "dateModified": iso(incident.updated_at),
        "keywords": [incident.get_root_cause_category_display()]
        + [service.name for service in shown.services]
        + [region.code for region in shown.regions],
        "about": {
            "@type": "Event",
            "name": incident.title,
            # As precisely as known: a day as 2017-01-19, a zone-less time without offset.
            "startDate": words.machine_text(
                incident.started_at, incident.time_zone, incident.started_precision
            ),
            "endDate": words.machine_text(
                incident.resolved_at, incident.time_zone, incident.resolved_precision
            ),
            "organizer": organization(
                provider.name, absolute(provider.get_absolute_url()), provider.homepage_url
            ),
        },
        "mentions": [
            organization(
                impact.customer.name,
                absolute(impact.customer.get_absolute_url()),
                impact.customer.url,
            )
            for impact in shown.impacts
            if impact.was_hit
        ],
    }
    text = json.dumps(without_blanks(data), indent=1).translate(SCRIPT_SAFE)
    # Safe: SCRIPT_SAFE leaves no character that HTML would read inside a script element.
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(text))
