"""The rows that make up an incident: timeline events, customer impacts (and the one rule for
"this customer was hit"), action items and corrections."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from outages.models.base import (
    MarkdownField,
    Precision,
    TextChecked,
    from_1970,
    validate_content_date,
)
from outages.models.incidents import Incident
from outages.models.milestones import Milestone
from outages.models.reference import Customer, Service, Source
from outages.models.versioned import versioned


class IncidentChildManager(models.Manager):
    def get_by_natural_key(self, incident_slug, position):
        return self.get(incident__slug=incident_slug, position=position)


class IncidentChild(TextChecked):
    """Rows that belong to one incident and are numbered within it (their natural key)."""

    position = models.PositiveSmallIntegerField(
        help_text="Numbers the rows within the incident; also breaks ties in ordering."
    )

    objects = IncidentChildManager()

    class Meta:
        abstract = True

    def natural_key(self):
        return (self.incident.slug, self.position)

    natural_key.dependencies = ["outages.incident"]


@versioned()
class TimelineEvent(IncidentChild):
    Precision = Precision  # so forms and documents can say TimelineEvent.Precision

    class Kind(models.TextChoices):
        TRIGGER = "trigger", "Trigger"
        DETECTION = "detection", "Detection"
        ESCALATION = "escalation", "Escalation"
        MITIGATION = "mitigation", "Mitigation"
        RECOVERY = "recovery", "Recovery"
        COMMUNICATION = "communication", "Communication"
        OTHER = "other", "Other"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    occurred_at = models.DateTimeField(validators=[validate_content_date])
    precision = models.CharField(max_length=20, choices=Precision.choices, default=Precision.MINUTE)
    time_as_stated = models.CharField(
        max_length=200,
        blank=True,
        help_text="The source's own wording of the time, e.g. “12:24 PM PST on December 24th”.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = MarkdownField(blank=False)
    description_html = models.TextField(blank=True, editable=False)
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    is_key_event = models.BooleanField("key event", default=False)
    marks = models.CharField(
        "marks the milestone",
        max_length=20,
        choices=Milestone.choices,
        blank=True,
        help_text="When this event is the incident's start, detection, mitigation or resolution: "
        "the milestone then has this event's time. An empty milestone is filled from it.",
    )

    markdown_fields = ["description"]

    class Meta:
        ordering = ["occurred_at", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "position"], name="timeline_event_position_unique"
            ),
            # One event states each milestone (milestone_disagreement() holds them equal).
            models.UniqueConstraint(
                fields=["incident", "marks"],
                condition=~Q(marks=""),
                name="timeline_event_marks_milestone_once",
                violation_error_message="Another event of this incident already marks this "
                "milestone; one event states each milestone.",
            ),
            from_1970("occurred_at", "timeline_event"),
        ]

    def __str__(self):
        # get_kind_display(), from labels gathered once: that call gathers them anew, and each
        # revision of an import names every event by this (100,000 for 10,000 incidents).
        kind = KIND_LABELS.get(self.kind, self.kind)
        return f"{kind} at {self.occurred_at:%Y-%m-%d %H:%M} UTC"


KIND_LABELS = dict(TimelineEvent.Kind.choices)


class CustomerImpactQuerySet(models.QuerySet):
    def hits(self):
        """The one rule for "this customer was hit": every level in HIT_LEVELS."""
        return self.filter(CustomerImpact.hit_condition())

    def through(self, service):
        """Hits through `service` as the sources state it: the impact names that service. With
        None, the hits whose impact names no service (the sources do not say which)."""
        return self.hits().filter(services=service)


class CustomerImpactManager(models.Manager.from_queryset(CustomerImpactQuerySet)):
    def get_by_natural_key(self, incident_slug, customer_slug):
        return self.get(incident__slug=incident_slug, customer__slug=customer_slug)


@versioned()
class CustomerImpact(TextChecked):
    class Level(models.TextChoices):
        OUTAGE = "outage", "Down"
        DEGRADED = "degraded", "Degraded"
        AFFECTED = "affected", "Affected (extent not reported)"
        NOT_AFFECTED = "not-affected", "Not affected"

    # What counts as hit: down, degraded, or affected to an extent not reported. A customer
    # named only as "not affected" is listed on the incident but never counted as hit.
    HIT_LEVELS = [Level.OUTAGE, Level.DEGRADED, Level.AFFECTED]

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="impacts")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="impacts")
    level = models.CharField("how hit", max_length=20, choices=Level.choices)
    services = models.ManyToManyField(
        Service,
        blank=True,
        related_name="impacts",
        help_text="Which of the incident's services hit them.",
    )
    description = MarkdownField()
    description_html = models.TextField(blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, validators=[validate_content_date])
    ended_at = models.DateTimeField(null=True, blank=True, validators=[validate_content_date])
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, related_name="impacts"
    )

    objects = CustomerImpactManager()

    markdown_fields = ["description"]

    class Meta:
        ordering = ["customer__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "customer"], name="impact_once_per_customer"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__gte=F("started_at")), name="impact_ends_after_start"
            ),
            from_1970("started_at", "impact"),
            from_1970("ended_at", "impact"),
        ]
        indexes = [
            # The customers an incident hit, from the index alone: related incidents' candidates
            # and ranking (web/related.py) probe it once per incident they walk. The condition
            # is hit_condition()'s, written out since Meta cannot read the class it is in (a
            # test holds them equal).
            models.Index(
                fields=["incident", "customer"],
                condition=Q(level__in=["outage", "degraded", "affected"]),
                name="impact_hits",
            ),
            # Whether a published incident names a customer (visibility.CustomerQuerySet), one
            # probe per customer of a list: its first impact's incident, from the index alone.
            models.Index(fields=["customer", "incident"], name="impact_by_customer"),
        ]

    def __str__(self):
        return f"{self.customer} in {self.incident}"

    def natural_key(self):
        return (self.incident.slug, self.customer.slug)

    natural_key.dependencies = ["outages.incident", "outages.customer"]

    @classmethod
    def hit_condition(cls, via=""):
        """The rule of hits() as a condition, on impacts or on rows that reach them through
        `via` (e.g. "impacts__", to count a customer's hits in an annotation)."""
        return Q(**{f"{via}level__in": cls.HIT_LEVELS})

    @property
    def was_hit(self):
        """The rule of CustomerImpactQuerySet.hits(), for a row already loaded."""
        return self.level in self.HIT_LEVELS

    @property
    def severity_rank(self):
        """The one "worst first" order: 0 for down, rising as the harm lessens (the order the
        levels are declared in), for sorting rows already loaded."""
        return self.Level.values.index(self.level)

    def clean(self):
        super().clean()
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            raise ValidationError({"ended_at": "The impact cannot end before it started."})


@versioned()
class ActionItem(IncidentChild):
    class Kind(models.TextChoices):
        PREVENT = "prevent", "Prevent"
        MITIGATE = "mitigate", "Mitigate"
        DETECT = "detect", "Detect"
        PROCESS = "process", "Process"

    class Status(models.TextChoices):
        """The states of a promise (outages.models.ledger): "planned" is the value of
        promised, as documents have always written it."""

        DONE = "done", "Done"
        PLANNED = "planned", "Promised"
        IN_PROGRESS = "in-progress", "In progress"
        ABANDONED = "abandoned", "Abandoned"
        UNKNOWN = "unknown", "Unknown"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_items")
    description = models.TextField("what was promised")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(
        max_length=20,
        choices=Status.choices,
        default=Status.UNKNOWN,
        help_text="The state of its latest history entry (see “Action item states”); set "
        "directly only for an item without history.",
    )
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, related_name="action_items"
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "position"], name="action_item_position_unique"
            )
        ]

    def __str__(self):
        return self.description[:60]


