"""The data of the knowledge base, its invariants, natural keys and the one published() rule."""

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import reversion
from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from outages import text
from outages.names import normalise_name
from outages.rendering import MAX_MARKDOWN_LENGTH, check_markdown, render_markdown


def validate_markdown(text):
    problems = check_markdown(text)
    if problems:
        raise ValidationError(problems)


# The time zone of an incident whose sources state none. Its times are stored as the wall-clock
# values the sources wrote, read as if UTC only so they can be stored; pages show them as written
# and say the zone is not stated, and comparisons across incidents leave them out. (Defined with
# the words for times, which need it too and may not import models.)
ZONE_UNSTATED = text.ZONE_UNSTATED


def validate_time_zone(name):
    if name == ZONE_UNSTATED:
        return
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"“{name}” is not a time zone name. Use an IANA name such as America/Los_Angeles, "
            f"or “{ZONE_UNSTATED}” when the source states no zone."
        ) from None


class Precision(models.TextChoices):
    """How exactly a time is known, for timeline events and the incident's milestones. A time
    known to the day, month or year is stored as the start of that period in the incident's zone.
    """

    MINUTE = "minute", "To the minute"
    APPROXIMATE = "approximate", "Approximate"
    HOUR = "hour", "To the hour"
    DATE = "date", "Day"  # the stored value stays "date": existing data and documents use it
    MONTH = "month", "Month"
    YEAR = "year", "Year"


# --- Sane ranges for content dates ------------------------------------------------------------

# What happened in the history of cloud services happened after 1970, and nothing is planned
# more than a year ahead: a date outside that is a typo (year 1, year 9999, 2102 for 2012).
# Every content date and time (milestones, timeline events, customer impacts, source dates) is
# checked by validate_content_date(), which the admin, the importer and load_fixtures all run
# (full_clean). The lower bound is also a CHECK constraint (from_1970); the upper one cannot be:
# "now" moves, and a CHECK must hold for a row whenever it is checked.
EARLIEST_CONTENT_DAY = date(1970, 1, 1)
EARLIEST_CONTENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=366)  # a year, leap day included


def day_text(value):
    """“12 Mar 0001”: the day of a date or time (in UTC), with every digit of the year."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return f"{value.day} {value:%b} {value.year:04d}"


def validate_content_date(value):
    """Refuse a date or time before 1970 or more than a year ahead of now, in plain words."""
    now = timezone.now()
    if isinstance(value, datetime):
        too_early = value < EARLIEST_CONTENT_TIME
        too_late = value > text.shifted(now, LATEST_AHEAD)
    else:
        too_early = value < EARLIEST_CONTENT_DAY
        too_late = value > (now + LATEST_AHEAD).date()
    if too_early:
        raise ValidationError(
            f"{day_text(value)} is before 1970; check the year.", code="before_1970"
        )
    if too_late:
        raise ValidationError(
            f"{day_text(value)} is more than a year from now; check the year.", code="too_late"
        )


def from_1970(field_name, table):
    """The database's half of the range rule: `field_name` is empty or from 1970 on. Named
    `<table>_<field>_from_1970`; validate_content_date() says the same in words."""
    earliest = EARLIEST_CONTENT_DAY if field_name == "published_on" else EARLIEST_CONTENT_TIME
    return models.CheckConstraint(
        condition=Q(**{f"{field_name}__gte": earliest}),
        name=f"{table}_{field_name}_from_1970",
        violation_error_message=f"{field_name} is before 1970; check the year.",
    )


class MarkdownField(models.TextField):
    """Editor-written Markdown, bounded in size and checked for input the renderer chokes on."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("blank", True)
        kwargs.setdefault(
            "validators", [MaxLengthValidator(MAX_MARKDOWN_LENGTH), validate_markdown]
        )
        super().__init__(*args, **kwargs)


@receiver(pre_save)
def render_markdown_fields(sender, instance, **kwargs):
    """Derive each `<field>_html` from its Markdown on every save of the row.

    A pre_save receiver rather than save(): loaddata saves raw, skipping save(), and fixture
    rows need their HTML too. It touches only the row being saved.
    """
    for name in getattr(sender, "markdown_fields", ()):
        setattr(instance, f"{name}_html", render_markdown(getattr(instance, name)))


