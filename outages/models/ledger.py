"""The promise ledger: each action item's history of states (what the provider, or a later
source, said about the promised fix, and when), the links from an action item to later incidents
that show whether it was kept, and the one set of rules every ledger page, feed, API answer and
statistic counts by.

The rules, each written once here:
- An action item's current status is the state of its latest history entry (the last by
  position); with no entry it is “unknown”. `ActionItem.status` holds it, kept in step by
  derive_statuses(), which every write path calls.
- An action item without history (made before the ledger existed, or imported with a `status`
  alone) reads as one entry: that status, its date unknown, the item's own source
  (implicit_state()). The migration that added the ledger wrote exactly that entry.
- An item's outcome (`outcome_of()`): “recurred” when a published later incident is linked to it as
  a recurrence or as showing the promise was not kept; otherwise “kept” when it is done or a
  published later incident shows it kept; otherwise “abandoned”, “open” (promised or in
  progress) or “unknown”, by its current status. Kept means done as a source states it.
"""

from collections import Counter
from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from outages.models.base import Precision, validate_content_date
from outages.models.incidents import Incident, published_through
from outages.models.parts import ActionItem, IncidentChild
from outages.models.reference import Source
from outages.models.summaries import ActionItemCount
from outages.models.versioned import versioned

# How exactly a state's date is known: a day, a month or a year (stored as its first day).
DATE_PRECISIONS = [
    (Precision.DATE.value, "Day"),
    (Precision.MONTH.value, "Month"),
    (Precision.YEAR.value, "Year"),
]


class Outcome(models.TextChoices):
    """What the ledger says of a promised fix, in the order pages list them."""

    KEPT = "kept", "Kept (done, as a source states)"
    OPEN = "open", "Open (promised or in progress)"
    ABANDONED = "abandoned", "Abandoned"
    RECURRED = "recurred", "Recurred or not kept"
    UNKNOWN = "unknown", "Unknown"


def check_own_item(row):
    """A history entry or a link names an action item of its own incident."""
    if row.action_item_id and row.incident_id and row.action_item.incident_id != row.incident_id:
        raise ValidationError({"action_item": "Choose one of this incident's own action items."})


