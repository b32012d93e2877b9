"""Counts of published incidents, kept current by every write (outages.summaries), so that the
statistics page and the customer map read a few hundred rows rather than aggregate every
incident. Each table holds exactly the rows of one definition in outages.aggregates, keyed by the
fields in its `key`; none is content: they are never edited, and have no revisions."""

from django.db import models
from django.db.models import F, Q

from outages.models.reference import Customer, Provider, Region, Service


class Summary(models.Model):
    count = models.PositiveIntegerField()

    key = ()  # the fields that name a row, as the definition's values() names them

    class Meta:
        abstract = True

    def __str__(self):
        key = ", ".join(f"{column} {getattr(self, column)}" for column in self.key_columns())
        return f"{key}: {self.count}"

    @classmethod
    def key_columns(cls):
        """The key's fields by their attributes: foreign keys by id (provider_id)."""
        return [cls._meta.get_field(field).attname for field in cls.key]


def unique(name, *fields, unknown=None):
    """The rows' key is unique; with `unknown`, a nullable field of it, also among the rows
    where it is NULL (which a plain unique constraint lets repeat)."""
    constraints = [models.UniqueConstraint(fields=fields, name=name)]
    if unknown:
        rest = [field for field in fields if field != unknown]
        constraints.append(
            models.UniqueConstraint(
                fields=rest, condition=Q(**{f"{unknown}__isnull": True}), name=f"{name}_unknown"
            )
        )
    return constraints


class IncidentCount(Summary):
    """Published incidents by provider, year of their start (None when not known) and root
    cause: the statistics page's years and causes, and its total."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    year = models.IntegerField(null=True, blank=True)
    cause = models.CharField(max_length=30)

    key = ("provider", "year", "cause")

    class Meta:
        constraints = unique("incident_count_once", "provider", "year", "cause", unknown="year")


class DurationCount(Summary):
    """Published incidents by time to resolve (None when either end is not known) and whether
    both ends have a clock time: the statistics page's durations."""

    span = models.DurationField(null=True, blank=True)
    exact = models.BooleanField()

    key = ("span", "exact")

    class Meta:
        constraints = unique("duration_count_once", "span", "exact", unknown="span")


class ServiceCount(Summary):
    """Published incidents that involve each service: the services involved most."""

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )

    key = ("service",)


class RegionCount(Summary):
    """Published incidents that involve each region: the regions involved most."""

    region = models.OneToOneField(
        Region, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )

    key = ("region",)


class CustomerTotal(Summary):
    """Published incidents that hit each customer: the customers hit most (the statistics
    page's top ten, the map's rows) and how many customers were hit at all."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )

    key = ("customer",)

    class Meta:
        # The customers hit most (aggregates.customers_ranked): the first rows by count, then
        # their ties by name, without reading every customer.
        indexes = [models.Index(F("count").desc(), name="customer_total_most_first")]


class CustomerCount(Summary):
    """Published incidents that hit each customer, by the incident's provider: the map's
    provider columns."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")

    key = ("customer", "provider")

    class Meta:
        constraints = unique("customer_count_once", "customer", "provider")


class CustomerServiceCount(Summary):
    """Published incidents that hit each customer through each service their impact names, by
    the incident's provider; `service` None counts the hits that name no service."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    key = ("customer", "provider", "service")

    class Meta:
        constraints = unique(
            "customer_service_count_once", "customer", "provider", "service", unknown="service"
        )


class CustomerRegionCount(Summary):
    """Published incidents that hit each customer, in each of the incident's regions."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")

    key = ("customer", "region")

    class Meta:
        constraints = unique("customer_region_count_once", "customer", "region")


class ServiceYearCount(Summary):
    """Published incidents that involve each service, by the year of their start in the site's
    time zone (None when not known): the service page's strip, past its marks."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    year = models.IntegerField(null=True, blank=True)

    key = ("service", "year")

    class Meta:
        constraints = unique("service_year_count_once", "service", "year", unknown="year")


class RegionYearCount(Summary):
    """Published incidents that involve each region, by the year of their start, as
    ServiceYearCount: the region page's strip."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    year = models.IntegerField(null=True, blank=True)

    key = ("region", "year")

    class Meta:
        constraints = unique("region_year_count_once", "region", "year", unknown="year")


class CustomerYearCount(Summary):
    """Published incidents that hit each customer, by the year of their start, as
    ServiceYearCount: the customer page's strip."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    year = models.IntegerField(null=True, blank=True)

    key = ("customer", "year")

    class Meta:
        constraints = unique("customer_year_count_once", "customer", "year", unknown="year")


class ActionItemCount(Summary):
    """Action items of published incidents by the incident's provider, the year of its start
    (as IncidentCount's year) and the item's current status: the promise ledger's counts by
    year and outcome, past the few items with links to later incidents."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    year = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=20)

    key = ("provider", "year", "status")

    class Meta:
        constraints = unique("action_item_count_once", "provider", "year", "status", unknown="year")


class SummaryLock(models.Model):
    """One row, locked by every change to the counts until its transaction ends, so that
    changes are counted one after another (outages.summaries.lock)."""

    def __str__(self):
        return "The lock of the kept counts"