@receiver(pre_save, sender="outages.Alias")
def derive_alias_fields(sender, instance, raw=False, **kwargs):
    """Alias.derive() on every save, fixtures' raw saves included. Touches only the row."""
    instance.derive()


class TextChecked(models.Model):
    """Refuses control characters in every text field (text.CONTROL_CHARACTERS), whichever
    path saves the row: the admin, the importer and load_fixtures all run full_clean()."""

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        errors = {}
        try:
            super().clean_fields(exclude)
        except ValidationError as error:
            errors = error.error_dict
        for model_field in self._meta.concrete_fields:
            value = getattr(self, model_field.attname)
            if model_field.name in (exclude or ()) or not isinstance(value, str):
                continue
            problem = text.control_character_problem(value)
            if problem:
                errors.setdefault(model_field.name, []).append(
                    ValidationError(f"This {problem}.", code="control_character")
                )
        if errors:
            raise ValidationError(errors)


# --- Reference rows ---------------------------------------------------------------------------


class ProviderManager(models.Manager):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


@reversion.register(follow=["aliases"])
class Provider(TextChecked):
    name = models.CharField(max_length=100, help_text="As the provider names itself.")
    slug = models.SlugField(max_length=100, unique=True)
    homepage_url = models.URLField("homepage URL", blank=True)
    description = models.TextField(blank=True, help_text="One or two plain sentences.")

    objects = ProviderManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("outages:provider", args=[self.slug])

    def natural_key(self):
        return (self.slug,)


class ServiceManager(models.Manager):
    def get_by_natural_key(self, provider_slug, slug):
        return self.get(provider__slug=provider_slug, slug=slug)


@reversion.register(follow=["aliases"])
class Service(TextChecked):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    description = models.TextField(blank=True)

    objects = ServiceManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "slug"], name="service_slug_unique_per_provider"
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("outages:service", args=[self.provider.slug, self.slug])

    def natural_key(self):
        return (self.provider.slug, self.slug)

    natural_key.dependencies = ["outages.provider"]


class RegionManager(models.Manager):
    def get_by_natural_key(self, provider_slug, code):
        return self.get(provider__slug=provider_slug, code=code)


@reversion.register(follow=["aliases"])
class Region(TextChecked):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="regions")
    code = models.SlugField(max_length=50, help_text="The provider's own code, e.g. us-east-1.")
    name = models.CharField(max_length=100, help_text="e.g. US East (N. Virginia).")

    objects = RegionManager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "code"], name="region_code_unique_per_provider"
            )
        ]

    def __str__(self):
        return f"{self.code} ({self.name})"

    def get_absolute_url(self):
        return reverse("outages:region", args=[self.provider.slug, self.code])

    def natural_key(self):
        return (self.provider.slug, self.code)

    natural_key.dependencies = ["outages.provider"]


class CustomerManager(models.Manager):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


@reversion.register(follow=["aliases"])
class Customer(TextChecked):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    url = models.URLField("URL", blank=True)
    description = models.TextField(blank=True)
    provider = models.OneToOneField(
        Provider,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="as_customer",
        help_text="When this organisation is also a provider (Heroku), its provider entry.",
    )

    objects = CustomerManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("outages:customer", args=[self.slug])

    def natural_key(self):
        return (self.slug,)


class AliasManager(models.Manager):
    def get_by_natural_key(self, kind, owner_key, normalised):
        owner = Alias.KINDS[kind]._default_manager.get_by_natural_key(*owner_key)
        return self.get(**{kind: owner, "normalised": normalised})