@versioned()
class ActionItemState(IncidentChild):
    """One entry of an action item's history: its state from a date on, as a source says."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_states")
    action_item = models.ForeignKey(
        ActionItem,
        on_delete=models.CASCADE,
        related_name="states",
        help_text="The action item of this incident whose state this is.",
    )
    state = models.CharField(max_length=20, choices=ActionItem.Status.choices)
    stated_on = models.DateField(
        "from",
        null=True,
        blank=True,
        validators=[validate_content_date],
        help_text="When the source says the item reached this state; empty when it does not "
        "say. A month or a year is entered as its first day.",
    )
    stated_on_precision = models.CharField(
        "date precision", max_length=20, choices=DATE_PRECISIONS, default=Precision.DATE
    )
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, related_name="action_states"
    )

    class Meta:
        ordering = ["position"]
        verbose_name = "action item state"
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "position"], name="action_state_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(stated_on__gte=date(1970, 1, 1)),
                name="action_state_stated_on_from_1970",
                violation_error_message="stated_on is before 1970; check the year.",
            ),
        ]

    def __str__(self):
        return f"{self.get_state_display()} ({self.date_text})"

    @property
    def date_written(self):
        """The date as precisely as it is known, as documents and the API write it: "2012",
        "2012-12" or "2012-12-29"; None when unknown."""
        if self.stated_on is None:
            return None
        if self.stated_on_precision == Precision.YEAR:
            return f"{self.stated_on.year:04d}"
        if self.stated_on_precision == Precision.MONTH:
            return f"{self.stated_on.year:04d}-{self.stated_on.month:02d}"
        return self.stated_on.isoformat()

    @property
    def date_text(self):
        """“Dec 2012”, “24 Dec 2012”, “2012” or “date unknown”."""
        if self.stated_on is None:
            return "date unknown"
        precision = self.stated_on_precision
        if precision == Precision.YEAR:
            return f"{self.stated_on.year}"
        if precision == Precision.MONTH:
            return f"{self.stated_on:%b} {self.stated_on.year}"
        return f"{self.stated_on.day} {self.stated_on:%b} {self.stated_on.year}"

    def clean(self):
        super().clean()
        check_own_item(self)
        if self.stated_on and self.stated_on_precision != Precision.DATE:
            first = self.stated_on.replace(day=1)
            if self.stated_on_precision == Precision.YEAR:
                first = first.replace(month=1)
            if self.stated_on != first:
                raise ValidationError(
                    {"stated_on": "A month or a year is entered as its first day."}
                )


@versioned()
class PromiseLink(IncidentChild):
    """An action item tied to a later incident that shows whether the promise was kept."""

    class Kind(models.TextChoices):
        RECURRED = "recurred", "The failure recurred"
        NOT_KEPT = "not-kept", "Shows the promise not kept"
        KEPT = "kept", "Shows the promise kept"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="promise_links")
    action_item = models.ForeignKey(
        ActionItem,
        on_delete=models.CASCADE,
        related_name="links",
        help_text="The action item of this incident that the later incident bears on.",
    )
    # PROTECT: an incident a link names cannot be deleted under another incident's feet (the
    # link is that incident's row, changed only in its revisions).
    later_incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="promise_links_in"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    note = models.CharField(
        max_length=300, help_text="In a sentence: how the later incident bears on the promise."
    )
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        related_name="promise_links",
        help_text="The source that establishes the link.",
    )

    class Meta:
        ordering = ["position"]
        verbose_name = "link to a later incident"
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "position"], name="promise_link_position_unique"
            ),
            models.UniqueConstraint(
                fields=["action_item", "later_incident"],
                name="promise_link_once_per_incident",
                violation_error_message="This action item is already linked to that incident.",
            ),
            models.CheckConstraint(
                condition=~Q(later_incident=models.F("incident")),
                name="promise_link_to_another_incident",
                violation_error_message="Link to a later incident, not to this one.",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.note[:60]}"

    def clean(self):
        super().clean()
        check_own_item(self)
        if self.later_incident_id and self.incident_id:
            if self.later_incident_id == self.incident_id:
                raise ValidationError({"later_incident": "Link to a later incident, not this one."})
            earlier, later = self.incident.started_at, self.later_incident.started_at
            if earlier and later and later <= earlier:
                raise ValidationError(
                    {"later_incident": "The linked incident must have started after this one."}
                )


# --- The rules ----------------------------------------------------------------------------


def derived_status(states):
    """The current status from an item's history entries (any order): the last by position's
    state, or unknown with none."""
    states = sorted(states, key=lambda entry: entry.position)
    return states[-1].state if states else ActionItem.Status.UNKNOWN


def implicit_state(item):
    """The one entry an item without history reads as: its status, date unknown, its source."""
    return ActionItemState(
        incident_id=item.incident_id,
        action_item=item,
        state=item.status,
        source=item.source,
        position=0,
    )


def history(item):
    """An item's entries in order (prefetched as `states`), or implicit_state() without any."""
    states = sorted(item.states.all(), key=lambda entry: entry.position)
    return states or [implicit_state(item)]


def derive_statuses(incident_pks):
    """Set each action item's status of these incidents from its history where it has one;
    returns the items changed. Called after every write of history entries (admin, import,
    fixtures), inside their revision, so the change is recorded with them."""
    changed = []
    items = ActionItem.objects.filter(incident_id__in=incident_pks, states__isnull=False)
    for item in items.distinct().prefetch_related("states"):
        status = derived_status(item.states.all())
        if item.status != status:
            item.status = status
            item.save(update_fields=["status"])
            changed.append(item)
    return changed


def status_disagreements(incident_pks):
    """(incident slug, item position, stored, derived) for each item whose status is not its
    history's, for loaders that write rows as they are."""
    items = ActionItem.objects.filter(incident_id__in=list(incident_pks), states__isnull=False)
    items = items.distinct().select_related("incident").prefetch_related("states")
    return [
        (item.incident.slug, item.position, item.status, status)
        for item in items.order_by("incident__slug", "position")
        for status in [derived_status(item.states.all())]
        if status != item.status
    ]


