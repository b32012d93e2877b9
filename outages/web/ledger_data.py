"""What the ledger's page, feeds and JSON share: reading their filters (provider, state, year),
the promised fixes with everything they show preloaded, the counts by year and outcome, and each
fix as plain data. The rules themselves are outages.models.ledger's."""

from dataclasses import dataclass, field

from django import forms
from django.db.models import Prefetch, Q
from django.urls import reverse

from outages.models import (
    ActionItem,
    ActionItemState,
    Outcome,
    Provider,
    history,
    implicit_state,
    incident_order,
    ledger_counts,
    ledger_items,
    outcome_of,
    shown_links,
    took,
)

LEDGER_PAGE_SIZE = 25
OUTCOMES = list(Outcome)


class LedgerFilterForm(forms.Form):
    provider = forms.SlugField(required=False, label="Provider")
    state = forms.ChoiceField(
        required=False, label="Current state", choices=[("", "Any"), *ActionItem.Status.choices]
    )
    year = forms.IntegerField(
        required=False, label="Year of the incident", min_value=1970, max_value=2999
    )


@dataclass
class Filters:
    provider: object = None  # a visible Provider, or None
    state: str = ""
    year: int | None = None
    errors: list = field(default_factory=list)  # (label, value, message)
    chosen: dict = field(default_factory=dict)  # the query's usable values, for links

    @property
    def items(self):
        """The promised fixes these filters select (nothing when a filter could not be read)."""
        items = ledger_items(self.provider, self.state, self.year)
        return items.none() if self.errors else items


def read_filters(params, provider=None):
    """Filters from a query string; `provider` when the address names one (then ?provider= is
    not read). A value that cannot be used is an error naming the filter and the value."""
    form = LedgerFilterForm(params)
    filters = Filters(provider=provider)
    if not form.is_valid():
        filters.errors = [
            (form[name].label, params.get(name, ""), message)
            for name, messages in form.errors.items()
            for message in messages
        ]
        return filters
    data = form.cleaned_data
    if data["provider"] and provider is None:
        filters.provider = Provider.objects.visible().filter(slug=data["provider"]).first()
        if filters.provider is None:
            filters.errors.append(("Provider", data["provider"], "There is no such provider."))
        else:
            filters.chosen["provider"] = data["provider"]
    filters.state, filters.year = data["state"], data["year"]
    if filters.state:
        filters.chosen["state"] = filters.state
    if filters.year:
        filters.chosen["year"] = filters.year
    return filters


def with_history(items):
    """The fixes in the one order (newest incidents first, then by position), with what each
    shows: its incident and provider, source, history entries and links readers may see (three
    queries for any number of fixes)."""
    states = ActionItemState.objects.select_related("source")
    links = shown_links().select_related("later_incident", "source")
    return (
        items.select_related("incident__provider", "source")
        .prefetch_related(Prefetch("states", queryset=states), Prefetch("links", queryset=links))
        .order_by(*incident_order("incident__"), "position")
    )


def year_rows(filters):
    """One row per year of the incidents, newest first (unknown years last): the fixes these
    filters select and how many have each outcome; and the totals row. Two queries
    (ledger_counts), none when a filter could not be read."""
    by_outcome = {}
    if not filters.errors:
        by_outcome = ledger_counts(filters.provider, filters.state, filters.year)
    years = sorted({year for year, _ in by_outcome}, key=lambda y: (y is None, -(y or 0)))
    rows = []
    for year in years:
        counts = [by_outcome.get((year, outcome), 0) for outcome in OUTCOMES]
        rows.append({"year": year, "total": sum(counts), "counts": counts})
    totals = [sum(row["counts"][i] for row in rows) for i in range(len(OUTCOMES))]
    return rows, {"total": sum(totals), "counts": totals}


def incident_ref(incident, absolute):
    return {
        "slug": incident.slug,
        "title": incident.title,
        "url": absolute(incident.get_absolute_url()),
    }


def fix_data(item, absolute):
    """One promised fix as plain data (preloaded by with_history(); no queries). `absolute`
    makes a path an address (request.build_absolute_uri, or str for a page's own links)."""
    entries = history(item)
    spent = took(entries)
    incident = item.incident
    outcome = outcome_of(item.status, [link.kind for link in item.links.all()])
    return {
        "incident": incident_ref(incident, absolute),
        "provider": {
            "slug": incident.provider.slug,
            "name": incident.provider.name,
            "url": absolute(reverse("outages:provider_ledger", args=[incident.provider.slug])),
        },
        "year": incident.started_at.year if incident.started_at else None,
        "position": item.position,
        "url": absolute(f"{incident.get_absolute_url()}#promise-{item.position}"),
        "description": item.description,
        "kind": item.kind,
        "kind_label": item.get_kind_display(),
        "status": item.status,
        "status_label": item.get_status_display(),
        "outcome": outcome.value,
        "outcome_label": outcome.label,
        "history": [
            {
                "state": entry.state,
                "state_label": entry.get_state_display(),
                "date": entry.date_written,
                "date_text": entry.date_text,
                "source": entry.source.url if entry.source else None,
                "source_title": entry.source.title if entry.source else None,
            }
            for entry in entries
        ],
        "took": None
        if spent is None
        else {"from": spent[0].isoformat(), "to": spent[1].isoformat(), "unit": spent[2]}
        | {"amount": spent[3]},
        "links": [
            {
                "kind": link.kind,
                "kind_label": link.get_kind_display(),
                "incident": incident_ref(link.later_incident, absolute),
                "note": link.note,
                "source": link.source.url,
                "source_title": link.source.title,
            }
            for link in item.links.all()
        ],
    }


def incident_ledger(incident):
    """What an incident page shows of the ledger besides its own items, in one query: the links
    from its items to later incidents, and the links from earlier incidents' items to it (both
    ends published)."""
    links = (
        shown_links()
        .filter(links_naming(incident))
        .select_related("incident", "later_incident", "action_item", "source")
    )
    links = list(links)
    return {
        "later": [link for link in links if link.incident_id == incident.pk],
        "earlier": [link for link in links if link.later_incident_id == incident.pk],
    }


def links_naming(incident):
    """The promise links an incident page shows, by their ends: from the incident's items, or
    to it. `incident`: an Incident, or OuterRef("pk") to ask of each incident of a query
    whether it has any (views.with_link_flags)."""
    return Q(incident=incident) | Q(later_incident=incident)


def add_ledger_history(incident):
    """Each of the incident's action items (loaded with it) gets its history entries, as
    `ledger_history` (one query)."""
    entries = {}
    for entry in ActionItemState.objects.filter(incident=incident).select_related("source"):
        entries.setdefault(entry.action_item_id, []).append(entry)
    for item in incident.action_items.all():
        item.ledger_history = entries.get(item.pk) or [implicit_state(item)]