@reversion.register()
class Alias(TextChecked):
    """Another name a provider, service, region or customer goes by ("AWS", "Prime Instant
    Video"). Imports resolve names through aliases; exactly one of the four owners is set.

    One model rather than one per kind: one rule for names, one inline, and the importer reads
    every alias with one query.
    """

    KINDS = {"provider": Provider, "service": Service, "region": Region, "customer": Customer}

    name = models.CharField(max_length=100, help_text="Another name it is known by, e.g. AWS.")
    normalised = models.CharField(
        max_length=100,
        editable=False,
        help_text="The name as names are compared: see outages.names.normalise_name.",
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, null=True, blank=True, related_name="aliases"
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="aliases"
    )
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, null=True, blank=True, related_name="aliases"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="aliases"
    )
    # The provider of the service or region, copied from it: their aliases are unique per
    # provider, and a constraint sees only this row.
    scope = models.ForeignKey(
        Provider, on_delete=models.CASCADE, null=True, blank=True, editable=False, related_name="+"
    )

    objects = AliasManager()

    class Meta:
        verbose_name_plural = "aliases"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(provider__isnull=False, service=None, region=None, customer=None)
                    | Q(provider=None, service__isnull=False, region=None, customer=None)
                    | Q(provider=None, service=None, region__isnull=False, customer=None)
                    | Q(provider=None, service=None, region=None, customer__isnull=False)
                ),
                name="alias_has_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(scope__isnull=False, service__isnull=False)
                | Q(scope__isnull=False, region__isnull=False)
                | Q(scope=None, service=None, region=None),
                name="alias_scoped_to_provider_of_service_or_region",
            ),
            models.CheckConstraint(condition=~Q(normalised=""), name="alias_has_letters"),
            models.UniqueConstraint(
                fields=["normalised"],
                condition=Q(provider__isnull=False),
                name="alias_unique_among_providers",
            ),
            models.UniqueConstraint(
                fields=["normalised"],
                condition=Q(customer__isnull=False),
                name="alias_unique_among_customers",
            ),
            models.UniqueConstraint(
                fields=["scope", "normalised"],
                condition=Q(service__isnull=False),
                name="alias_unique_among_services_of_provider",
            ),
            models.UniqueConstraint(
                fields=["scope", "normalised"],
                condition=Q(region__isnull=False),
                name="alias_unique_among_regions_of_provider",
            ),
        ]

    def __str__(self):
        return self.name

    def natural_key(self):
        kind, owner = self.owner()
        return (kind, tuple(owner.natural_key()), normalise_name(self.name))

    natural_key.dependencies = [
        "outages.provider",
        "outages.service",
        "outages.region",
        "outages.customer",
    ]

    def owner(self):
        """(kind, row) of the one owner set, e.g. ("service", <Service: Amazon EBS>); (None,
        None) when none is set yet."""
        for kind in self.KINDS:
            if getattr(self, f"{kind}_id") is not None or self._meta.get_field(kind).is_cached(
                self
            ):
                row = getattr(self, kind)
                if row is not None:
                    return kind, row
        return None, None

    def derive(self):
        """Set the fields copied from the name and the owner (on clean and on every save)."""
        self.normalised = normalise_name(self.name)
        kind, owner = self.owner()
        scoped = kind in ("service", "region") and owner.provider_id is not None
        self.scope = owner.provider if scoped else None

    def clean(self):
        super().clean()
        self.derive()
        if not self.normalised:
            raise ValidationError({"name": "A name needs at least one letter or digit."})
        kind, owner = self.owner()
        if owner is None:
            return  # the form's owner is not saved yet; the constraints still hold on save
        clash = self.clash(kind, owner)
        if clash:
            raise ValidationError({"name": clash})

    def clash(self, kind, owner):
        """Why this name cannot be the alias (the constraints, mirrored, and that an alias may
        not be another row's name or key), or ""."""
        model = self.KINDS[kind]
        same_kind = {f"{kind}__isnull": False}
        others = model._default_manager.exclude(pk=owner.pk)
        if kind in ("service", "region"):
            same_kind["scope"] = self.scope
            others = others.filter(provider=owner.provider)
        taken = (
            Alias.objects.filter(normalised=self.normalised, **same_kind)
            .exclude(pk=self.pk)
            .first()
        )
        label = model._meta.verbose_name
        if taken is not None:
            return f"“{taken.name}” is already an alias of the {label} {taken.owner()[1]}."
        key = "code" if model is Region else "slug"
        for other in others.only("name", key):
            if self.normalised in (normalise_name(other.name), normalise_name(getattr(other, key))):
                return f"“{self.name}” is the name of another {label}, {other}."
        return ""


class SourceManager(models.Manager):
    def get_by_natural_key(self, url):
        return self.get(url=url)


