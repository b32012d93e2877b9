"""Incidents: the one published() rule, the one answer to "which incidents of X", the one order
(its terms in ordering.py), and the incident's own fields, milestones and durations."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Prefetch, Q
from django.urls import reverse
from django.utils import timezone

from outages import text
from outages.models.base import (
    ZONE_UNSTATED,
    MarkdownField,
    TextChecked,
    from_1970,
    validate_content_date,
    validate_time_zone,
)
from outages.models.milestones import (
    MILESTONES,
    NEAREST_EVENTS,
    MilestoneFact,
    TimelinePointer,
    precision_field,
)
from outages.models.ordering import NEWEST_FIRST, OLDEST_FIRST
from outages.models.reference import Provider, Region, Service, Source
from outages.models.versioned import INCIDENT_ROWS, versioned


def published_through(path=""):
    """published() as a condition on the incident a query reaches through `path` ("other__"),
    for a query that joins it anyway: one join, where `incident__in=published()` plans a
    subquery of its own (milliseconds of planning for a page's relations at 100,000)."""
    return Q(**{f"{path}status": Incident.Status.PUBLISHED})


class IncidentQuerySet(models.QuerySet):
    def newest_first(self, *before):
        """The one order (NEWEST_FIRST), after any orderings given in `before`."""
        return self.order_by(*before, *NEWEST_FIRST)

    def oldest_first(self):
        """The same rule the other way round: oldest first, and unknown starts still last."""
        return self.order_by(*OLDEST_FIRST)

    def published(self):
        """The one rule for what readers may see. Every public page, feed and export uses it."""
        return self.filter(published_through())

    def withdrawn(self):
        """Taken down: readers are told so (410), with the reason, but see nothing else."""
        return self.filter(status=Incident.Status.WITHDRAWN)

    def involving(self, *, provider=None, service=None, region=None, customer=None):
        """The incidents of a provider, service or region, or those that hit a customer. Each
        may be one row or several (any of them); given more than one kind, all must hold.

        The one answer to "which incidents of X": the X page, its feed, the API, the statistics,
        the stack page and the incident list filtered by X all ask it. Subqueries rather than
        joins, so an incident is listed once with no DISTINCT.
        """
        from outages.models.parts import CustomerImpact  # its module imports this one

        incidents = self
        if provider is not None:
            incidents = incidents.filter(provider__in=one_or_many(provider))
        if service is not None:
            links = Incident.services.through.objects.filter(service__in=one_or_many(service))
            incidents = incidents.filter(pk__in=links.values("incident"))
        if region is not None:
            links = Incident.regions.through.objects.filter(region__in=one_or_many(region))
            incidents = incidents.filter(pk__in=links.values("incident"))
        if customer is not None:
            hit = CustomerImpact.objects.hits().filter(customer__in=one_or_many(customer))
            incidents = incidents.filter(pk__in=hit.values("incident"))
        return incidents

    def hit_through(self, service, customer=None):
        """The incidents whose sources say they hit `customer` (one or several; anyone if None)
        through `service`, or with `service` None, that hit them without saying through which
        service (CustomerImpactQuerySet.through). The map's cells count these."""
        from outages.models.parts import CustomerImpact  # its module imports this one

        hit = CustomerImpact.objects.through(service)
        if customer is not None:
            hit = hit.filter(customer__in=one_or_many(customer))
        return self.filter(pk__in=hit.values("incident"))

    def for_lists(self):
        """With everything a list row shows: provider, services, regions (each with its
        provider) and the impacts of customers hit (as `customers_hit`), in four queries."""
        from outages.models.parts import CustomerImpact  # its module imports this one

        hit = CustomerImpact.objects.hits().select_related("customer")
        return self.select_related("provider").prefetch_related(
            services_with_provider(),
            regions_with_provider(),
            Prefetch("impacts", queryset=hit, to_attr="customers_hit"),
        )

    def in_full(self):
        """With every row a whole postmortem shows, in nine queries: 1 the incident with its
        provider, 2 services, 3 regions (each with its provider), 4 sources, 5 timeline events
        with their source, 6 customer impacts with customer and source, 7 the impacts'
        services, 8 action items with their source, 9 corrections with both sources and the
        archived copy a claim was made in (without its body)."""
        from outages.models.parts import (  # their module imports this one
            ActionItem,
            Correction,
            CustomerImpact,
            TimelineEvent,
        )

        impacts = CustomerImpact.objects.select_related("customer", "source")
        return self.select_related("provider").prefetch_related(
            services_with_provider(),
            regions_with_provider(),
            "sources",
            Prefetch("events", queryset=TimelineEvent.objects.select_related("source")),
            Prefetch("impacts", queryset=impacts.prefetch_related(services_with_provider())),
            Prefetch("action_items", queryset=ActionItem.objects.select_related("source")),
            Prefetch("corrections", queryset=Correction.objects.with_sources()),
        )


def one_or_many(value):
    """One row or several, as a list."""
    return [value] if isinstance(value, models.Model) else list(value)


def services_with_provider():
    """Prefetch a row's services with their providers (what their links and keys need)."""
    return Prefetch("services", queryset=Service.objects.select_related("provider"))


def regions_with_provider():
    """Prefetch a row's regions with their providers (what their links and keys need)."""
    return Prefetch("regions", queryset=Region.objects.select_related("provider"))


class IncidentManager(models.Manager.from_queryset(IncidentQuerySet)):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


POSTMORTEM_SECTIONS = ["summary", "impact", "root_cause", "detection", "response", "lessons"]


@versioned(follow=INCIDENT_ROWS)
class Incident(TextChecked):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        REVIEW = "review", "In review"
        PUBLISHED = "published", "Published"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Cause(models.TextChoices):
        OPERATIONAL_ERROR = "operational-error", "Operational error"
        SOFTWARE_BUG = "software-bug", "Software bug"
        POWER_FAILURE = "power-failure", "Power failure"
        RESOURCE_LIMIT = "resource-limit", "Capacity or resource limit"
        AUTOMATION = "automation", "Automation fault"
        CONFIGURATION = "configuration", "Configuration change"
        OTHER = "other", "Other"
        # Synced from a status page, before an editor has read the story.
        UNCLASSIFIED = "unclassified", "Not yet classified"

    title = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=100,
        unique=True,
        error_messages={"unique": "Another incident already uses this slug. Choose another one."},
        help_text="Names the incident in its address, e.g. aws-elb-us-east-2012-12-24. "
        "Lowercase words and hyphens.",
    )
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="incidents")
    services = models.ManyToManyField(Service, blank=True, related_name="incidents")
    regions = models.ManyToManyField(Region, blank=True, related_name="incidents")
    sources = models.ManyToManyField(Source, blank=True, related_name="incidents")
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA zone the main source states its times in, e.g. America/Los_Angeles; "
        f"“{ZONE_UNSTATED}” when it states none (times are then entered as written).",
    )
    started_at = models.DateTimeField(
        null=True,
        blank=True,
        validators=[validate_content_date],
        help_text="When the trigger happened.",
    )
    started_precision = precision_field("start")
    detected_at = models.DateTimeField(
        null=True,
        blank=True,
        validators=[validate_content_date],
        help_text="When the provider noticed.",
    )
    detected_precision = precision_field("detection")
    mitigated_at = models.DateTimeField(
        null=True,
        blank=True,
        validators=[validate_content_date],
        help_text="When the damage stopped spreading.",
    )
    mitigated_precision = precision_field("mitigation")
    resolved_at = models.DateTimeField(
        null=True,
        blank=True,
        validators=[validate_content_date],
        help_text="When the provider declared normal operation.",
    )
    resolved_precision = precision_field("resolution")
    root_cause_category = models.CharField(max_length=30, choices=Cause.choices)
    provider_impact = models.CharField(
        "provider's rating", max_length=50, blank=True,
        help_text="The impact or severity its status page gave it, in the provider's own word "
        "(Statuspage: minor, major, critical; Google Cloud: low, medium, high).",
    )  # fmt: skip
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    withdrawn_reason = models.TextField(
        blank=True, help_text="Why the incident was taken down; readers see this at its address."
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # Optimistic locking: every save through the admin checks and bumps it.
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(
        default=timezone.now,
        editable=False,
        help_text="When this record or its timeline last changed; feeds show it as updated.",
    )

    summary = MarkdownField(help_text="What happened, in a few paragraphs. Markdown.")
    impact = MarkdownField(help_text="Who and what was hit, and how badly. Markdown.")
    root_cause = MarkdownField(help_text="The trigger and the contributing factors. Markdown.")
    detection = MarkdownField(help_text="How and when it was noticed. Markdown.")
    response = MarkdownField(
        "response and recovery", help_text="What was done to recover. Markdown."
    )
    lessons = MarkdownField(help_text="What the provider and others learned. Markdown.")
    summary_html = models.TextField(blank=True, editable=False)
    impact_html = models.TextField(blank=True, editable=False)
    root_cause_html = models.TextField(blank=True, editable=False)
    detection_html = models.TextField(blank=True, editable=False)
    response_html = models.TextField(blank=True, editable=False)
    lessons_html = models.TextField(blank=True, editable=False)

    objects = IncidentManager()

    markdown_fields = POSTMORTEM_SECTIONS

    class Meta:
        ordering = NEWEST_FIRST
        constraints = [
            # Milestones happen in order: start, detect, mitigate, resolve. Unknown ones (NULL)
            # pass, since CHECK treats NULL as true.
            models.CheckConstraint(
                condition=Q(detected_at__gte=F("started_at")), name="incident_detected_after_start"
            ),
            models.CheckConstraint(
                condition=Q(mitigated_at__gte=F("started_at")),
                name="incident_mitigated_after_start",
            ),
            models.CheckConstraint(
                condition=Q(mitigated_at__gte=F("detected_at")),
                name="incident_mitigated_after_detected",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__gte=F("started_at")), name="incident_resolved_after_start"
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__gte=F("detected_at")),
                name="incident_resolved_after_detected",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__gte=F("mitigated_at")),
                name="incident_resolved_after_mitigated",
            ),
            *[from_1970(name, "incident") for name in MILESTONES],
        ]
        permissions = [("publish_incident", "Can publish and withdraw incidents")]
        indexes = [
            # Every public list: published incidents, newest first.
            models.Index(fields=["status", "-started_at"], name="incident_published_newest"),
            # The published incidents, narrowly: the list's result set (filters.result_set) and
            # the home page's counts read id, provider, cause and start from here instead of
            # the wide rows (PostgreSQL only; other engines ignore `include`).
            models.Index(
                fields=["status", "id"],
                include=["provider", "root_cause_category", "started_at"],
                name="incident_published_facets",
            ),
            # The sitemap index's last change: one end of an index, not every published incident.
            models.Index(fields=["status", "updated_at"], name="incident_published_updated"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("outages:incident", args=[self.slug])

    def natural_key(self):
        return (self.slug,)

    def touch(self):
        """Mark the record as changed, so feeds and caches see a new version."""
        self.updated_at = timezone.now()
        Incident.objects.filter(pk=self.pk).update(updated_at=self.updated_at)

    def clean(self):
        super().clean()
        errors = {}
        known = [(name, getattr(self, name)) for name in MILESTONES if getattr(self, name)]
        for index, (later, later_value) in enumerate(known):
            for earlier, earlier_value in known[:index]:
                if later_value < earlier_value and later not in errors:
                    errors[later] = (
                        f"{self._meta.get_field(later).verbose_name.capitalize()} cannot be before "
                        f"{self._meta.get_field(earlier).verbose_name}."
                    )
        if errors:
            raise ValidationError(errors)

    @property
    def zone_stated(self):
        """False when the sources state no zone: times are as written, not comparable."""
        return self.time_zone != ZONE_UNSTATED

    def precision_of(self, milestone):
        """The precision of a milestone ("started_at" -> started_precision)."""
        return getattr(self, milestone.replace("_at", "_precision"))

    def span_bounds(self, start, end):
        """(shortest, longest) from one milestone to another, or None if either is not known."""
        return text.duration_bounds(
            getattr(self, start),
            self.precision_of(start),
            getattr(self, end),
            self.precision_of(end),
            self.time_zone,
        )

    def _between(self, start, end):
        """The exact duration, or None when an end is unknown or known only to the day or more
        coarsely (then see span_bounds)."""
        bounds = self.span_bounds(start, end)
        if bounds is None or bounds[0] != bounds[1]:
            return None
        return bounds[0]

    # Durations are derived, never stored, and only exact when both ends have a clock time.
    @property
    def time_to_detect(self):
        return self._between("started_at", "detected_at")

    @property
    def time_to_mitigate(self):
        return self._between("started_at", "mitigated_at")

    @property
    def time_to_resolve(self):
        return self._between("started_at", "resolved_at")

    @property
    def time_to_resolve_words(self):
        """The time to resolve in words, as bounds if an end is known only to the day; None when
        not known or too loose to say (text.bounds_text)."""
        return text.bounds_text(self.span_bounds("started_at", "resolved_at"))

    @property
    def milestones(self):
        """(label, time, precision) of each milestone."""
        return [
            (self._meta.get_field(name).verbose_name, getattr(self, name), self.precision_of(name))
            for name in MILESTONES
        ]

    @property
    def durations(self):
        """(label, words, definition, bounds) of each duration. The words are the exact
        duration, bounds (“between 2 and 3 days”), or None when not known or too loose to say."""
        return [
            (label, text.bounds_text(bounds), definition, bounds)
            for label, bounds, definition in [
                (
                    "Time to detect",
                    self.span_bounds("started_at", "detected_at"),
                    "From the trigger until the provider noticed.",
                ),
                (
                    "Time to mitigate",
                    self.span_bounds("started_at", "mitigated_at"),
                    "From the trigger until the damage stopped spreading.",
                ),
                (
                    "Time to resolve",
                    self.span_bounds("started_at", "resolved_at"),
                    "From the trigger until the provider declared normal operation "
                    "(the whole span).",
                ),
            ]
        ]

    def not_stated(self):
        """“not stated by Amazon Web Services”: an unknown milestone (provider preloaded)."""
        return f"not stated by {self.provider.name}"

    def timeline_pointer(self, name, events):
        """The TimelinePointer of the unknown milestone `name` (see NEAREST_EVENTS), or None
        when it is known or the timeline has no event of its kind. `events`: the incident's
        events as already loaded (incident.events.all() of Incident.objects.in_full())."""
        if getattr(self, name) is not None:
            return None
        kind, which, what = NEAREST_EVENTS[name]
        found = [event for event in events if event.kind == kind]
        if not found:
            return None
        pick = min if which == "first" else max
        event = pick(found, key=lambda event: (event.occurred_at, event.position))
        at, zone, precision = event.occurred_at, self.time_zone, event.precision
        return TimelinePointer(
            what=what,
            event=event,
            when=text.moment_text(at, zone, precision),
            machine=text.machine_text(at, zone, precision),
            by=event.source.publisher if event.source else "",
        )

    def milestone_facts(self, events):
        """Each milestone as a MilestoneFact; an unknown one says it is not stated and points at
        the timeline. `events` as for timeline_pointer(): no query."""
        events = list(events)
        return [
            MilestoneFact(
                name=name,
                label=label,
                moment=moment,
                precision=precision,
                unstated="" if moment is not None else self.not_stated(),
                pointer=self.timeline_pointer(name, events),
            )
            for name, (label, moment, precision) in zip(MILESTONES, self.milestones, strict=True)
        ]

    def resolve_at_least(self, events):
        """When the resolution is not stated: the time from the start to the last recovery step
        in the timeline, a lower bound on the time to resolve, in words (“at least 3 d 11 h (to
        the last recovery step in the timeline)”); "" when there is no such step after a known
        start."""
        pointer = self.timeline_pointer("resolved_at", events)
        if pointer is None or self.started_at is None:
            return ""
        event = pointer.event
        if event.occurred_at < self.started_at:
            return ""
        bounds = text.duration_bounds(
            self.started_at,
            self.started_precision,
            event.occurred_at,
            event.precision,
            self.time_zone,
        )
        exact = text.has_clock(self.started_precision) and text.has_clock(event.precision)
        words = text.at_least_text(bounds[0], exact) if bounds else None
        return f"{words} (to the {pointer.what})" if words else ""

    def duration_facts(self, events):
        """(label, words, definition, bounds, at_least) of each duration: durations' rows, with
        the lower bound on the time to resolve (resolve_at_least()) when it is not known."""
        at_least = self.resolve_at_least(events)
        return [
            (label, words, definition, bounds, at_least if label == "Time to resolve" else "")
            for label, words, definition, bounds in self.durations
        ]

    @property
    def postmortem_sections(self):
        return [
            (self._meta.get_field(name).verbose_name, getattr(self, f"{name}_html"))
            for name in POSTMORTEM_SECTIONS[1:]
        ]
