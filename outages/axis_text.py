"""Times as the drawn timeline writes them: on its axis and beside its marks, in the source's
zone first (where the headline times are) with UTC beneath. Pure functions, no models; the
words themselves (clock times, dates, "about") come from outages.text.
"""

from outages import text


def has_utc_row(zone_name):
    """Whether the axis gets a UTC row under the zone's: not when the zone is UTC itself (it
    would say the same twice), nor when the source states no zone (UTC would be invented)."""
    return not (text.is_utc(zone_name) or text.is_unstated(zone_name))


def zone_clock(moment, zone_name):
    """A tick's clock time in the zone: “6 PM”, “6:30 PM”."""
    local = text.local_time(moment, zone_name)
    return text.clock(local, "hour" if local.minute == 0 else "minute")


def zone_day(moment, zone_name):
    """A tick's day in the zone: “24 Dec”."""
    local = text.local_time(moment, zone_name)
    return f"{local.day} {local:%b}"


def zone_year(moment, zone_name):
    return str(text.local_time(moment, zone_name).year)


def zone_abbreviation(moments, zone_name):
    """What the zone row of an axis is: “PST”, “PST/PDT” across a change of clocks, “UTC”, or
    that the source states no zone."""
    if text.is_unstated(zone_name):
        return text.axis_zone(zone_name)
    names = dict.fromkeys(text.local_time(moment, zone_name).tzname() for moment in moments)
    return "/".join(names) or zone_name


def mark_time(moment, zone_name, precision, dated=False):
    """The time beside a mark, in the zone: “12:24 PM”, “about 12:30 PM”; its day, “30 Dec”,
    for a mark drawn out of scale (`dated`) or a time known only to the day; the period for
    one known only to the month or year."""
    local = text.local_time(moment, zone_name)
    if precision in ("month", "year"):
        return text.period(local, precision)
    if dated or not text.has_clock(precision):
        return zone_day(moment, zone_name)
    return text.clock(local, precision)


def margin_day(moment, zone_name, precision, in_utc=False):
    """The date of a far-off event, under the axis's break: “30 Dec 2012” in the zone, or in
    UTC on the UTC row; a time known only to the day keeps the source's date on both rows."""
    if in_utc and text.has_clock(precision):
        return text.calendar_day(moment)
    return text.day_text(moment, zone_name, precision)


def axis_note(zone_name):
    """What the times on a drawn timeline's axis are."""
    if text.is_unstated(zone_name):
        return (
            f"Times on the axis are the sources' own clock times ({text.ZONE_UNSTATED_WORDS}), "
            "not converted."
        )
    if not has_utc_row(zone_name):
        return "Times on the axis and beside the marks are UTC."
    return (
        f"Times on the axis and beside the marks are in the sources' zone ({zone_name}), "
        "with UTC on the row beneath."
    )