def took(states):
    """(start, end, unit, amount) from the first promise to the first “done” when both dates
    are known, in the finest unit both dates allow (days, months or years); None otherwise."""
    promised = next((s for s in states if s.state == ActionItem.Status.PLANNED), None)
    done = next((s for s in states if s.state == ActionItem.Status.DONE), None)
    if not (promised and done and promised.stated_on and done.stated_on):
        return None
    order = [Precision.DATE, Precision.MONTH, Precision.YEAR]
    unit = max(order.index(promised.stated_on_precision), order.index(done.stated_on_precision))
    start, end = promised.stated_on, done.stated_on
    if unit == 0:
        amount = (end - start).days
    elif unit == 1:
        amount = (end.year - start.year) * 12 + end.month - start.month
    else:
        amount = end.year - start.year
    return (start, end, ["day", "month", "year"][unit], amount)


def shown_links():
    """Links readers may see: both incidents published."""
    return PromiseLink.objects.filter(
        published_through("later_incident__"), published_through("incident__")
    )


def outcome_of(status, kinds):
    """The outcome rule (see the module's words): an item's current status and the kinds of its
    links that readers may see (shown_links)."""
    Kind, Status = PromiseLink.Kind, ActionItem.Status
    if {Kind.RECURRED, Kind.NOT_KEPT} & set(kinds):
        return Outcome.RECURRED
    if status == Status.DONE or Kind.KEPT in kinds:
        return Outcome.KEPT
    if status == Status.ABANDONED:
        return Outcome.ABANDONED
    if status in (Status.PLANNED, Status.IN_PROGRESS):
        return Outcome.OPEN
    return Outcome.UNKNOWN


def narrowed(provider=None, status=None, year=None, kept=False):
    """The ledger's filters, by provider, current status and year of the incident's start, on
    action items or (`kept`) on their kept counts (ActionItemCount), which hold them by those
    three; None leaves a filter out."""
    wanted = Q()
    if provider is not None:
        wanted &= Q(provider=provider) if kept else Q(incident__provider=provider)
    if status:
        wanted &= Q(status=status)
    if year:
        wanted &= Q(year=year) if kept else Q(incident__started_at__year=year)
    return wanted


def ledger_items(provider=None, status=None, year=None):
    """The promised fixes readers may see (their incident published), narrowed by provider,
    current status and year of the incident's start."""
    published = ActionItem.objects.filter(incident__in=Incident.objects.published())
    return published.filter(narrowed(provider, status, year))


def ledger_counts(provider=None, status=None, year=None):
    """{(year, outcome): count} of the fixes ledger_items() selects by the same filters, the
    year the incident's start's (None when unknown), in two queries: the fixes by year and
    status from their kept counts (ActionItemCount, which holds them by those filters' own
    key, so a few hundred rows at any size), then the few fixes with links readers may see,
    moved to their outcome."""
    counts = Counter()
    kept = ActionItemCount.objects.filter(narrowed(provider, status, year, kept=True))
    for year_of, status_of, count in kept.values_list("year", "status", "count"):
        counts[(year_of, outcome_of(status_of, ()))] += count
    items = ledger_items(provider, status, year)
    linked = (
        shown_links()
        .filter(action_item__in=items.values("pk"))
        .values_list(
            "action_item", "action_item__incident__started_at__year", "action_item__status", "kind"
        )
    )
    kinds, place = {}, {}
    for item, year_of, status_of, kind in linked.order_by():
        kinds.setdefault(item, set()).add(kind)
        place[item] = (year_of, status_of)
    for item, (year_of, status_of) in place.items():
        counts[(year_of, outcome_of(status_of, ()))] -= 1
        counts[(year_of, outcome_of(status_of, kinds[item]))] += 1
    return {key: count for key, count in counts.items() if count}
