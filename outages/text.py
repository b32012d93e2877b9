"""Dates, times, durations, counts and names as words: the one way every page, feed, API,
statistic and download writes them. Pure functions, no models.

A time comes with its zone name and its precision (models.Precision's values). A time known only
to the day, month or year is stored as the first minute of that period in the incident's zone and
is written as the period ("19 Jan 2017", "January 2017", "2017"), never with an invented clock
time. A zone of "unstated" means the source gave none: the stored value is the wall-clock time
the source wrote, held as if it were UTC, and is written as written, with ZONE_UNSTATED_WORDS.
"""

import calendar
import re
import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

# The time zone value of an incident whose sources state no zone (models.ZONE_UNSTATED).
ZONE_UNSTATED = "unstated"
ZONE_UNSTATED_WORDS = "zone not stated by the source"
# The one spelling of an approximate time, everywhere.
ABOUT = "about"
NOT_KNOWN = "not known"
# How a UTC column names a time known only to the day, month or year.
PERIOD_WORDS = {"date": "date only", "month": "month only", "year": "year only"}
# Precisions whose clock time is known: a duration between two of them is exact.
CLOCK_PRECISIONS = ("minute", "approximate", "hour")
# How much longer than the shortest the longest a duration's bounds may be and still be worth
# writing: "between 2 and 3 days" or "between 1 and 3 days" says something, "between 0 and 1
# day" or "between 5 and 65 days" does not, and is left out.
MAX_BOUNDS_RATIO = 3


# Characters no editor types on purpose and no page, feed or database should carry: C0 controls
# other than tab, line feed and carriage return, DEL, C1 controls, lone surrogates, U+FFFE/FFFF.
# PostgreSQL refuses NUL outright; the others break XML feeds and exports. Every write path
# refuses them (models.TextChecked; documents and fixtures name the line as well).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def control_character_problem(value):
    """Why `value` cannot be stored, naming the first control character and where; "" if it
    can."""
    found = CONTROL_CHARACTERS.search(value)
    if found is None:
        return ""
    return (
        f"holds the control character U+{ord(found.group()):04X} at character "
        f"{found.start() + 1}; remove it"
    )


def zone_of(name):
    """The ZoneInfo of an IANA name; UTC for the unstated zone (times held as written) or for a
    name that is not a zone."""
    if not name or name == ZONE_UNSTATED:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return UTC


def local_time(moment, zone_name):
    """The moment in its zone; in UTC when the zone would take it past year 1 or 9999, where
    Python's dates end (such a time is refused on entry, but must not break a page)."""
    try:
        return moment.astimezone(zone_of(zone_name))
    except OverflowError:
        return moment.astimezone(UTC)


def shifted(moment, delta):
    """`moment` + `delta`, held at the first or last moment Python's datetime can hold, so that
    arithmetic on an absurd stored date (year 1, year 9999) cannot break a page."""
    try:
        return moment + delta
    except OverflowError:
        edge = datetime.max if delta.total_seconds() > 0 else datetime.min
        return edge.replace(tzinfo=moment.tzinfo)


def is_unstated(zone_name):
    return zone_name == ZONE_UNSTATED


# IANA names of UTC itself: an incident in one of them has its times in UTC already, and says so
# once ("10:00 AM UTC"), not twice ("10:00 AM UTC · 10:00 UTC").
UTC_NAMES = ("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu")


def is_utc(zone_name):
    return zone_name in UTC_NAMES


def zone_note(zone_name):
    """The sentence at the top of an incident page saying in which zone its times are."""
    if is_unstated(zone_name):
        return (
            "Times are shown as the sources give them; the source does not state their zone, "
            "so they are not converted to UTC."
        )
    if is_utc(zone_name):
        return "Times are shown in UTC, as the sources stated them."
    return f"Times are shown as the sources stated them ({zone_name}) and in UTC."


def when_heading(zone_name):
    """The heading of a column of times: “When (America/Los_Angeles · UTC)”, “When (UTC)”."""
    if is_unstated(zone_name):
        return f"When (as the source gives it, {ZONE_UNSTATED_WORDS})"
    if is_utc(zone_name):
        return "When (UTC)"
    return f"When ({zone_name} · UTC)"


def hover_note(zone_name):
    """What hovering a mark of a drawn timeline shows."""
    if is_unstated(zone_name) or is_utc(zone_name):
        return "hover or focus it to see its time as the source stated it."
    return "hover or focus it to see its time in UTC and as the source stated it."


