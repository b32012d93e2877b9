"""The "my stack" page: the combined incident history of the providers, services and regions a
reader depends on (outages.web.stack_selection reads the choice). The selection lives in the
query string, so the page can be bookmarked.
"""

from datetime import timedelta

from django.shortcuts import render
from django.urls import reverse

from outages import text
from outages.aggregates import SUMMARISE_FROM, customers_hit_most, summary_percentile
from outages.web.paging import paginate
from outages.web.stack_selection import read_stack

TOP_CUSTOMERS = 5


def resolve_times(incidents):
    """How many incidents have a known time to resolve, and its total and median (when there
    are enough to summarise), in one query.
    Incidents whose start or end is unknown are left out, and the page says over how many; so
    are those whose start or end is known only to the day or more coarsely, and it says so."""
    rows = incidents.order_by().values_list(
        "started_at", "resolved_at", "started_precision", "resolved_precision"
    )
    spans, imprecise = [], 0
    for started, resolved, *precisions in rows:
        if started and resolved:
            if all(text.has_clock(precision) for precision in precisions):
                spans.append(resolved - started)
            else:
                imprecise += 1
    return {
        "imprecise": imprecise,
        "known": len(spans),
        "total": sum(spans, timedelta()) if spans else None,
        "median": summary_percentile(sorted(spans), 0.5),
    }


def my_stack(request):
    stack = read_stack(request.GET)
    context = {"stack": stack, "page": None}
    if stack:
        incidents = stack.incidents()
        context.update(
            page=paginate(request, incidents.newest_first().for_lists()),
            resolve=resolve_times(incidents),
            summarise_from=SUMMARISE_FROM,
            customers=customers_hit_most(incidents, limit=TOP_CUSTOMERS),
            feeds=[
                (kind, request.build_absolute_uri(reverse(f"outages:stack_{kind}") + stack.query))
                for kind in ("atom", "rss")
            ],
        )
    return render(request, "outages/my_stack.html", context)
