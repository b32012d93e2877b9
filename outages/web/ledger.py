"""The promise ledger: every provider's promised fixes (/ledger/) or one provider's
(/ledger/<provider>/), by year and outcome, each with its history and the later incidents that
bear on it; and their Atom and RSS feeds. Counts follow outages.models.ledger's rules."""

from django.contrib.syndication.views import Feed
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.text import Truncator

from outages import page_cache
from outages.models import ActionItem, Provider
from outages.web.ledger_data import (
    LEDGER_PAGE_SIZE,
    OUTCOMES,
    fix_data,
    read_filters,
    with_history,
    year_rows,
)

FEED_SIZE = 50


def visible_provider(slug):
    return get_object_or_404(Provider.objects.visible(), slug=slug) if slug else None


def ledger(request, slug=None):
    """Queries, whatever the data: the provider (on its page, or for ?provider=), the providers
    for the filter, the counts by year and outcome (two, which give the page's count too), its
    fixes, their history entries and their links."""
    provider = visible_provider(slug)
    if provider is not None:
        page_cache.depends_on(request, page_cache.provider_tag(provider.slug))
    filters = read_filters(request.GET, provider)
    items = filters.items
    rows, totals = year_rows(filters)
    paginator = Paginator(with_history(items), LEDGER_PAGE_SIZE)
    paginator.count = totals["total"]  # counted already: spares a COUNT over every fix
    page = paginator.get_page(request.GET.get("page"))
    fixes = [fix_data(item, str) for item in page.object_list]
    context = {
        "provider": provider,
        "providers": [] if provider else list(Provider.objects.visible().order_by("name")),
        "filters": filters,
        "states": ActionItem.Status.choices,
        "outcomes": [(outcome.value, outcome.label) for outcome in OUTCOMES],
        "rows": rows,
        "totals": totals,
        "outcome_totals": list(zip(OUTCOMES, totals["counts"], strict=True)),
        "page": page,
        "fixes": fixes,
        "all_url": reverse("outages:ledger"),
    }
    status = 400 if filters.errors else 200
    return render(request, "outages/ledger.html", context, status=status)


class LedgerFeed(Feed):
    """The promised fixes of the newest incidents (with the page's filters): one item each."""

    item_guid_is_permalink = False

    def __call__(self, request, *args, **kwargs):
        filters = read_filters(request.GET)
        if filters.errors:
            words = "; ".join(
                f"{label} “{value}”: {message}" for label, value, message in filters.errors
            )
            return HttpResponseBadRequest(f"{words}\n", content_type="text/plain; charset=utf-8")
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request, slug=None):
        provider = Provider.objects.visible().filter(slug=slug).first() if slug else None
        if slug and provider is None:
            raise Http404
        filters = read_filters(request.GET, provider)
        filters.absolute = request.build_absolute_uri
        return filters

    def text(self, words):
        return words if issubclass(self.feed_type, Atom1Feed) else escape(words)

    def name(self, filters):
        who = filters.provider.name if filters.provider else "every provider"
        return f"Promised fixes of {who}"

    def title(self, filters):
        return self.text(f"postmortems: {self.name(filters)}")

    def link(self, filters):
        if filters.provider:
            return reverse("outages:provider_ledger", args=[filters.provider.slug])
        return reverse("outages:ledger")

    def description(self, filters):
        return self.text(f"{self.name(filters)}, their state and what followed, from postmortems.")

    def subtitle(self, filters):
        return self.description(filters)

    def items(self, filters):
        items = list(with_history(filters.items)[:FEED_SIZE])
        for item in items:
            item.data = fix_data(item, filters.absolute)
        return items

    def item_title(self, item):
        words = Truncator(item.description).chars(90)
        return self.text(f"{item.incident.provider.name}: {words} ({item.get_status_display()})")

    def item_description(self, item):
        data = item.data
        lines = [f"{data['outcome_label']}. Promised after {item.incident.title}."]
        lines += [
            f"{entry['state_label']}, {entry['date_text']}"
            + (f" ({entry['source_title']})" if entry["source_title"] else "")
            for entry in data["history"]
        ]
        lines += [
            f"{link['kind_label']}: {link['incident']['title']}. {link['note']}"
            for link in data["links"]
        ]
        return "<br>".join(escape(line) for line in lines)

    def item_link(self, item):
        return f"{item.incident.get_absolute_url()}#promise-{item.position}"

    def item_guid(self, item):
        return f"ledger:{item.incident.slug}:{item.position}"

    def item_pubdate(self, item):
        return item.incident.published_at or item.incident.updated_at

    def item_updateddate(self, item):
        return item.incident.updated_at

    def item_categories(self, item):
        return [item.get_status_display()]


class LedgerAtom(LedgerFeed):
    feed_type = Atom1Feed


class LedgerRss(LedgerFeed):
    pass
