"""Related incidents of an incident page, with the reasons they are related: the services,
regions and customers hit they share with it, and how far apart they began. Ranked by how much
they share, then newest first.

The candidates are bounded: the RELATED_POOL most recent incidents sharing a service, the same
for regions and for customers hit (only for the kinds the incident has). A busy region or
customer is shared by tens of thousands of incidents, and counting what each of them shares
cost more than a second at 100,000 incidents; a pool of each kind is found by walking the
newest-first index and stops early. What each candidate shares is read from the narrow link
tables (the ids of the shared rows), counted and ranked here: the reasons name the shared rows
by this incident's own, already loaded. Below RELATED_POOL incidents of a kind, the ranking is
over every incident that shares anything, as before.

All of it is one query (related_sql): the pools, what each candidate shares and the columns the
list shows of each candidate, with its provider's name, a row for each candidate. It was three
querysets (the pools, the pairs of ids shared, the rows shown), and building their SQL,
different at every page since the ids differ, cost Django about 3 ms of CPU per cold page at
100,000 incidents; written out, the query costs a few microseconds to make.
"""

from dataclasses import dataclass

from django.db import connection

from outages.apart import apart_text
from outages.models import CustomerImpact, Incident, Provider

RELATED_SHOWN = 10
# Candidates of each kind (services, regions, customers hit), the most recent first. The walk
# for a kind shared by one incident in 200 reads RELATED_POOL * 200 index entries, so it is
# kept small: at 60, a cold page at 100,000 incidents spent about twice as long on it as at 20,
# and PostgreSQL started parallel workers for it.
RELATED_POOL = 20


@dataclass
class Related:
    incident: object  # with the columns related_sql() reads and its provider's name only
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
    if not any(names.values()):
        return []
    query = Incident.objects.raw(*related_sql(incident, names))
    candidates = list(query)
    # {incident id: {kind: ids of the rows of that kind it shares}}
    shares = {
        other.pk: {
            kind: {int(pk) for pk in listed.split(",")}
            for kind in names
            for listed in [getattr(other, f"shared_{kind}", None)]
            if listed
        }
        for other in candidates
    }
    ranked = sorted(
        newest_first(candidates),
        key=lambda other: -sum(map(len, shares[other.pk].values())),
    )[:limit]
    for other in ranked:
        # Only its name is read (deferred fields, as only() leaves them).
        other.provider = Provider.from_db(
            query.db, ["id", "name"], [other.provider_id, other.provider_name]
        )
    return [
        Related(
            incident=other,
            reasons=reasons(shares[other.pk], names),
            apart=apart_text(incident.started_at, other.started_at),
        )
        for other in ranked
    ]


def newest_first(incidents):
    """Incidents in the one order (NEWEST_FIRST): the latest start first, unknown starts last,
    ties by slug."""
    by_slug = sorted(incidents, key=lambda incident: incident.slug)
    known = [incident for incident in by_slug if incident.started_at is not None]
    unknown = [incident for incident in by_slug if incident.started_at is None]
    return sorted(known, key=lambda incident: incident.started_at, reverse=True) + unknown


def related_sql(incident, names):
    """The query of related_incidents() and its parameters, for Incident.objects.raw(): a row
    for each candidate, with the columns the list shows, its provider's name and, for each kind
    `incident` has, the ids of the rows of that kind it shares with `incident`, comma-separated
    (`shared_service`, `shared_region`, `shared_customer`: NULL when none). `names`: {kind:
    {id: name}} of the incident's own rows.

    The candidates (`pool`) are the RELATED_POOL newest published incidents sharing a service
    with `incident`, and those sharing a region, and those hitting a customer it hit, for the
    kinds it has. Each pool is an id subquery, so an incident sharing several things is found
    once without a DISTINCT; PostgreSQL walks incident_published_order (migration 0014) until it
    has enough of them or, for a rare service or customer, reads its few rows and sorts them.
    Each pool is a subquery in FROM, the form in which SQLite too limits each part of a UNION.
    The SQL restates three rules, with their values read from the models: published()
    (Incident.Status), hits() (CustomerImpact.HIT_LEVELS) and the pools' order (NEWEST_FIRST);
    a test fails if any of them changes (tests/test_incident_page.py), so that this is changed
    with it. Written here because building their SQL in the ORM cost more than running it.
    """
    incidents, providers = Incident._meta.db_table, Provider._meta.db_table
    hits = CustomerImpact.HIT_LEVELS
    links = {
        "service": (Incident.services.through._meta.db_table, "service_id", "", []),
        "region": (Incident.regions.through._meta.db_table, "region_id", "", []),
        "customer": (
            CustomerImpact._meta.db_table,
            "customer_id",
            f" AND l.level IN ({', '.join(['%s'] * len(hits))})",
            hits,
        ),
    }
    # A column listing the ids rather than a row for each (a UNION ALL of the link tables): the
    # rows cost more to make into instances than all the rest. Each engine names the aggregate
    # its own way.
    listed = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    pools, shared, params, shared_params = [], [], [], []
    for kind, keys in names.items():
        if not keys:
            continue
        table, column, condition, condition_params = links[kind]
        among = f"l.{column} IN ({', '.join(['%s'] * len(keys))}){condition}"
        pools.append(
            f"SELECT * FROM (SELECT i.id FROM {incidents} i WHERE i.status = %s AND i.id <> %s"
            f" AND i.id IN (SELECT l.incident_id FROM {table} l WHERE {among})"
            f" ORDER BY i.started_at DESC NULLS LAST, i.slug LIMIT %s) AS {kind}_pool"
        )
        params += [Incident.Status.PUBLISHED, incident.pk, *keys, *condition_params, RELATED_POOL]
        shared.append(
            f", (SELECT {listed}(CAST(l.{column} AS TEXT), ',') FROM {table} l"
            f" WHERE l.incident_id = i.id AND {among}) AS shared_{kind}"
        )
        shared_params += [*keys, *condition_params]
    sql = (
        f"WITH pool AS ({' UNION ALL '.join(pools)})"
        " SELECT i.id, i.slug, i.title, i.time_zone, i.started_at, i.started_precision,"
        f" i.provider_id, p.name AS provider_name{''.join(shared)}"
        f" FROM {incidents} i JOIN {providers} p ON p.id = i.provider_id"
        " WHERE i.id IN (SELECT id FROM pool)"
    )
    return sql, params + shared_params


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
