"""Incidents and the rows around them as plain data for the JSON API.

The functions that shape data never query: each names the preloading it expects, so a view that
forgets some shows up in its query-count test rather than as an N+1 in production.

Conventions every endpoint shares: `url` is the reader's HTML page and `api` its JSON twin, both
absolute; times are ISO 8601 in UTC with a "Z", or null when not known; a choice field is its
value (what the filters take) with the words beside it in `<field>_label`.

An incident's own times (milestones, timeline, impacts) are written as precisely as they are
known (outages.text.machine_text): a time known only to the day, month or year as that period
("2017-01-19", "2017-01", "2017"), and a time whose zone the source does not state
(`time_zone: "unstated"`) as written, without an offset ("2016-09-23T17:21"). A duration with an
end known only to the day or more coarsely has no `seconds`, but its bounds. A milestone the
provider does not state stays null; `milestone_notes` and `duration_notes` give the page's words
for it (models.Incident.milestone_facts).
"""

from datetime import UTC

from django.urls import reverse

from outages import text
from outages.models import (
    MILESTONES,
    POSTMORTEM_SECTIONS,
)

# --- Values ---------------------------------------------------------------------------------


def utc(moment):
    """ISO 8601 in UTC with a "Z" (2012-12-24T20:24:00Z), or None when the time is not known."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def span(bounds):
    """A duration (models.Incident.span_bounds) as whole seconds and in words, or None when one
    of its ends is not known. When an end is known only to the day or more coarsely: no seconds,
    the shortest and longest it can be, and words only if those bounds say something."""
    if bounds is None:
        return None
    shortest, longest = bounds
    if shortest == longest:
        return {"seconds": int(shortest.total_seconds()), "text": text.duration_text(shortest)}
    return {
        "seconds": None,
        "at_least_seconds": int(shortest.total_seconds()),
        "at_most_seconds": int(longest.total_seconds()),
        "text": text.bounds_text(bounds),
    }


def at(incident, moment, precision="minute"):
    """One of an incident's own times, as precisely as it is known (see the module's notes)."""
    return text.machine_text(moment, incident.time_zone, precision)


def choice(obj, name):
    """A choice field as its value and its words, e.g. {"kind": "trigger", "kind_label": ...}."""
    return {name: getattr(obj, name), f"{name}_label": getattr(obj, f"get_{name}_display")()}


def links(request, obj, api_name, *args):
    return {
        "url": request.build_absolute_uri(obj.get_absolute_url()),
        "api": request.build_absolute_uri(reverse(api_name, args=args)),
    }


# --- Reference rows, as other rows point to them -----------------------------------------------


def provider_ref(request, provider):
    return {
        "name": provider.name,
        "slug": provider.slug,
        **links(request, provider, "outages:api_provider", provider.slug),
    }


def service_ref(request, service):
    """Needs the service's provider preloaded (services_with_provider)."""
    return {
        "name": service.name,
        "slug": service.slug,
        "key": service.key,  # what ?service= takes
        **links(request, service, "outages:api_service", service.provider.slug, service.slug),
    }


def region_ref(request, region):
    """Needs the region's provider preloaded (regions_with_provider)."""
    return {
        "code": region.code,
        "name": region.name,
        "key": region.key,  # what ?region= takes
        **links(request, region, "outages:api_region", region.provider.slug, region.code),
    }


def customer_ref(request, customer):
    return {
        "name": customer.name,
        "slug": customer.slug,
        **links(request, customer, "outages:api_customer", customer.slug),
    }


def source_ref(source):
    """Who said it, for a row that cites a source; the incident's `sources` has the rest."""
    if source is None:
        return None
    return {"title": source.title, "publisher": source.publisher, "url": source.url}


def source_full(source):
    return {
        "title": source.title,
        "publisher": source.publisher,
        "author": source.author,
        "published_on": source.published_on.isoformat() if source.published_on else None,
        "date_note": source.date_note,
        "url": source.url,
        **choice(source, "kind"),
        "note": source.note,
    }


# --- Incidents ------------------------------------------------------------------------------


def incident_summary(request, incident):
    """An incident as a line in someone else's list. Needs its provider (select_related)."""
    return {
        "title": incident.title,
        "slug": incident.slug,
        **links(request, incident, "outages:api_incident", incident.slug),
        "provider": provider_ref(request, incident.provider),
        **choice(incident, "root_cause_category"),
        "started_at": at(incident, incident.started_at, incident.started_precision),
        "resolved_at": at(incident, incident.resolved_at, incident.resolved_precision),
    }


def incident_row(request, incident):
    """An incident as a row of the incident list. Needs Incident.objects.for_lists() preloading."""
    return {
        **incident_summary(request, incident),
        "services": [service_ref(request, service) for service in incident.services.all()],
        "regions": [region_ref(request, region) for region in incident.regions.all()],
        "time_to_resolve": span(incident.span_bounds("started_at", "resolved_at")),
        "customers_hit": [
            {**customer_ref(request, impact.customer), **choice(impact, "level")}
            for impact in incident.customers_hit
        ],
    }


