"""The cascade page of an incident: the provider's incident, the customers it hit and the
incidents of their own it caused, drawn as a tree (outages.charts.cascade) beside a table with
the same links. Three queries, whatever the numbers of customers and relations."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from outages import page_cache
from outages.charts.cascade import Node, cascade_tree
from outages.models import CustomerImpact, Incident, IncidentRelation
from outages.web.relations import cascade_branches, cascade_rows, caused_by


def incident_cascade(request, slug):
    hits = CustomerImpact.objects.hits().select_related("customer").order_by("customer__name")
    incident = get_object_or_404(
        Incident.objects.published()
        .select_related("provider")
        .prefetch_related(Prefetch("impacts", queryset=hits, to_attr="customers_hit")),
        slug=slug,
    )
    caused = caused_by(incident, IncidentRelation.objects.seen_from(incident))
    rows = cascade_rows(incident.customers_hit, caused)
    page_cache.depends_on(
        request,
        page_cache.provider_tag(incident.provider.slug),
        *(page_cache.customer_tag(impact.customer.slug) for impact in incident.customers_hit),
        *(page_cache.incident_tag(shown.other.slug) for shown in caused),
    )
    chart = None
    if rows:
        root = Node(incident.title, incident.get_absolute_url(), incident.provider.name)
        chart = cascade_tree(
            root,
            cascade_branches(rows),
            chart_id="cascade",
            title=f"Cascade of {incident.title}",
            desc=description(incident, rows),
        )
    context = {"incident": incident, "rows": rows, "chart": chart, "caused": caused}
    return render(request, "outages/incident_cascade.html", context)


def description(incident, rows):
    """The drawing's summary for assistive technology, in words."""
    hit = sum(1 for row in rows if row.customer is not None)
    caused = sum(len(row.caused) for row in rows)
    return (
        f"{incident.provider.name}'s incident at the top; below it {hit} customer"
        f"{'' if hit == 1 else 's'} it hit, and {caused} incident{'' if caused == 1 else 's'} "
        "of their own it caused. The table below lists the same."
    )
