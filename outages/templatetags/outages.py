"""Small template helpers: times in the source's zone beside UTC, durations in words, and the
feeds and JSON each page advertises."""

import zoneinfo

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ..moments import in_zone

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
    local = in_zone(moment, _zone(zone_name))
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


# For each page (by URL name): its feeds (Atom and RSS route prefix, and whether they take the
# page's own URL arguments) and its JSON twin (route, and whether it takes them). Pages not named
# here advertise the site-wide feed only.
ALTERNATES = {
    "home": ("incidents", False, "api_incidents", False),
    "incident_list": ("incidents", False, "api_incidents", False),
    "incident": ("incidents", False, "api_incident", True),
    "provider_list": ("incidents", False, "api_providers", False),
    "provider": ("provider", True, "api_provider", True),
    "service": ("service", True, "api_service", True),
    "region": ("region", True, "api_region", True),
    "customer_list": ("incidents", False, "api_customers", False),
    "customer": ("customer", True, "api_customer", True),
    # The incident list's API ANDs its filters and takes one value of each; a stack ORs many.
    "my_stack": ("stack", False, None, False),
}
# Pages whose query string (search, filters) means the same to their feeds and JSON.
KEEPS_QUERY = {"incident_list", "my_stack"}


def feed_title(name, context, filtered):
    """What the page's feed carries, in words (the feed classes title themselves the same way)."""
    if name in ("provider", "service", "region", "customer") and context.get(name):
        obj = context[name]
        return {
            "provider": lambda: f"{obj.name} incidents",
            "service": lambda: f"{obj.provider.name} {obj.name} incidents",
            "region": lambda: f"{obj.provider.name} {obj.code} incidents",
            "customer": lambda: f"Incidents that hit {obj.name}",
        }[name]()
    if name == "my_stack" and filtered:
        return "Incidents in your stack"
    return "These incidents" if filtered else "All incidents"


@register.simple_tag(takes_context=True)
def alternates(context):
    """URLs of this page's Atom feed, RSS feed and JSON, for <link rel="alternate"> and links."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match and match.namespace == "outages" else None
    feed, feed_kwargs, api, api_kwargs = ALTERNATES.get(name, ("incidents", False, None, False))
    kwargs = match.kwargs if match else {}
    query = ""
    if name in KEEPS_QUERY:
        params = request.GET.copy()
        params.pop("page", None)
        query = f"?{params.urlencode()}" if params else ""
    links = {
        "atom": reverse(f"outages:{feed}_atom", kwargs=kwargs if feed_kwargs else None) + query,
        "rss": reverse(f"outages:{feed}_rss", kwargs=kwargs if feed_kwargs else None) + query,
        "json": None,
        "title": feed_title(name, context, bool(query)),
    }
    if api:
        links["json"] = reverse(f"outages:{api}", kwargs=kwargs if api_kwargs else None) + query
    return links