def incident_document(request, incident, relations=()):
    """Everything a reader sees about one incident. Needs Incident.objects.in_full() preloading;
    `relations` as IncidentRelation.objects.seen_from() reads them."""
    return {
        "title": incident.title,
        "slug": incident.slug,
        **links(request, incident, "outages:api_incident", incident.slug),
        "markdown_url": request.build_absolute_uri(
            reverse("outages:incident_markdown", args=[incident.slug])
        ),
        "provider": provider_ref(request, incident.provider),
        "services": [service_ref(request, service) for service in incident.services.all()],
        "regions": [region_ref(request, region) for region in incident.regions.all()],
        **choice(incident, "root_cause_category"),
        "time_zone": incident.time_zone,
        "milestones": {
            name: at(incident, getattr(incident, name), incident.precision_of(name))
            for name in MILESTONES
        },
        "milestone_precisions": {name: incident.precision_of(name) for name in MILESTONES},
        # A milestone the provider does not state, in words, pointing at the timeline's nearest
        # event ("not stated by … · first detection in the timeline: …"); null when stated.
        "milestone_notes": {
            fact.name: fact.words or None
            for fact in incident.milestone_facts(incident.events.all())
        },
        "durations": {
            "time_to_detect": span(incident.span_bounds("started_at", "detected_at")),
            "time_to_mitigate": span(incident.span_bounds("started_at", "mitigated_at")),
            "time_to_resolve": span(incident.span_bounds("started_at", "resolved_at")),
        },
        # A lower bound in words where a duration is not known but the timeline gives one
        # ("at least 3 d 11 h (to the last recovery step in the timeline)"); else null.
        "duration_notes": {
            key: at_least or None
            for key, (*_, at_least) in zip(
                ["time_to_detect", "time_to_mitigate", "time_to_resolve"],
                incident.duration_facts(incident.events.all()),
                strict=True,
            )
        },
        **sections(incident),
        "timeline": [
            {
                "position": event.position,
                "occurred_at": at(incident, event.occurred_at, event.precision),
                **choice(event, "precision"),
                "time_as_stated": event.time_as_stated,
                **choice(event, "kind"),
                "is_key_event": event.is_key_event,
                # The milestone this event states ("detected", "Detection"), or null.
                "marks": event.marks or None,
                "marks_label": event.get_marks_display() or None,
                "description": event.description,
                "description_html": event.description_html,
                "source": source_ref(event.source),
            }
            for event in incident.events.all()
        ],
        "customers": [impact_data(request, impact) for impact in incident.impacts.all()],
        "action_items": [
            {
                "position": item.position,
                "description": item.description,
                **choice(item, "kind"),
                **choice(item, "status"),
                "source": source_ref(item.source),
            }
            for item in incident.action_items.all()
        ],
        "corrections": [
            {
                "position": correction.position,
                "claim": correction.claim,
                "fact": correction.fact,
                "claimed_by": source_ref(correction.claimed_by),
                "settled_by": source_ref(correction.settled_by),
            }
            for correction in incident.corrections.all()
        ],
        "sources": [source_full(source) for source in incident.sources.all()],
        "relations": [relation_data(request, seen) for seen in relations],
        "updated_at": utc(incident.updated_at),
    }


def relation_data(request, seen):
    """A typed relation as this incident reads it: “caused by” the other incident."""
    other = seen.other
    return {
        "relation": seen.wording,
        "kind": seen.kind,
        "stored_on": "this" if seen.stored_here else "other",
        "incident": {
            "title": other.title,
            "slug": other.slug,
            **links(request, other, "outages:api_incident", other.slug),
        },
        "note": seen.note,
        "source": source_ref(seen.source),
    }


def sections(incident):
    """Summary, impact, root cause, ... as the editors' Markdown and as the sanitised HTML stored
    when the row was saved (never rendered again here)."""
    data = {}
    for name in POSTMORTEM_SECTIONS:
        data[name] = getattr(incident, name)
        data[f"{name}_html"] = getattr(incident, f"{name}_html")
    return data


def impact_data(request, impact, customer=True):
    """How one customer was hit. Needs its customer, source and services (with providers)."""
    return {
        **({"customer": customer_ref(request, impact.customer)} if customer else {}),
        **choice(impact, "level"),
        "description": impact.description,
        "description_html": impact.description_html,
        "services": [service_ref(request, service) for service in impact.services.all()],
        "started_at": at(impact.incident, impact.started_at),
        "ended_at": at(impact.incident, impact.ended_at),
        "source": source_ref(impact.source),
    }
