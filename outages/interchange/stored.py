"""What the importer compares documents with, read up front: stored incidents with their links
and rows, and reference rows by key, name and alias, a few queries per thousand incidents."""

from collections import defaultdict
from dataclasses import dataclass, field

from outages.duplicates import batches
from outages.models import (
    ActionItem,
    ActionItemState,
    Alias,
    Correction,
    Customer,
    CustomerImpact,
    Incident,
    Provider,
    Region,
    Service,
    Source,
    TimelineEvent,
)
from outages.names import normalise_name

# Keys per IN (…) list, so that no query needs more parameters than SQLite allows.
RELATED = ["services", "regions", "sources"]  # the incident's many-to-many fields
# Rows numbered within their incident; an action item's states after the items they name.
NUMBERED = [TimelineEvent, ActionItem, ActionItemState, Correction]


@dataclass
class Stored:
    """A stored incident with what the importer compares: its links and rows."""

    incident: Incident
    related: dict = field(default_factory=dict)  # "services" etc. -> set of pks
    rows: dict = field(default_factory=dict)  # model -> {position: row}
    impacts: dict = field(default_factory=dict)  # customer pk -> impact
    impact_services: dict = field(default_factory=dict)  # impact pk -> set of service pks


def stored_incidents(slugs):
    """{slug: Stored} of the incidents that exist among these slugs: nine queries per
    thousand incidents, however many rows they have."""
    found = {}
    for batch in batches(slugs):
        entries = {
            incident.pk: Stored(incident) for incident in Incident.objects.filter(slug__in=batch)
        }
        if not entries:
            continue
        for name in RELATED:
            links = linked(Incident, name, list(entries))
            for pk, entry in entries.items():
                entry.related[name] = links.get(pk, set())
        for model in NUMBERED:
            for entry in entries.values():
                entry.rows[model] = {}
            for row in model.objects.filter(incident_id__in=list(entries)).order_by():
                entries[row.incident_id].rows[model][row.position] = row
        impacts = CustomerImpact.objects.filter(incident_id__in=list(entries)).order_by()
        impacts = list(impacts)
        for impact in impacts:
            entries[impact.incident_id].impacts[impact.customer_id] = impact
        for impact_batch in batches(impacts):
            links = linked(CustomerImpact, "services", [impact.pk for impact in impact_batch])
            for impact in impact_batch:
                entries[impact.incident_id].impact_services[impact.pk] = links.get(impact.pk, set())
        for entry in entries.values():
            found[entry.incident.slug] = entry
    return found


def linked(model, name, pks):
    """{pk: set of linked pks} of a many-to-many field, read from its table of links."""
    m2m = model._meta.get_field(name)
    through = m2m.remote_field.through
    source, target = f"{m2m.m2m_field_name()}_id", f"{m2m.m2m_reverse_field_name()}_id"
    links = defaultdict(set)
    for owner, other in through.objects.filter(**{f"{source}__in": pks}).values_list(
        source, target
    ):
        links[owner].add(other)
    return links


def stored_references(keys):
    """{(model, *natural key): row} of the stored reference rows among these keys ({model:
    set of slugs or URLs}, see importing.mentioned), with every service and region of the
    providers named."""
    found = {}
    providers = {}
    for batch in batches(keys[Provider]):
        for provider in Provider.objects.filter(slug__in=batch):
            providers[provider.pk] = provider
            found[(Provider, provider.slug)] = provider
    for model, code in [(Service, "slug"), (Region, "code")]:
        for batch in batches(providers):
            for row in model.objects.filter(provider_id__in=batch).order_by():
                row.provider = providers[row.provider_id]
                found[(model, row.provider.slug, getattr(row, code))] = row
    for model, key in [(Customer, "slug"), (Source, "url")]:
        for batch in batches(keys[model]):
            for row in model.objects.filter(**{f"{key}__in": batch}).order_by():
                found[(model, getattr(row, key))] = row
    return found


@dataclass
class Names:
    """Every provider, service, region and customer by the normalised form of its name, its
    slug (or code) and its aliases: {(model, provider slug for services and regions, else None,
    normalised): {id(row): (row, how)}}, how being "name", "slug", "code" or "alias"."""

    rows: dict = field(default_factory=lambda: defaultdict(dict))
    children: dict = field(default_factory=lambda: defaultdict(list))  # provider slug -> rows

    def add(self, model, scope, text, row, how):
        self.rows[(model, scope, normalise_name(text))].setdefault(id(row), (row, how))

    def add_row(self, model, scope, row):
        """A row under its name and its key."""
        key = "code" if model is Region else "slug"
        self.add(model, scope, row.name, row, "name")
        self.add(model, scope, getattr(row, key), row, key)

    def match(self, model, scope, text):
        return list(self.rows.get((model, scope, normalise_name(text)), {}).values())


def stored_names(references):
    """Names of every stored provider, service, region and customer, with their aliases: five
    queries, however many incidents are imported (see Importer.resolve_name). A row already among
    `references` ({(model, *natural key): row}, see stored_references) is that same object."""
    names = Names()
    providers, rows = {}, {}
    for provider in Provider.objects.order_by():
        provider = references.get((Provider, provider.slug), provider)
        providers[provider.pk] = rows[(Provider, provider.pk)] = provider
        names.add_row(Provider, None, provider)
    for model, code in [(Service, "slug"), (Region, "code")]:
        for row in model.objects.order_by():
            provider = providers[row.provider_id]
            row = references.get((model, provider.slug, getattr(row, code)), row)
            row.provider = provider
            rows[(model, row.pk)] = row
            names.add_row(model, provider.slug, row)
            names.children[provider.slug].append(row)
    for customer in Customer.objects.order_by():
        customer = references.get((Customer, customer.slug), customer)
        rows[(Customer, customer.pk)] = customer
        names.add_row(Customer, None, customer)
    owners = [(kind, model, f"{kind}_id") for kind, model in Alias.KINDS.items()]
    for alias in Alias.objects.order_by():
        for _, model, attname in owners:
            pk = getattr(alias, attname)
            if pk is not None:
                row = rows[(model, pk)]
                scope = row.provider.slug if model in (Service, Region) else None
                names.add(model, scope, alias.name, row, "alias")
    for (model, *key), row in references.items():  # made earlier in the run, not yet written
        if row.pk is None and model in (Provider, Service, Region, Customer):
            names.add_row(model, key[0] if model in (Service, Region) else None, row)
    return names
