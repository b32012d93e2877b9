"""Writing incidents as incident documents (the import format), complete and self-contained:
every provider, service, region, customer and source is written in full, so a document imports
into an empty database. The output is deterministic, so export → import → export is identical."""

import yaml
from django.db.models import Prefetch

from outages import text
from outages.interchange.documents import precision_key
from outages.interchange.relations import relation_data
from outages.models import (
    MILESTONES,
    POSTMORTEM_SECTIONS,
    ActionItem,
    ActionItemState,
    Correction,
    CustomerImpact,
    Incident,
    IncidentRelation,
    PromiseLink,
    Region,
    Service,
    TimelineEvent,
)

# Milestone precisions an exported time's text cannot show by itself.
WRITTEN_PRECISIONS = {"approximate", "hour"}


def milestone_data(incident, name):
    """(key, value) of a milestone, and of its precision where the time's text does not say it
    (a day, month or year is written as such; approximate and hour times need the word)."""
    precision = incident.precision_of(name)
    pairs = [(name, text.document_text(getattr(incident, name), incident.time_zone, precision))]
    if precision in WRITTEN_PRECISIONS:
        pairs.append((precision_key(name), precision))
    return pairs


def provider_data(provider):
    return {
        "slug": provider.slug,
        "name": provider.name,
        "homepage_url": provider.homepage_url,
        "description": provider.description,
    }


def source_data(source):
    return {
        "url": source.url,
        "title": source.title,
        "publisher": source.publisher,
        "author": source.author,
        "published_on": source.published_on.isoformat() if source.published_on else None,
        "date_note": source.date_note,
        "kind": source.kind,
        "note": source.note,
    }


def customer_data(customer):
    return {
        "slug": customer.slug,
        "name": customer.name,
        "url": customer.url,
        "description": customer.description,
        "provider": provider_data(customer.provider) if customer.provider else None,
    }


def service_key(service, provider):
    if service.provider_id == provider.pk:
        return service.slug
    return service.key


def positions_written(rows):
    """Positions are written only where they differ from the row's place in the list."""
    return [
        ({"position": row.position} if row.position != index else {})
        for index, row in enumerate(rows, 1)
    ]


def ledger_data(item):
    """An action item's `history`, left out when it is the one entry an item without history
    reads as (models.implicit_state: its status, no date, its source), and its `links`, left
    out when it has none; so documents from before the ledger export unchanged."""
    states = list(item.states.all())
    implicit = len(states) == 1 and (
        (states[0].state, states[0].stated_on, states[0].source_id)
        == (item.status, None, item.source_id)
    )
    data = {}
    if states and not implicit:
        data["history"] = [
            {
                "state": entry.state,
                "date": entry.date_written,
                "source": entry.source.url if entry.source else None,
            }
            for entry in states
        ]
    if item.links.all():
        data["links"] = [
            {
                "kind": link.kind,
                "incident": link.later_incident.slug,
                "note": link.note,
                "source": link.source.url,
            }
            for link in item.links.all()
        ]
    return data


def incident_data(incident):
    zone = incident.time_zone
    provider = incident.provider
    events = list(incident.events.all())
    actions = list(incident.action_items.all())
    corrections = list(incident.corrections.all())
    url = lambda source: source.url if source else None  # noqa: E731
    return {
        "slug": incident.slug,
        "title": incident.title,
        "provider": provider_data(provider),
        "services": [
            {"slug": s.slug, "name": s.name, "description": s.description}
            for s in incident.services.all()
        ],
        "regions": [{"code": r.code, "name": r.name} for r in incident.regions.all()],
        "time_zone": zone,
        **{key: value for name in MILESTONES for key, value in milestone_data(incident, name)},
        "root_cause_category": incident.root_cause_category,
        # Left out when empty, so that documents from before it existed export unchanged.
        **({"provider_impact": incident.provider_impact} if incident.provider_impact else {}),
        **{name: getattr(incident, name) for name in POSTMORTEM_SECTIONS},
        "sources": [source_data(source) for source in incident.sources.all()],
        "timeline": [
            {
                **place,
                "at": text.document_text(event.occurred_at, zone, event.precision),
                "precision": event.precision,
                "as_stated": event.time_as_stated,
                "kind": event.kind,
                "key_event": event.is_key_event,
                # Only on the events that state a milestone, so the others read as before.
                **({"marks": event.marks} if event.marks else {}),
                "source": url(event.source),
                "description": event.description,
            }
            for place, event in zip(positions_written(events), events, strict=True)
        ],
        "customers": [
            {
                "customer": customer_data(impact.customer),
                "level": impact.level,
                "services": [service_key(s, provider) for s in impact.services.all()],
                "started_at": text.document_text(impact.started_at, zone),
                "ended_at": text.document_text(impact.ended_at, zone),
                "source": url(impact.source),
                "description": impact.description,
            }
            for impact in incident.impacts.all()
        ],
        "action_items": [
            {
                **place,
                "description": item.description,
                "kind": item.kind,
                "status": item.status,
                "source": url(item.source),
                **ledger_data(item),
            }
            for place, item in zip(positions_written(actions), actions, strict=True)
        ],
        "corrections": [
            {
                **place,
                "claim": item.claim,
                "fact": item.fact,
                "claimed_by": url(item.claimed_by),
                # Only where set, so documents without archived versions read as before.
                **({"claimed_in_version": item.claimed_in.number} if item.claimed_in else {}),
                "settled_by": url(item.settled_by),
            }
            for place, item in zip(positions_written(corrections), corrections, strict=True)
        ],
        # Left out when empty, so that documents from before relations existed export unchanged.
        **({"relations": relations} if (relations := exported_relations(incident)) else {}),
    }


def exported_relations(incident):
    """The relations stored on the incident (preloaded by incidents_for_export())."""
    return [relation_data(relation) for relation in incident.relations.all()]


def incidents_for_export(incidents=None, unpublished_ends=False):
    """The incidents with everything their documents hold. Their relations to unpublished
    incidents only with `unpublished_ends` (an export of every incident): an export of published
    incidents names no draft."""
    incidents = Incident.objects.all() if incidents is None else incidents
    with_provider = Service.objects.select_related("provider")
    states = ActionItemState.objects.select_related("source")
    links = PromiseLink.objects.select_related("later_incident", "source")
    relations = IncidentRelation.objects.select_related("other", "source")
    if not unpublished_ends:
        relations = relations.shown()
    return (
        incidents.select_related("provider")
        .prefetch_related(
            Prefetch("services", queryset=with_provider),
            Prefetch("regions", queryset=Region.objects.all()),
            "sources",
            Prefetch("events", queryset=TimelineEvent.objects.select_related("source")),
            Prefetch(
                "impacts",
                queryset=CustomerImpact.objects.select_related(
                    "customer__provider", "source"
                ).prefetch_related(Prefetch("services", queryset=with_provider)),
            ),
            Prefetch("action_items", queryset=ActionItem.objects.select_related("source")),
            Prefetch("action_items__states", queryset=states),
            Prefetch("action_items__links", queryset=links),
            Prefetch("corrections", queryset=Correction.objects.with_sources()),
            Prefetch("relations", queryset=relations),
        )
        .oldest_first()
    )


class Dumper(yaml.SafeDumper):
    """Readable YAML: Markdown and other multi-line text as literal blocks."""


def _text(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _text)


def dump(incidents):
    data = {"incidents": [incident_data(incident) for incident in incidents]}
    return yaml.dump(
        data,
        Dumper=Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
