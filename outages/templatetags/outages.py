"""Small template helpers: times in the source's zone beside UTC, and durations in words."""

import zoneinfo

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

UTC = zoneinfo.ZoneInfo("UTC")


def _zone(name):
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return UTC


def _clock(moment):
    return moment.strftime("%I:%M %p").lstrip("0")


@register.simple_tag
def when(moment, zone_name="UTC", precision="minute", with_date=True):
    """“24 Dec 2012, 12:24 PM PST · 20:24 UTC” inside a <time> element.

    Date-only times show just the date: a clock time would be invented precision.
    """
    if moment is None:
        return mark_safe('<span class="unknown">unknown</span>')
    local = moment.astimezone(_zone(zone_name))
    utc = moment.astimezone(UTC)
    date = f"{local.day} {local:%b %Y}"
    if precision == "date":
        return format_html('<time datetime="{}">{}</time>', local.date().isoformat(), date)
    approx = "~" if precision == "approximate" else ""
    local_text = f"{date}, " if with_date else ""
    local_text += f"{approx}{_clock(local)} {local.tzname()}"
    utc_text = f"{utc:%H:%M} UTC"
    if utc.date() != local.date() or not with_date:
        utc_text = f"{utc.day} {utc:%b}, {utc_text}" if with_date else utc_text
    return format_html(
        '<time datetime="{}">{}</time> <span class="utc">· {}</span>',
        utc.isoformat().replace("+00:00", "Z"),
        local_text,
        utc_text,
    )


@register.filter
def duration(delta):
    """A timedelta as “23 h 41 min” or “3 d 17 h”; empty when unknown."""
    if delta is None:
        return ""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