def coarse_milestones_note(names, with_events=True):
    """Why an incident is not drawn to scale: `names` (“start”, “resolution”) are known only to
    the day or more coarsely, and a drawing would give them clock times no source states."""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    one = len(names) == 1
    where = (
        "milestones above and the timeline below give" if with_events else "milestones above give"
    )
    return (
        f"Not drawn: the {listed} {'is' if one else 'are'} known only to the day or more "
        f"coarsely, and a drawing to scale would place {'it' if one else 'them'} at clock times "
        f"no source states. The {where} each time as precisely as it is known."
    )


def zone_words(zone_name):
    """The zone as pages name it: the IANA name, or that the source states none."""
    return ZONE_UNSTATED_WORDS if is_unstated(zone_name) else zone_name


def has_clock(precision):
    return precision in CLOCK_PRECISIONS


def short_date(moment):
    return f"{moment.day} {moment:%b %Y}"


def clock(moment, precision="minute"):
    """“12:24 PM”, “about 12:24 PM”, or “5 PM” for a time known to the hour."""
    if precision == "hour":
        return moment.strftime("%I %p").lstrip("0")
    text = moment.strftime("%I:%M %p").lstrip("0")
    return f"{ABOUT} {text}" if precision == "approximate" else text


def period(local, precision):
    """A time known only to the day, month or year, as that period: “19 Jan 2017”, “January
    2017”, “2017”; None for a time with a clock."""
    if precision == "year":
        return str(local.year)
    if precision == "month":
        return f"{local:%B %Y}"
    if precision == "date":
        return short_date(local)
    return None


def moment_text(moment, zone_name="UTC", precision="minute", with_date=True):
    """A time as the source stated it, in its zone: “24 Dec 2012, 12:24 PM PST”, “about 12:24
    PM PST”, “19 Jan 2017”; “23 Sep 2016, 5:21 PM (zone not stated by the source)”. None when
    not known."""
    if moment is None:
        return None
    local = local_time(moment, zone_name)
    coarse = period(local, precision)
    if coarse:
        return coarse
    text = f"{short_date(local)}, " if with_date else ""
    text += clock(local, precision)
    if is_unstated(zone_name):
        return f"{text} ({ZONE_UNSTATED_WORDS})"
    return f"{text} {local.tzname()}"


def day_text(moment, zone_name="UTC", precision="minute"):
    """The day a time falls on in its zone, “19 Jan 2017”, or its month or year when only that
    is known; None when not known. For lists of incidents."""
    if moment is None:
        return None
    local = local_time(moment, zone_name)
    return period(local, precision if precision in ("month", "year") else "date")


def utc_beside(moment, zone_name="UTC", precision="minute", with_date=True, local_date=None):
    """utc_text() to write beside the time in its own zone: None when that zone is UTC itself,
    as the time would be said twice."""
    if is_utc(zone_name):
        return None
    return utc_text(moment, zone_name, precision, with_date, local_date)


def utc_text(moment, zone_name="UTC", precision="minute", with_date=True, local_date=None):
    """The same time in UTC, “20:24 UTC” (with the UTC date where it differs from `local_date`,
    or always when `with_date` and no local date is given); None where UTC would be invented:
    a time known only to the day or coarser, or one whose zone is not stated."""
    if moment is None or not has_clock(precision) or is_unstated(zone_name):
        return None
    utc = moment.astimezone(UTC)
    approx = f"{ABOUT} " if precision == "approximate" else ""
    hour = precision == "hour"
    text = f"{approx}{utc:%H}:00 UTC" if hour else f"{approx}{utc:%H:%M} UTC"
    if with_date and (local_date is None or utc.date() != local_date):
        return f"{utc.day} {utc:%b}{' ' + str(utc.year) if local_date is None else ''}, {text}"
    return text


def utc_stamp(moment, precision="minute"):
    """“2012-12-24 20:24”, “about 2012-12-24 20:24”, “2012-12-24 20:00” (hour): the UTC
    column of tables and feeds, for a time whose clock is known in a stated zone (utc_text
    says where it is not)."""
    utc = moment.astimezone(UTC)
    about = f"{ABOUT} " if precision == "approximate" else ""
    clock = f"{utc:%H}:00" if precision == "hour" else f"{utc:%H:%M}"
    return f"{about}{utc:%Y-%m-%d} {clock}"


def utc_column(moment, zone_name, precision="minute"):
    """A time in a UTC column beside its as-stated column: “2012-12-24 20:24”; the period the
    source stated, “2017-01-19 (date only)”, for a time known only that far; “not known (zone
    not stated by the source)” where converting would invent the zone."""
    if moment is None:
        return NOT_KNOWN
    if precision in PERIOD_WORDS:
        return f"{machine_text(moment, zone_name, precision)} ({PERIOD_WORDS[precision]})"
    if is_unstated(zone_name):
        return f"{NOT_KNOWN} ({ZONE_UNSTATED_WORDS})"
    return utc_stamp(moment, precision)


