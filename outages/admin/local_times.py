"""Times typed in the incident's own zone: the form field and widget for them, and the reading
of a wall-clock time in a zone, with the hour that happens twice and the hour that never happens
when clocks change said plainly at the field.

Sources state their times in their zone ("12:24 PM PST"), so editors type them that way; the
database holds UTC. The widget writes the stored instant back in the zone, with the zone's
abbreviation and the UTC time beside it, and has no calendar or "Today"/"Now" shortcuts: the
times are of past incidents, typed from a source.
"""

import re
from datetime import UTC, datetime, timedelta, timezone

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from outages import text
from outages.models import validate_time_zone

# The time box takes "12:24", "12:24:30", "12:24 PM", optionally followed by the zone's
# abbreviation ("01:30 PDT", needed in the hour clocks go back), UTC, or an offset ("-08:00").
CLOCK_FORMATS = ["%H:%M", "%H:%M:%S", "%H:%M:%S.%f", "%I:%M %p", "%I:%M:%S %p"]
AFTER_CLOCK = re.compile(r"^(?P<clock>.*?)(?:\s*(?P<zone>[A-Za-z]{1,6}|[+-]\d{2}:?\d{2}))?$")
OFFSET = re.compile(r"^(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2})$")
UTC_WORDS = ("UTC", "GMT", "Z")

# Said under every such field, after its own help.
ZONE_HELP = (
    "In the incident's time zone; in the hour clocks go back, add which (01:30 PDT). A time the "
    "source gives in UTC may be typed as 20:24 UTC."
)


def submitted_zone(data, key="time_zone"):
    """The zone name posted with a form, or None when it is missing or not a zone."""
    name = (data.get(key) or "").strip()
    try:
        validate_time_zone(name)
    except ValidationError:
        return None
    return name if name else None


def read_clock(typed):
    """(time, zone word) of what was typed in the time box; ValidationError if it is no time."""
    found = AFTER_CLOCK.match(typed.strip())
    clock, zone = found["clock"], found["zone"] or ""
    if zone.upper() in ("AM", "PM"):  # "12:24 PM" is a clock, not a zone
        clock, zone = f"{clock} {zone}", ""
    for layout in CLOCK_FORMATS:
        try:
            return datetime.strptime(clock.strip().upper(), layout).time(), zone
        except ValueError:
            continue
    raise ValidationError("Enter a time such as 12:24, 12:24 PM or 01:30 PDT.", code="invalid_time")


def in_zone(naive, zone_name, said=""):
    """The UTC instant of a wall-clock time in the zone `zone_name`. `said` is what the editor
    typed after the clock, if anything: the zone's abbreviation, UTC, or an offset. Refuses, in
    words, a time the zone skipped or lived twice (and a zone word that does not fit)."""
    if text.is_unstated(zone_name):
        if said:
            raise ValidationError(
                "This incident's sources state no zone, so its times are kept as written: "
                "leave out the zone after the time.",
                code="zone_word",
            )
        return naive.replace(tzinfo=UTC)
    if said.upper() in UTC_WORDS:
        return naive.replace(tzinfo=UTC)
    offset = OFFSET.match(said)
    if offset:
        delta = timedelta(hours=int(offset["hours"]), minutes=int(offset["minutes"]))
        sign = -1 if offset["sign"] == "-" else 1
        return naive.replace(tzinfo=timezone(sign * delta)).astimezone(UTC)
    zone = text.zone_of(zone_name)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    when = f"{text.clock(naive)} on {text.short_date(naive)}"
    if not exists(first, naive):
        after = first.astimezone(UTC).astimezone(zone)
        raise ValidationError(
            f"{when} did not happen in {zone_name}: clocks jumped from {first.tzname()} to "
            f"{second.tzname()} at that hour. Check the time (that instant is "
            f"{typed_clock(after)} {after.tzname()}).",
            code="skipped_time",
        )
    if said:
        for candidate in (first, second):
            if candidate.tzname().upper() == said.upper():
                return candidate.astimezone(UTC)
        raise ValidationError(
            f"“{said}” is not what {zone_name} was called at that time ({named(first, second)})."
            " Write that, or UTC, or leave it out.",
            code="zone_word",
        )
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    choices = " or ".join(
        f"{typed_clock(naive)} {moment.tzname()} (the {order}, "
        f"{text.utc_text(moment, zone_name, with_date=False)})"
        for moment, order in ((first, "first"), (second, "second"))
    )
    raise ValidationError(
        f"{when} happened twice in {zone_name}, as clocks went back from {first.tzname()} to "
        f"{second.tzname()}. Say which: {choices}.",
        code="ambiguous_time",
    )


def exists(moment, naive):
    """Whether the wall-clock time `naive` is a real time of `moment`'s zone (not skipped)."""
    return moment.astimezone(UTC).astimezone(moment.tzinfo).replace(tzinfo=None) == naive


def named(first, second):
    return " or ".join(dict.fromkeys([first.tzname(), second.tzname()]))


