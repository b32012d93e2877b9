"""Related incidents of an incident page, with the reasons they are related: the services,
regions and customers hit they share with it, and how far apart they began. Ranked by how much
they share, then newest first.

The candidates are bounded: the RELATED_POOL most recent incidents sharing a service, the same
for regions and for customers hit (only for the kinds the incident has: one query for all of
them on PostgreSQL, one each on SQLite). A busy region or customer is shared by tens of
thousands of incidents, and counting what each of them shares cost more than a second at 100,000
incidents; a pool of each kind is found by walking the newest-first index and stops early,
reading from it the start and slug that order them. What each candidate shares is then read from
the narrow link tables (one query for all kinds, pairs of ids), counted and ranked here, and
only the ten shown are loaded, with their providers (one query): the reasons name the shared
rows by this incident's own, already loaded. Below RELATED_POOL incidents of a kind, the ranking
is over every incident that shares anything, as before.
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import CharField, Value

from outages.apart import apart_text
from outages.models import CustomerImpact, Incident

RELATED_SHOWN = 10
# Candidates of each kind (services, regions, customers hit), the most recent first. The walk
# for a kind shared by one incident in 200 reads RELATED_POOL * 200 index entries, so it is
# kept small: at 60, a cold page at 100,000 incidents spent about twice as long on it as at 20,
# and PostgreSQL started parallel workers for it.
RELATED_POOL = 20
# The columns the related list shows (the ranking reads the start and slug from the index).
SHOWN_FIELDS = ("slug", "title", "started_at", "time_zone", "started_precision", "provider__name")


@dataclass
class Related:
    incident: object  # with SHOWN_FIELDS and its provider's name only
    reasons: list  # words: “same service: Elastic Load Balancing (ELB)”
    apart: str  # “6 months earlier”, or "" when either start is not known


def related_incidents(incident, shown, limit=RELATED_SHOWN):
    """The published incidents sharing a service, a region or a customer hit with `incident`
    (`shown`: its services, regions and impacts with customers, as its page read them), most
    shared first, each with its reasons."""
    names = {
        "service": {service.pk: service.name for service in shown.services},
        "region": {region.pk: region.code for region in shown.regions},
        "customer": {
            impact.customer_id: impact.customer.name for impact in shown.impacts if impact.was_hit
        },
    }
    links = [
        (Incident.services.through.objects, "service", names["service"]),
        (Incident.regions.through.objects, "region", names["region"]),
        (CustomerImpact.objects.hits(), "customer", names["customer"]),
    ]
    candidates = related_candidates(incident, links)
    if not candidates:
        return []
    # {incident id: {kind: ids of the rows of that kind it shares}}
    shares = {pk: {} for pk in candidates}
    # One query for every kind (a UNION ALL), each row naming its kind.
    pairs = [
        rows.filter(incident__in=list(candidates), **{f"{field}__in": list(keys)})
        .order_by()
        .annotate(kind=Value(field, output_field=CharField()))
        .values_list("incident_id", f"{field}_id", "kind")
        for rows, field, keys in links
        if keys
    ]
    for pk, key, kind in pairs[0].union(*pairs[1:], all=True):
        shares[pk].setdefault(kind, set()).add(key)
    ranked = sorted(
        newest_first(candidates.values()),
        key=lambda other: -sum(map(len, shares[other.pk].values())),
    )[:limit]
    # Only the rows shown, and only what is shown of them: a whole incident row carries its
    # written postmortem, and loading the whole pool of them cost more than all the rest of the
    # ranking.
    shown_rows = (
        Incident.objects.published()
        .filter(pk__in=[other.pk for other in ranked])
        .order_by()
        .select_related("provider")
        .only(*SHOWN_FIELDS)
        .in_bulk()
    )
    return [
        Related(
            incident=shown_rows[other.pk],
            reasons=reasons(shares[other.pk], names),
            apart=apart_text(incident.started_at, other.started_at),
        )
        for other in ranked
        if other.pk in shown_rows  # withdrawn since its pool was read
    ]


@dataclass
class Candidate:
    """An incident as its pool found it: enough to rank it (newest_first)."""

    pk: int
    started_at: object  # datetime, or None when not known
    slug: str


def newest_first(incidents):
    """Incidents in the one order (NEWEST_FIRST): the latest start first, unknown starts last,
    ties by slug."""
    by_slug = sorted(incidents, key=lambda incident: incident.slug)
    known = [incident for incident in by_slug if incident.started_at is not None]
    unknown = [incident for incident in by_slug if incident.started_at is None]
    return sorted(known, key=lambda incident: incident.started_at, reverse=True) + unknown


def related_candidates(incident, links):
    """The RELATED_POOL newest published incidents sharing a service with `incident`, and those
    sharing a region, and those hitting a customer it hit, for the kinds it has: {id:
    Candidate}. One query on PostgreSQL (a UNION ALL of the pools); one per kind on SQLite,
    which cannot limit each part of a compound query. `links`: (rows, field, keys) of each
    kind, as in related_incidents().

    Id subqueries rather than joins, so an incident sharing several things is found once
    without a DISTINCT. PostgreSQL walks incident_published_order (migration 0014) until it has
    enough of them or, for a rare service or customer, reads its few rows and sorts them; the
    start and slug read with each id are in that index, so no row is fetched for them.
    """
    others = Incident.objects.published().exclude(pk=incident.pk)
    pools = [
        others.filter(pk__in=rows.filter(**{f"{field}__in": keys}).values("incident_id"))
        .newest_first()
        .values_list("pk", "started_at", "slug")[:RELATED_POOL]
        for rows, field, keys in links
        if keys
    ]
    if pools and connection.features.supports_slicing_ordering_in_compound:
        pools = [pools[0].union(*pools[1:], all=True)]
    return {row[0]: Candidate(*row) for pool in pools for row in pool}


def reasons(shared, names):
    """Why an incident is related, in words: `shared`, {kind: ids of the rows it shares}; the
    rows named as `names` ({kind: {id: name}}, in their own order) has them."""
    found = []
    for kind, noun in [("service", "same service"), ("region", "same region")]:
        named = [name for pk, name in names[kind].items() if pk in shared.get(kind, ())]
        if named:
            found.append(f"{noun}{'' if len(named) == 1 else 's'}: {', '.join(named)}")
    hit = [name for pk, name in names["customer"].items() if pk in shared.get("customer", ())]
    if hit:
        found.append(f"hit the same customer{'' if len(hit) == 1 else 's'}: {', '.join(hit)}")
    return found