def utc_or_stated(moment, zone_name="UTC", precision="minute"):
    """A time on a line of its own: “2012-12-24 20:24 UTC”, or as the source stated it where
    UTC would be invented (a time known only to the day or more coarsely, or in an unstated
    zone)."""
    if utc_text(moment, zone_name, precision) is None:
        return moment_text(moment, zone_name, precision)
    return f"{utc_stamp(moment, precision)} UTC"


def utc_day(moment):
    """“24 Dec”: the UTC day, for a drawing's axis and labels."""
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b}"


def utc_clock(moment):
    """“20:24”: the UTC clock time, for a drawing's axis and labels."""
    return f"{moment.astimezone(UTC):%H:%M}"


def axis_zone(zone_name):
    """What a drawing's clock times are: UTC, or the sources' own clock times when they state
    no zone (stored as if UTC, so the same drawing serves; only the words change)."""
    return "(zone not stated)" if is_unstated(zone_name) else "UTC"


def utc_between(start, end, zone_name="UTC"):
    """“20:24–23:10 UTC”, with the days when the two fall on different ones."""
    zone = axis_zone(zone_name)
    if start.astimezone(UTC).date() == end.astimezone(UTC).date():
        return f"{utc_clock(start)}–{utc_clock(end)} {zone}"
    return f"{utc_day(start)} {utc_clock(start)} – {utc_day(end)} {utc_clock(end)} {zone}"


def drawn_time(moment, precision="minute", zone_name="UTC"):
    """A time as a drawing's axis reads it: “24 Dec 2012, 20:24 UTC”; the period alone for a
    time known only to the day or more coarsely; as written when the source states no zone."""
    if is_unstated(zone_name):
        return moment_text(moment, zone_name, precision)
    return utc_text(moment, "UTC", precision) or moment_text(moment, "UTC", precision)


def calendar_day(value):
    """“19 Jan 2017”: a date, or the UTC day of a time (when something was published)."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return short_date(value)


def calendar_minute(moment):
    """“19 Jan 2017, 20:24 UTC”: a time of the site's own, such as a change, in UTC."""
    utc = moment.astimezone(UTC)
    return f"{short_date(utc)}, {utc:%H:%M} UTC"


class Said(NamedTuple):
    """A time as a page shows it: for <time datetime>, in words, and in UTC beside (or None)."""

    machine: str
    words: str
    utc: str | None = None


def when_said(moment, zone_name="UTC", precision="minute", with_date=True):
    """A time in its zone with UTC beside it, or None when not known. UTC is left out where it
    would be invented or said twice (utc_beside)."""
    if moment is None:
        return None
    local_date = local_time(moment, zone_name).date() if with_date else None
    return Said(
        machine_text(moment, zone_name, precision),
        moment_text(moment, zone_name, precision, with_date),
        utc_beside(moment, zone_name, precision, with_date, local_date),
    )


def day_said(moment, zone_name="UTC", precision="minute"):
    """The day a time falls on in its zone, or its month or year when only that is known;
    None when not known. For lists of incidents."""
    if moment is None:
        return None
    coarse = precision if precision in ("month", "year") else "date"
    return Said(machine_text(moment, zone_name, coarse), day_text(moment, zone_name, precision))


def machine_text(moment, zone_name="UTC", precision="minute"):
    """The time for a <time datetime="…"> attribute and for data: UTC with a “Z” when the zone
    is known; the period (2017-01-19, 2017-01, 2017) when only that is known; the local time
    without an offset (2016-09-23T17:21) when the zone is not stated."""
    if moment is None:
        return None
    local = local_time(moment, zone_name)
    if precision == "year":
        return f"{local:%Y}"
    if precision == "month":
        return f"{local:%Y-%m}"
    if precision == "date":
        return local.date().isoformat()
    if is_unstated(zone_name):
        return local.replace(tzinfo=None).isoformat(timespec="minutes")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def document_text(moment, zone_name="UTC", precision="minute"):
    """The time as an incident document writes it, so that importing it gives it back: with
    its offset (2012-12-24T12:24:00-08:00), as written when the zone is not stated
    (2016-09-23T17:21:00), or as the period when only that is known (2017-01-19, 2017-01,
    2017)."""
    if moment is None:
        return None
    if precision in ("date", "month", "year"):
        return machine_text(moment, zone_name, precision)
    local = local_time(moment, zone_name)
    if is_unstated(zone_name):
        return local.replace(tzinfo=None).isoformat()
    return local.isoformat()