class CorrectionManager(IncidentChildManager):
    def with_sources(self):
        """With the sources that made and settle each claim, and the archived version the
        claim was read in (its body left in the database)."""
        return self.select_related("claimed_by", "settled_by", "claimed_in").defer(
            "claimed_in__body"
        )


@versioned()
class Correction(IncidentChild):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="corrections")
    claim = models.TextField("the claim as published")
    fact = models.TextField("the established fact")
    claimed_by = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, related_name="claims_corrected",
        help_text="The source that made the claim.",
    )  # fmt: skip
    settled_by = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, related_name="claims_settled",
        help_text="The source that settles it.",
    )  # fmt: skip
    claimed_in = models.ForeignKey(
        "outages.ArchivedCopy", on_delete=models.PROTECT, null=True, blank=True,
        related_name="corrections_citing",
        help_text="The archived version of the claiming source that said it, when the source "
        "has changed since.",
    )  # fmt: skip

    objects = CorrectionManager()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "position"], name="correction_position_unique"
            )
        ]

    def __str__(self):
        return self.claim[:60]

    def clean(self):
        super().clean()
        copy, source = self.claimed_in, self.claimed_by
        if copy is None:
            return
        if source is None:
            raise ValidationError(
                {
                    "claimed_in": "An archived version is a copy of the source that made the "
                    "claim: choose that source under “claimed by” too."
                }
            )
        if copy.kind != copy.Kind.PAGE:
            raise ValidationError(
                {"claimed_in": "Choose a version of the page as fetched, not a sync's data."}
            )
        if not copy.is_copy_of(source):
            raise ValidationError(
                {
                    "claimed_in": f"Version {copy.number} is a copy of {copy.url}, not of the "
                    f"source that made the claim ({source.url})."
                }
            )