@reversion.register()
class Source(TextChecked):
    class Kind(models.TextChoices):
        OFFICIAL = "official", "Official postmortem"
        CUSTOMER = "customer", "Customer report"
        NEWS = "news", "News"
        STATUS = "status", "Status page"
        OTHER = "other", "Other"

    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=200)
    author = models.CharField(
        max_length=200, blank=True, help_text="Blank when the source names none."
    )
    published_on = models.DateField(null=True, blank=True, validators=[validate_content_date])
    date_note = models.CharField(
        max_length=300,
        blank=True,
        help_text="Why the date is missing or how it is known, e.g. “not shown on the page”.",
    )
    url = models.URLField("URL", max_length=500, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    note = models.TextField(blank=True, help_text="What readers should know about this source.")

    objects = SourceManager()

    class Meta:
        # Undated sources last on every engine (SQLite and PostgreSQL differ on NULLs).
        ordering = [F("published_on").asc(nulls_last=True), "title"]
        constraints = [from_1970("published_on", "source")]

    def __str__(self):
        return f"{self.title} ({self.publisher})"

    def natural_key(self):
        return (self.url,)


# --- Incidents --------------------------------------------------------------------------------


# The one order of incidents, on every page, feed, API list and export: newest first, and those
# whose start is not known last. Said outright because PostgreSQL sorts NULLs first and SQLite
# last. A user-chosen order (relevance, longest) breaks its ties with NEWEST_FIRST.
def incident_order(via="", oldest=False):
    """The order of incidents, or of rows by their incident (`via="incident__"`)."""
    started = F(f"{via}started_at")
    return [started.asc(nulls_last=True) if oldest else started.desc(nulls_last=True), f"{via}slug"]


NEWEST_FIRST = incident_order()
OLDEST_FIRST = incident_order(oldest=True)


class IncidentQuerySet(models.QuerySet):
    def newest_first(self, *before):
        """The one order (NEWEST_FIRST), after any orderings given in `before`."""
        return self.order_by(*before, *NEWEST_FIRST)

    def oldest_first(self):
        """The same rule the other way round: oldest first, and unknown starts still last."""
        return self.order_by(*OLDEST_FIRST)

    def published(self):
        """The one rule for what readers may see. Every public page, feed and export uses it."""
        return self.filter(status=Incident.Status.PUBLISHED)

    def withdrawn(self):
        """Taken down: readers are told so (410), with the reason, but see nothing else."""
        return self.filter(status=Incident.Status.WITHDRAWN)

    def involving(self, *, provider=None, service=None, region=None, customer=None):
        """The incidents of a provider, service or region, or those that hit a customer.

        The one answer to "which incidents of X": the X page, its feed, the API, the statistics
        and the incident list filtered by X all ask it.
        """
        incidents = self
        if provider is not None:
            incidents = incidents.filter(provider=provider)
        if service is not None:
            incidents = incidents.filter(
                pk__in=Incident.services.through.objects.filter(service=service).values("incident")
            )
        if region is not None:
            incidents = incidents.filter(
                pk__in=Incident.regions.through.objects.filter(region=region).values("incident")
            )
        if customer is not None:
            hit = CustomerImpact.objects.hits().filter(customer=customer)
            incidents = incidents.filter(pk__in=hit.values("incident"))
        return incidents


class IncidentManager(models.Manager.from_queryset(IncidentQuerySet)):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


MILESTONES = ["started_at", "detected_at", "mitigated_at", "resolved_at"]


def precision_field(what):
    return models.CharField(
        f"{what} precision",
        max_length=20,
        choices=Precision.choices,
        default=Precision.MINUTE,
        help_text=f"How exactly the sources give the {what} time. A day, month or year is "
        "entered as its first minute in the incident's zone.",
    )


POSTMORTEM_SECTIONS = ["summary", "impact", "root_cause", "detection", "response", "lessons"]


class Milestone(models.TextChoices):
    """What a timeline event may mark: `<value>_at` is the incident's field it states."""

    STARTED = "started", "Start"
    DETECTED = "detected", "Detection"
    MITIGATED = "mitigated", "Mitigation"
    RESOLVED = "resolved", "Resolution"


def moment_text(moment):
    """“24 Dec 2012 20:24 UTC”, for messages."""
    return f"{day_text(moment)} {moment.astimezone(UTC):%H:%M} UTC"


# --- Milestones and the timeline are one fact ---------------------------------------------
#
# A timeline event may mark a milestone (TimelineEvent.marks): then the incident's
# `<milestone>_at` is the event's time. The admin and the importer fill an empty milestone from
# its event (derive_milestones), and refuse a milestone that says otherwise; load_fixtures
# checks the loaded rows. At most one event marks each milestone (a unique constraint).


def derive_milestones(incident, marked):
    """Fill each empty milestone of `incident` from the event that marks it: its time and how
    exactly it is known. `marked`: triples (marks, occurred_at, precision). Returns the names of
    the fields filled."""
    filled = []
    for marks, occurred_at, precision in marked:
        name = f"{marks}_at"
        if marks and occurred_at is not None and getattr(incident, name) is None:
            setattr(incident, name, occurred_at)
            setattr(incident, f"{marks}_precision", precision or Precision.MINUTE)
            filled.append(name)
    return filled


def milestone_disagreement(incident, marks, occurred_at):
    """The rule, in words: "" when the milestone `marks` of `incident` is the time of the event
    that marks it, otherwise what disagrees."""
    if not marks or occurred_at is None:
        return ""
    name = f"{marks}_at"
    stated = getattr(incident, name)
    if stated == occurred_at:
        return ""
    noun = Milestone(marks).label.lower()
    label = Incident._meta.get_field(name).verbose_name.capitalize()
    says = f"says {moment_text(stated)}" if stated else "is empty"
    return f"This event marks the {noun} at {moment_text(occurred_at)}, but {label} {says}"


# How far outside its incident a timeline event may lie before the importer and the admin ask
# whether its date is right. A week takes in a postmortem published days later; a mistyped day,
# month or year usually lands further out. A warning, not an error: a follow-up months later
# (a redesign, a second report) is real.
FAR_OFF = timedelta(days=7)


def far_off(incident, occurred_at, precision="minute"):
    """Words saying how far an event at `occurred_at` (known to `precision`) lies outside the
    incident (from its start to its resolution, or to its last known milestone), or "" when
    within FAR_OFF of it. The event's day is written in the incident's zone, as pages write it."""
    known = [getattr(incident, name) for name in MILESTONES if getattr(incident, name)]
    if not known or occurred_at is None:
        return ""
    first, last = min(known), max(known)
    if occurred_at < text.shifted(first, -FAR_OFF):
        gap, anchor = first - occurred_at, "before the incident's first known time"
        anchor = "before the incident started" if first == incident.started_at else anchor
    elif occurred_at > text.shifted(last, FAR_OFF):
        gap, anchor = occurred_at - last, "after the incident's last known time"
        anchor = "after the incident was resolved" if last == incident.resolved_at else anchor
    else:
        return ""
    # Hours too while they matter: "7 days 11 h", not "7 days", beside the 7 days allowed; not
    # for an event known only to the day or more coarsely, whose hours would be invented.
    hours = ""
    if text.has_clock(precision) and gap.days < 30 and gap.seconds >= 3600:
        hours = f" {gap.seconds // 3600} h"
    return (
        f"{text.day_text(occurred_at, incident.time_zone, precision)} is {gap.days} days{hours} "
        f"{anchor}, more than the {FAR_OFF.days} days an event may lie outside it; check the "
        "date (a later follow-up may be right)"
    )


# --- Milestones the provider does not state ----------------------------------------------
#
# Every milestone a source states is marked by its event, so an unknown milestone is one the
# provider never stated. The timeline may still hold events near it, often reported by others
# (a customer's monitoring, a news report). Pages, the Markdown download and the API say the
# milestone is not stated and point at the nearest such event, never putting its time in the
# milestone's place: others may notice before or after the provider did. Only the time to
# resolve takes a number from it, as a lower bound: the incident was not over before its last
# recovery step. Incident.milestone_facts() and duration_facts() are the rule, written once.

# milestone -> (the kind of event, whether the first or the last of that kind, what it is)
NEAREST_EVENTS = {
    "started_at": ("trigger", "first", "first trigger in the timeline"),
    "detected_at": ("detection", "first", "first detection in the timeline"),
    "mitigated_at": ("mitigation", "first", "first mitigation step in the timeline"),
    "resolved_at": ("recovery", "last", "last recovery step in the timeline"),
}


@dataclass(frozen=True)
class TimelinePointer:
    """The timeline event nearest a milestone its provider does not state."""

    what: str  # "first detection in the timeline"
    event: object  # the TimelineEvent
    when: str  # its time in words, in the incident's zone (outages.text.moment_text)
    machine: str  # the same for <time datetime="…"> (outages.text.machine_text)
    by: str  # the publisher of its source, or ""

    @property
    def words(self):
        """“first detection in the timeline: 24 Dec 2012, 5:00 PM PST, according to Heroku
        Status”."""
        by = f", according to {self.by}" if self.by else ""
        return f"{self.what}: {self.when}{by}"


@dataclass(frozen=True)
class MilestoneFact:
    """One milestone as every page, download and API writes it."""

    name: str  # "detected_at"
    label: str  # "detected at"
    moment: datetime | None
    precision: str
    unstated: str = ""  # "not stated by Amazon Web Services", when not known
    pointer: TimelinePointer | None = None

    @property
    def words(self):
        """An unknown milestone in words: “not stated by Amazon Web Services · first detection
        in the timeline: 24 Dec 2012, 5:00 PM PST, according to Heroku Status”; "" when it is
        known."""
        if self.moment is not None:
            return ""
        return f"{self.unstated} · {self.pointer.words}" if self.pointer else self.unstated


@reversion.register(follow=["events", "impacts", "action_items", "corrections"])
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
        events as already loaded (incident.events.all() of queries.full_incidents())."""
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


@reversion.register()
class TimelineEvent(IncidentChild):
    Precision = Precision  # also reachable as TimelineEvent.Precision, as before

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
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M} UTC"


class CustomerImpactQuerySet(models.QuerySet):
    def hits(self):
        """The one rule for "this customer was hit": every level in HIT_LEVELS."""
        return self.filter(level__in=CustomerImpact.HIT_LEVELS)


class CustomerImpactManager(models.Manager.from_queryset(CustomerImpactQuerySet)):
    def get_by_natural_key(self, incident_slug, customer_slug):
        return self.get(incident__slug=incident_slug, customer__slug=customer_slug)


@reversion.register()
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

    def __str__(self):
        return f"{self.customer} in {self.incident}"

    def natural_key(self):
        return (self.incident.slug, self.customer.slug)

    natural_key.dependencies = ["outages.incident", "outages.customer"]

    @property
    def was_hit(self):
        """The rule of CustomerImpactQuerySet.hits(), for a row already loaded."""
        return self.level in self.HIT_LEVELS

    def clean(self):
        super().clean()
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            raise ValidationError({"ended_at": "The impact cannot end before it started."})


@reversion.register()
class ActionItem(IncidentChild):
    class Kind(models.TextChoices):
        PREVENT = "prevent", "Prevent"
        MITIGATE = "mitigate", "Mitigate"
        DETECT = "detect", "Detect"
        PROCESS = "process", "Process"

    class Status(models.TextChoices):
        DONE = "done", "Done"
        PLANNED = "planned", "Planned"
        UNKNOWN = "unknown", "Unknown"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_items")
    description = models.TextField("what was promised")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, help_text="As the provider stated it."
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


@reversion.register()
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

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "position"], name="correction_position_unique"
            )
        ]

    def __str__(self):
        return self.claim[:60]


# --- Search ------------------------------------------------------------------------------------


class SearchDocument(models.Model):
    """The plain text search reads for one incident, gathered from it and its rows.

    Written only by outages.search.update_index(). On PostgreSQL `vector` holds the weighted
    tsvector (GIN-indexed by migration 0002); on SQLite an FTS5 table mirrors these columns.
    """

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    title = models.TextField()
    summary = models.TextField(blank=True)
    sections = models.TextField(blank=True)
    timeline = models.TextField(blank=True)
    names = models.TextField(blank=True, help_text="Provider, services, regions and customers.")
    sources = models.TextField(blank=True)
    vector = SearchVectorField(null=True, editable=False)

    def __str__(self):
        return self.title
