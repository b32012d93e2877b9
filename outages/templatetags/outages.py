"""Template helpers over outages.text: times in the source's zone beside UTC, durations in
words, and the feeds and JSON each page advertises."""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from outages import text

register = template.Library()


# `when` and `day` are simple tags formatting their markup here rather than inclusion tags: a
# page shows dozens of times, and rendering a small template for each was a tenth of the time
# of rendering an incident page.


@register.simple_tag
def when(moment, zone_name="UTC", precision="minute", with_date=True):
    """“24 Dec 2012, 12:24 PM PST · 20:24 UTC” in a <time> element (outages.text.when_said)."""
    said = text.when_said(moment, zone_name, precision, with_date)
    if said is None:
        return mark_safe('<span class="unknown">unknown</span>')
    utc = format_html(' <span class="utc">· {}</span>', said.utc) if said.utc else ""
    return format_html('<time datetime="{}">{}</time>{}', said.machine, said.words, utc)


@register.simple_tag
def day(moment, zone_name="UTC", precision="minute"):
    """The day an incident started, in its own zone, in a <time> element (text.day_said)."""
    said = text.day_said(moment, zone_name, precision)
    if said is None:
        return "unknown"
    return format_html('<time datetime="{}">{}</time>', said.machine, said.words)


@register.simple_tag
def source_link(source, label=""):
    """A link to a source, named by `label` or else its publisher; a dash when there is none.
    A tag rather than an included template: an incident page links a source from each of its
    timeline events, impacts and promised fixes."""
    if not source:
        return "—"
    return format_html(
        '<a href="{}" rel="noopener noreferrer">{}</a>', source.url, label or source.publisher
    )


@register.simple_tag
def first_few(items, limit, without=None):
    """{% first_few services 4 as few %}: few.shown the first four, few.more how many more.
    `without` leaves out the one item the page is about (a service page's own service)."""
    if without is not None:
        items = [item for item in items if item != without]
    return text.first_few(items, limit)


register.filter("duration", text.duration_text)
register.filter("zone_words", text.zone_words)
register.filter("zone_note", text.zone_note)
register.filter("when_heading", text.when_heading)
register.filter("calendar_day", text.calendar_day)
register.filter("calendar_minute", text.calendar_minute)
register.filter("machine", text.machine_text)


# The site's main navigation: (URL name, words), in order.
NAV = [
    ("incident_list", "Incidents"),
    ("provider_list", "Providers"),
    ("customer_list", "Customers"),
    ("statistics", "Statistics"),
    ("customer_map", "Map"),
    ("my_stack", "My stack"),
]


@register.simple_tag(takes_context=True)
def site_nav(context):
    """The main navigation's links: (URL, words, whether it is this page)."""
    match = getattr(context.get("request"), "resolver_match", None)
    here = match.url_name if match else None
    return [(reverse(f"outages:{name}"), words, name == here) for name, words in NAV]


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
    "ledger": ("ledger", False, "api_ledger", False),
    "provider_ledger": ("provider_ledger", True, "api_provider_ledger", True),
}
# Pages whose query string (search, filters) means the same to their feeds and JSON.
KEEPS_QUERY = {"incident_list", "my_stack", "ledger", "provider_ledger"}


def feed_title(name, context, filtered):
    """What the page's feed carries, in words, as the feeds title themselves."""
    if name in ("provider", "service", "region", "customer") and context.get(name):
        return text.incidents_of(name, context[name])
    if name in ("ledger", "provider_ledger"):
        provider = context.get("provider")
        return f"Promised fixes of {provider.name if provider else 'every provider'}"
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
