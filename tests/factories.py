"""Factories for test rows: each call makes a different, valid row, so tests see varied data.

Pass any field to pin it. Values come from Faker seeded in conftest.py, so a run is repeatable.
`IncidentFactory` makes a published incident of its provider's own service and region, with a
timeline, customer impacts, an action item and a correction (counts adjustable, e.g.
`IncidentFactory(events=0, impacts=3)`). Nothing is indexed for search: tests that search call
`outages.search.update_index` (the `varied_incidents` fixture does).
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import factory
from django.utils.text import slugify

from outages import page_cache, summaries
from outages.models import (
    ActionItem,
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

SERVICE_NAMES = ["Load Balancer", "Object Storage", "DNS", "Compute", "Queue", "CDN", "Database"]
TIME_ZONES = ["America/Los_Angeles", "UTC", "Europe/Dublin", "Asia/Tokyo", "Australia/Sydney"]
# Hit and not hit alike, so that tests of the hit rule see both.
IMPACT_LEVELS = [level for level, _ in CustomerImpact.Level.choices]


def unique_slug(text, number):
    return f"{slugify(text)[:80]}-{number}"


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    name = factory.Faker("company")
    slug = factory.LazyAttributeSequence(lambda row, n: unique_slug(row.name, n))
    homepage_url = factory.Faker("url")
    description = factory.Faker("sentence")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    provider = factory.SubFactory(ProviderFactory)
    name = factory.Iterator(SERVICE_NAMES)
    slug = factory.LazyAttributeSequence(lambda row, n: unique_slug(row.name, n))


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region

    provider = factory.SubFactory(ProviderFactory)
    code = factory.Sequence(lambda n: f"{['us', 'eu', 'ap', 'sa'][n % 4]}-{n}")
    name = factory.Faker("city")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("company")
    slug = factory.LazyAttributeSequence(lambda row, n: unique_slug(row.name, n))
    url = factory.Faker("url")


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    title = factory.Faker("sentence", nb_words=5)
    publisher = factory.Faker("company")
    url = factory.Sequence(lambda n: f"https://status.example.com/reports/{n}")
    kind = factory.Iterator([kind for kind, _ in Source.Kind.choices])


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident
        skip_postgeneration_save = True

    title = factory.Faker("sentence", nb_words=6)
    slug = factory.LazyAttributeSequence(lambda row, n: unique_slug(row.title, n))
    provider = factory.SubFactory(ProviderFactory)
    time_zone = factory.Iterator(TIME_ZONES)
    started_at = factory.Faker(
        "date_time_between",
        start_date=datetime(2011, 1, 1, tzinfo=UTC),
        end_date=datetime(2024, 12, 31, tzinfo=UTC),
        tzinfo=UTC,
    )
    mitigated_at = factory.LazyAttribute(lambda row: row.started_at + timedelta(hours=3))
    resolved_at = factory.LazyAttribute(lambda row: row.started_at + timedelta(hours=9))
    root_cause_category = factory.Iterator([cause for cause, _ in Incident.Cause.choices])
    status = Incident.Status.PUBLISHED
    published_at = factory.LazyAttribute(lambda row: row.resolved_at + timedelta(days=3))
    summary = factory.Faker("paragraph")
    root_cause = factory.Faker("paragraph")

    @factory.post_generation
    def references(incident, create, extracted, **kwargs):
        """A service and a region of its provider, and a source."""
        if create and extracted is not False:
            incident.services.add(ServiceFactory(provider=incident.provider))
            incident.regions.add(RegionFactory(provider=incident.provider))
            incident.sources.add(SourceFactory(publisher=incident.provider.name))

    @factory.post_generation
    def events(incident, create, extracted, **kwargs):
        if not create:
            return
        for position in range(1, (2 if extracted is None else extracted) + 1):
            TimelineEventFactory(
                incident=incident,
                position=position,
                occurred_at=incident.started_at + timedelta(minutes=37 * position),
                source=incident.sources.first(),
            )

    @factory.post_generation
    def impacts(incident, create, extracted, **kwargs):
        if not create:
            return
        for _ in range(2 if extracted is None else extracted):
            impact = CustomerImpactFactory(incident=incident, source=incident.sources.first())
            impact.services.add(*incident.services.all())

    @factory.post_generation
    def follow_up(incident, create, extracted, **kwargs):
        """An action item and a correction, so every kind of child row is there."""
        if create and extracted is not False:
            source = incident.sources.first()
            ActionItemFactory(incident=incident, source=source)
            CorrectionFactory(incident=incident, claimed_by=source, settled_by=source)


class TimelineEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineEvent

    incident = factory.SubFactory(IncidentFactory, events=0)
    position = factory.Sequence(lambda n: n + 1)
    occurred_at = factory.LazyAttribute(lambda row: row.incident.started_at)
    time_as_stated = factory.LazyAttribute(
        lambda row: row.occurred_at.astimezone(ZoneInfo(row.incident.time_zone)).strftime(
            "%-I:%M %p %Z"
        )
    )
    kind = factory.Iterator([kind for kind, _ in TimelineEvent.Kind.choices])
    description = factory.Faker("sentence")


class CustomerImpactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerImpact

    incident = factory.SubFactory(IncidentFactory, impacts=0)
    customer = factory.SubFactory(CustomerFactory)
    level = factory.Iterator(IMPACT_LEVELS)
    description = factory.Faker("sentence")


class ActionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionItem

    incident = factory.SubFactory(IncidentFactory, follow_up=False)
    position = factory.Sequence(lambda n: n + 1)
    description = factory.Faker("sentence")
    kind = factory.Iterator([kind for kind, _ in ActionItem.Kind.choices])
    status = factory.Iterator([status for status, _ in ActionItem.Status.choices])


class CorrectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Correction

    incident = factory.SubFactory(IncidentFactory, follow_up=False)
    position = factory.Sequence(lambda n: n + 1)
    claim = factory.Faker("sentence")
    fact = factory.Faker("sentence")


def update_incidents(incidents, **values):
    """Update a queryset of incidents as the site's write paths do (`queryset.update()` alone
    would leave cached pages and the statistics' kept counts behind):
    `update_incidents(qs, status="draft")`."""
    pks = list(incidents.values_list("pk", flat=True))
    with page_cache.changing(pks), summaries.changing(pks):
        incidents.update(**values)
