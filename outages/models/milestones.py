"""An incident's milestones (start, detection, mitigation, resolution): how they agree with the
timeline events that mark them, and what pages say when the provider states none."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.db import models

from outages import text
from outages.models.base import Precision, message_day

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


class Milestone(models.TextChoices):
    """What a timeline event may mark: `<value>_at` is the incident's field it states."""

    STARTED = "started", "Start"
    DETECTED = "detected", "Detection"
    MITIGATED = "mitigated", "Mitigation"
    RESOLVED = "resolved", "Resolution"


def message_time(moment):
    """“24 Dec 2012 20:24 UTC”, for messages."""
    return f"{message_day(moment)} {moment.astimezone(UTC):%H:%M} UTC"


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


def milestones_from_new_events(incident, marked, events):
    """Events added to a stored incident (a merge) may mark milestones: one the incident lacks
    is filled from its event when that keeps the milestones in order (a synced incident first
    read while it went on, since resolved); any other mark is dropped, since the incident's own
    milestones stand. `marked`: the marks its events hold. Returns the names of those filled."""
    filled = []
    for event in events:
        name = f"{event.marks}_at"
        if not event.marks or event.marks in marked or getattr(incident, name) is not None:
            event.marks = ""
            continue
        at = MILESTONES.index(name)
        times = [getattr(incident, other) for other in MILESTONES]
        if any(t and t > event.occurred_at for t in times[:at]) or any(
            t and t < event.occurred_at for t in times[at + 1 :]
        ):
            event.marks = ""
            continue
        derive_milestones(incident, [(event.marks, event.occurred_at, event.precision)])
        marked.add(event.marks)
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
    # By name: Incident's module imports this one.
    field = apps.get_model("outages", "Incident")._meta.get_field(name)
    label = field.verbose_name.capitalize()
    says = f"says {message_time(stated)}" if stated else "is empty"
    return f"This event marks the {noun} at {message_time(occurred_at)}, but {label} {says}"


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