# --- Durations --------------------------------------------------------------------------------


def duration_text(delta, seconds=False):
    """A timedelta as “23 h 41 min” or “3 d 17 h”; empty when unknown. With `seconds`, one
    under ten minutes keeps them, “1 min 16 s”, as a histogram's bin edges need."""
    if delta is None:
        return ""
    whole = int(delta.total_seconds())
    if seconds and whole < 600 and whole % 60:
        return f"{whole // 60} min {whole % 60} s" if whole >= 60 else f"{whole} s"
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def period_end(moment, precision, zone_name="UTC"):
    """The end of the period a time stands for: the next day, month or year in its zone; the
    time itself for a time with a clock (an hour is written as exact, see CLOCK_PRECISIONS);
    None past the last year Python can hold."""
    if has_clock(precision):
        return moment
    zone = zone_of(zone_name)
    local = local_time(moment, zone_name).replace(tzinfo=None)
    try:
        if precision == "year":
            local = datetime(local.year + 1, 1, 1)
        elif precision == "month":
            days = calendar.monthrange(local.year, local.month)[1]
            local = datetime(local.year, local.month, 1) + timedelta(days=days)
        else:
            local = datetime(local.year, local.month, local.day) + timedelta(days=1)
        return local.replace(tzinfo=zone).astimezone(UTC)
    except (OverflowError, ValueError):  # past year 9999: the period has no end to write
        return None


def duration_bounds(start, start_precision, end, end_precision, zone_name="UTC"):
    """(shortest, longest) a duration can be, given how exactly each end is known; None when an
    end is not known. Both are the same when both ends have a clock time."""
    if start is None or end is None:
        return None
    if has_clock(start_precision) and has_clock(end_precision):
        return end - start, end - start
    start_late = period_end(start, start_precision, zone_name)
    end_late = period_end(end, end_precision, zone_name)
    if start_late is None or end_late is None:
        return None
    shortest = max(end - start_late, timedelta(0))
    return shortest, end_late - start


def bounds_text(bounds):
    """Words for duration_bounds(): the exact duration, “between 2 and 3 days”, or None when
    not known or too loose to mean anything (the longest more than MAX_BOUNDS_RATIO times the
    shortest, or the shortest nothing at all)."""
    if bounds is None:
        return None
    shortest, longest = bounds
    if shortest == longest:
        return duration_text(shortest)
    if not shortest or longest > shortest * MAX_BOUNDS_RATIO:
        return None
    day = timedelta(days=1)
    if shortest % day == timedelta(0) and longest % day == timedelta(0):
        return f"between {shortest // day} and {longest // day} days"
    return f"between {duration_text(shortest)} and {duration_text(longest)}"


def duration_words(start, start_precision, end, end_precision, zone_name="UTC"):
    """A duration between two times in words, as precise as its ends allow; None when not known
    or too loose (bounds_text)."""
    bounds = duration_bounds(start, start_precision, end, end_precision, zone_name)
    return bounds_text(bounds)


def at_least_text(shortest, exact=True):
    """A lower bound on a duration in words: “at least 3 d 11 h”, or in whole days, “at least 2
    days”, when an end is known only to the day or more coarsely (hours would be invented);
    None when the bound is nothing."""
    if shortest is None:
        return None
    if not exact:
        days = shortest // timedelta(days=1)
        return f"at least {days} day{'' if days == 1 else 's'}" if days > 0 else None
    return f"at least {duration_text(shortest)}" if shortest >= timedelta(minutes=1) else None


# --- Names and counts -------------------------------------------------------------------------


def counted(number, noun):
    """“1 incident”, “3 incidents”."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def incidents_of(kind, entity):
    """What a page's strip and feed carry, in words: “AWS incidents”, “AWS ELB incidents”,
    “AWS us-east-1 incidents”, “Incidents that hit Netflix”. `kind` is provider, service,
    region or customer; `entity` has its name (and a service or region its provider)."""
    if kind == "provider":
        return f"{entity.name} incidents"
    if kind == "service":
        return f"{entity.provider.name} {entity.name} incidents"
    if kind == "region":
        return f"{entity.provider.name} {entity.code} incidents"
    return f"Incidents that hit {entity.name}"


class Few(NamedTuple):
    shown: list
    more: int  # how many are left out


def first_few(items, limit):
    """The first `limit` of `items` and how many more there are, for “A, B and 3 more”."""
    items = list(items)
    return Few(items[:limit], max(len(items) - limit, 0))
