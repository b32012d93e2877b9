"""Related incidents of an incident page, with the reasons they are related: the services,
regions and customers hit they share with it, and how far apart they began. Ranked by how much
they share, then newest first.

The candidates are bounded: the RELATED_POOL most recent incidents sharing a service, the same
for regions and for customers hit (one query each, only for the kinds the incident has). A busy
region or customer is shared by tens of thousands of incidents, and counting what each of them
shares cost more than a second at 100,000 incidents; a pool of each kind is found by walking
the newest-first index and stops early. Ranking those candidates is one query plus the three
prefetches of a list. Below RELATED_POOL incidents of a kind, the ranking is over every
incident that shares anything, as before.
"""

from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from outages.apart import apart_text
from outages.models import CustomerImpact, Incident

RELATED_SHOWN = 10
# Candidates of each kind (services, regions, customers hit), the most recent first. The walk
# for a kind shared by one incident in 200 reads RELATED_POOL * 200 index entries, so it is
# kept small: at 60, a cold page at 100,000 incidents spent about twice as long on it as at 20,
# and PostgreSQL started parallel workers for it.
RELATED_POOL = 20


@dataclass
class Related:
    incident: object  # loaded for_lists()
    reasons: list  # words: “same service: Elastic Load Balancing (ELB)”
    apart: str  # “6 months earlier”, or "" when either start is not known


def related_incidents(incident, limit=RELATED_SHOWN):
    """The published incidents sharing a service, a region or a customer hit with `incident`
    (loaded in_full()), most shared first, each with its reasons."""
    services = {service.pk for service in incident.services.all()}
    regions = {region.pk for region in incident.regions.all()}
    customers = {impact.customer_id for impact in incident.impacts.all() if impact.was_hit}
    links = [
        (Incident.services.through.objects, "service", services),
        (Incident.regions.through.objects, "region", regions),
        (CustomerImpact.objects.hits(), "customer", customers),
    ]
    # Each shared service, region and customer hit counts one; a subquery per kind counts them.
    shared = Value(0, output_field=IntegerField())
    for rows, field, keys in links:
        if keys:
            shared = shared + shared_count(rows, field, keys)
    candidates = related_candidates(incident, links)
    if not candidates:
        return []
    ranked = (
        Incident.objects.published()
        .filter(pk__in=candidates)
        .annotate(shared=shared)
        .newest_first("-shared")
        .for_lists()[:limit]
    )
    return [
        Related(
            incident=other,
            reasons=reasons(other, services, regions, customers),
            apart=apart_text(incident.started_at, other.started_at),
        )
        for other in ranked
    ]


def shared_count(rows, field, keys):
    """How many of `keys` the rows (links to services or regions, or hits) of each incident
    name, as a subquery on the outer incident."""
    counted = (
        rows.filter(incident=OuterRef("pk"), **{f"{field}__in": keys})
        .order_by()
        .values("incident")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def related_candidates(incident, links):
    """The ids of the RELATED_POOL newest published incidents sharing a service with `incident`,
    and of those sharing a region, and of those hitting a customer it hit: one query for each
    kind it has. `links`: (rows, field, keys) of each kind, as in related_incidents().

    Id subqueries rather than joins, so an incident sharing several things is found once
    without a DISTINCT. PostgreSQL walks incident_published_order (migration 0014) until it has
    enough of them or, for a rare service or customer, reads its few rows and sorts them.
    """
    others = Incident.objects.published().exclude(pk=incident.pk)
    found = set()
    for rows, field, keys in links:
        if keys:
            sharing = rows.filter(**{f"{field}__in": keys}).values("incident_id")
            newest = others.filter(pk__in=sharing).newest_first()
            found.update(newest.values_list("pk", flat=True)[:RELATED_POOL])
    return found


def reasons(other, services, regions, customers):
    """Why `other` (loaded for_lists()) is related, in words, from the rows it already holds."""
    found = []
    named = [
        ("service", [s.name for s in other.services.all() if s.pk in services]),
        ("region", [r.code for r in other.regions.all() if r.pk in regions]),
    ]
    for noun, names in named:
        if names:
            found.append(f"same {noun}{'' if len(names) == 1 else 's'}: {', '.join(names)}")
    hit = [i.customer.name for i in other.customers_hit if i.customer_id in customers]
    if hit:
        found.append(f"hit the same customer{'' if len(hit) == 1 else 's'}: {', '.join(hit)}")
    return found