def typed_clock(moment):
    """A time as the time box shows it and takes it back: “12:24”, “12:24:30”."""
    if moment.microsecond:
        return moment.time().isoformat(timespec="microseconds")
    return moment.time().isoformat(timespec="seconds" if moment.second else "minutes")


def twice(local):
    """Whether a local time is one of the hour clocks lived twice (it needs its abbreviation)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


class LocalDateTimeWidget(forms.MultiWidget):
    """A date box and a time box in the incident's zone, with the zone and UTC beside; no
    calendar, no shortcuts."""

    supports_microseconds = True  # a stored time is shown exactly, so an unchanged save is one

    def __init__(self, attrs=None):
        date = forms.TextInput(attrs={"size": 10, "placeholder": "YYYY-MM-DD"})
        clock = forms.TextInput(attrs={"size": 10, "placeholder": "HH:MM"})
        super().__init__([date, clock], attrs)
        self.zone_name = None
        self.read_as = None  # the instant the submitted boxes were read as, once cleaned

    def decompress(self, value):
        if not value:
            return [None, None]
        local = self.local(value)
        clock = typed_clock(local)
        if not text.is_unstated(self.zone_name) and twice(local):
            clock = f"{clock} {local.tzname()}"
        return [local.date().isoformat(), clock]

    def local(self, value):
        return text.local_time(value, self.zone_name or "UTC")

    def render(self, name, value, attrs=None, renderer=None):
        context = self.get_context(name, value, attrs)
        parts = context["widget"]["subwidgets"]
        date, clock = (
            self._render(part["template_name"], {"widget": part}, renderer) for part in parts
        )
        date_id, clock_id = (part["attrs"].get("id", "") for part in parts)
        moment = value if isinstance(value, datetime) else self.read_as
        return format_html(
            '<span class="local-datetime"><label for="{}">Date</label> {} '
            '<label for="{}">Time</label> {} <span class="zone-beside">{}</span></span>',
            date_id,
            date,
            clock_id,
            clock,
            self.beside(moment),
        )

    def beside(self, moment):
        """“PST · 24 Dec 2012, 20:24 UTC”: the zone the boxes are in and the stored instant."""
        zone = self.zone_name
        if zone is None:
            return "in the time zone above"
        if text.is_unstated(zone):
            return f"as written ({text.ZONE_UNSTATED_WORDS})"
        if moment is None:
            return f"in {zone}"
        local = self.local(moment)
        utc = text.utc_beside(moment, zone, local_date=local.date())
        return f"{local.tzname()} · {utc}" if utc else local.tzname()


class LocalDateTimeField(forms.MultiValueField):
    """A date and time typed in the zone `zone_name` (set by the form before it is cleaned),
    cleaned to the UTC instant. Changed means the instant changes: the same clock time read in
    a newly chosen zone is another instant, and is saved as one."""

    widget = LocalDateTimeWidget

    def __init__(self, **kwargs):
        kwargs.pop("widget", None)  # the admin's default (with shortcuts) never applies
        kwargs["help_text"] = " ".join(filter(None, [kwargs.get("help_text"), ZONE_HELP]))
        fields = (
            forms.DateField(error_messages={"invalid": "Enter a date such as 2012-12-24."}),
            forms.CharField(),
        )
        super().__init__(fields, widget=LocalDateTimeWidget, **kwargs)

    @property
    def zone_name(self):
        return self.widget.zone_name

    @zone_name.setter
    def zone_name(self, name):
        self.widget.zone_name = name

    def compress(self, data_list):
        if not data_list or all(value in self.empty_values for value in data_list):
            return None
        day, typed = data_list
        if day in self.empty_values:
            raise ValidationError("Enter the date too.", code="invalid_date")
        if typed in self.empty_values:
            raise ValidationError(
                "Enter the time too (00:00 for a time known only to the day).",
                code="invalid_time",
            )
        clock, said = read_clock(typed)
        if self.zone_name is None:
            raise ValidationError(
                "The time zone above is not valid, so this time cannot be read; correct it.",
                code="no_zone",
            )
        try:
            return in_zone(datetime.combine(day, clock), self.zone_name, said)
        except (OverflowError, ValueError):
            # At the edges of the calendar Python keeps (year 1, year 9999), or an offset of a
            # day or more: no time of any incident.
            raise ValidationError(
                f"{day.isoformat()} {typed} is no time we can hold; check the year and the offset.",
                code="out_of_range",
            ) from None

    def clean(self, value):
        self.widget.read_as = None
        cleaned = super().clean(value)
        self.widget.read_as = cleaned
        return cleaned

    def has_changed(self, initial, data):
        if self.disabled:
            return False
        try:
            return self.clean(data) != initial
        except ValidationError:
            return True


def zoned(names):
    """For a ModelForm's Meta: the fields `names` as LocalDateTimeFields (field_classes)."""
    return {name: LocalDateTimeField for name in names}


def set_zone(form, zone_name):
    """Read and show every LocalDateTimeField of `form` in the zone `zone_name`."""
    for field in form.fields.values():
        if isinstance(field, LocalDateTimeField):
            field.zone_name = zone_name
