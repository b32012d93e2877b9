"""Which providers, services, regions and customers readers may see: the one rule, asked by every
page, feed, API response, sitemap, list and form that names reference rows.

A row is visible when a published incident refers to it, or when a publisher has published the
row on its own (its `published` field). Otherwise it exists for editors only and readers get the
same 404 as for an unknown slug: a customer or service created for a draft must not announce the
draft. The rows' managers are built from these querysets; the incident models are imported where
they are used, since their modules import the reference rows.
"""

from django.db import models
from django.db.models import Exists, OuterRef, Q


class Probe(Exists):
    """EXISTS that PostgreSQL asks row by row. Beside `published = true` (an OR), or as a
    column, it would otherwise hash every published incident's links, or every visible
    customer, before reading the first row: a third of a second for the customer list at
    100,000 incidents, where probing an index per row takes a tenth of that. OFFSET 0 changes
    no answer and keeps the planner from that rewrite."""

    template = "EXISTS(%(subquery)s OFFSET 0)"


def published_incidents():
    from outages.models.incidents import Incident

    return Incident.objects.published()


class VisibleQuerySet(models.QuerySet):
    def visible(self):
        """The rows readers may see (one query, the rule in subqueries)."""
        return self.filter(Q(published=True) | self.referred())

    def referred(self):
        """The condition "a published incident refers to the row", as EXISTS subqueries (Probe):
        a page of one row probes an index and stops at the first incident, where IN would
        gather every row's incidents first (a quarter of a second at 100,000 incidents)."""
        raise NotImplementedError


class ProviderQuerySet(VisibleQuerySet):
    def referred(self):
        # A visible service or region names its provider on its page, so the provider shows too.
        from outages.models.reference import Region, Service

        row = OuterRef("pk")
        return (
            Probe(published_incidents().filter(provider=row))
            | Probe(Service.objects.visible().filter(provider=row))
            | Probe(Region.objects.visible().filter(provider=row))
        )

    def with_customer_entry(self):
        """With the customer entry of the same organisation (`as_customer`) and whether readers
        may see it (`customer_entry_shown`), in the same query."""
        from outages.models.reference import Customer

        shown = Customer.objects.visible().filter(provider=OuterRef("pk"))
        return self.select_related("as_customer").annotate(customer_entry_shown=Probe(shown))


class ServiceQuerySet(VisibleQuerySet):
    def referred(self):
        from outages.models.incidents import Incident
        from outages.models.parts import CustomerImpact

        published = published_incidents()
        listed = Incident.services.through.objects.filter(
            service=OuterRef("pk"), incident__in=published
        )
        # An impact names the services that hit the customer; its page links them.
        named = CustomerImpact.services.through.objects.filter(
            service=OuterRef("pk"), customerimpact__incident__in=published
        )
        return Probe(listed) | Probe(named)


class RegionQuerySet(VisibleQuerySet):
    def referred(self):
        from outages.models.incidents import Incident

        listed = Incident.regions.through.objects.filter(
            region=OuterRef("pk"), incident__in=published_incidents()
        )
        return Probe(listed)


class CustomerQuerySet(VisibleQuerySet):
    def referred(self):
        # Named at all, "not affected" included: its page has that to show.
        from outages.models.parts import CustomerImpact

        named = CustomerImpact.objects.filter(
            customer=OuterRef("pk"), incident__in=published_incidents()
        )
        return Probe(named)

    def with_provider_entry(self):
        """With the provider entry of the same organisation (`provider`) and whether readers may
        see it (`provider_entry_shown`), in the same query."""
        from outages.models.reference import Provider

        shown = Provider.objects.visible().filter(pk=OuterRef("provider"))
        return self.select_related("provider").annotate(provider_entry_shown=Probe(shown))


PUBLISHED_HELP = (
    "Readers see this page even though no published incident mentions it yet. Without this, it "
    "appears with the first published incident that does, and only then."
)


def published_field():
    """The `published` field of each kind of reference row."""
    return models.BooleanField("published on its own", default=False, help_text=PUBLISHED_HELP)
