"""Small template helpers: times in the source's zone beside UTC, durations in words, and the
feeds and JSON each page advertises."""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from outages import text

register = template.Library()


@register.simple_tag
def when(moment, zone_name="UTC", precision="minute", with_date=True):
    """“24 Dec 2012, 12:24 PM PST · 20:24 UTC” inside a <time> element (see outages.text).

    A time known to the day or more coarsely shows just that period, and one whose zone the
    source does not state shows as written with no UTC: either would be invented.
    """
    if moment is None:
        return mark_safe('<span class="unknown">unknown</span>')
    local_text = text.moment_text(moment, zone_name, precision, with_date)
    local_date = text.local_time(moment, zone_name).date() if with_date else None
    utc_text = text.utc_beside(moment, zone_name, precision, with_date, local_date)
    machine = text.machine_text(moment, zone_name, precision)
    if utc_text is None:
        return format_html('<time datetime="{}">{}</time>', machine, local_text)
    return format_html(
        '<time datetime="{}">{}</time> <span class="utc">· {}</span>',
        machine,
        local_text,
        utc_text,
    )


@register.simple_tag
def day(moment, zone_name="UTC", precision="minute"):
    """The day an incident started, in its own zone, inside a <time> element (or its month or
    year when only that is known); “unknown” when not known."""
    if moment is None:
        return "unknown"
    coarse = precision if precision in ("month", "year") else "date"
    return format_html(
        '<time datetime="{}">{}</time>',
        text.machine_text(moment, zone_name, coarse),
        text.day_text(moment, zone_name, precision),
    )


@register.filter
def duration(delta):
    """A timedelta as “23 h 41 min” or “3 d 17 h”; empty when unknown."""
    return text.duration_text(delta)


@register.filter
def zone_words(zone_name):
    """The incident's zone as a page names it: the IANA name, or that the source states none."""
    return text.zone_words(zone_name)


@register.filter
def zone_note(zone_name):
    """The sentence saying in which zone an incident page's times are (outages.text)."""
    return text.zone_note(zone_name)


@register.filter
def when_heading(zone_name):
    """The heading of a column of times in the incident's zone (outages.text)."""
    return text.when_heading(zone_name)


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
