"""The read-only JSON API under /api/v1/: the reader pages' data, for programs.

Each view starts from Incident.objects.published(), like the pages, and preloads what it
serialises (see outages.api.serialisers), so its query count does not grow with the data.

Lists are pages of PAGE_SIZE: {"count", "page", "pages", "next", "previous", "results"}. Unlike
the HTML pages, which show the nearest page for any ?page=, a ?page= that is not a whole number
or is out of range answers 404 with {"error": ...}: a program walking pages should stop, not be
handed the last page again under another number. The incident list counts like its page
(outages.web.results): past a thousand results, "count" is an estimate ("count_estimated": true)
and the pages reach the first thousand. Errors are JSON too: 404 {"error": ...} for
anything unknown (drafts included), 400 {"errors": {field: [messages]}} for a bad filter.
"""

import functools

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import JsonResponse, QueryDict
from django.urls import reverse
from django.views.decorators.http import require_safe

from outages import aggregates as stats
from outages.api.serialisers import (
    customer_ref,
    impact_data,
    incident_document,
    incident_row,
    incident_summary,
    provider_ref,
    region_ref,
    service_ref,
)
from outages.models import (
    Incident,
    IncidentRelation,
    Provider,
    Region,
    RegionCount,
    Service,
    ServiceCount,
    incident_order,
    services_with_provider,
)
from outages.web import citing, results
from outages.web.filters import IncidentFilter
from outages.web.ledger_data import OUTCOMES, fix_data, read_filters, with_history, year_rows
from outages.web.paging import PAGE_SIZE


class Problem(Exception):
    """A request the API cannot answer, as its status and JSON body."""

    def __init__(self, status, **body):
        super().__init__(body)
        self.status = status
        self.body = body


def answer(data, status=200):
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def api_view(view):
    """GET and HEAD only; the view returns plain data, or raises Problem, and both become JSON."""

    @require_safe
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return answer(view(request, *args, **kwargs))
        except Problem as problem:
            return answer(problem.body, status=problem.status)

    return wrapped


def get_or_404(queryset, description, **lookup):
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        # The same words for a draft as for a slug never used: drafts must not be discoverable.
        raise Problem(404, error=f"There is no {description}.") from None


def page_of(request, queryset, serialise, count=None):
    """One page of `queryset` (by ?page=, default 1), each item through serialise(request, item).

    Queries: one count (none when `count` is given), then one for the page (plus whatever the
    queryset prefetches). An empty list still has its page 1.
    """
    paginator = Paginator(queryset, PAGE_SIZE)
    if count is not None:
        paginator.count = count
    number = request.GET.get("page") or "1"
    try:
        page = paginator.page(number)
    except EmptyPage:
        pages = f"{paginator.num_pages} page{'' if paginator.num_pages == 1 else 's'}"
        raise Problem(404, error=f"There is no page {number}: this list has {pages}.") from None
    except PageNotAnInteger:
        raise Problem(404, error="The page number must be a whole number, 1 or more.") from None

    def link(other):
        params = request.GET.copy()
        params["page"] = other
        return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "next": link(page.next_page_number()) if page.has_next() else None,
        "previous": link(page.previous_page_number()) if page.has_previous() else None,
        "results": [serialise(request, item) for item in page.object_list],
    }


def filtered_list(request, name, value):
    """The incident list (HTML and API) filtered to one provider, service, region or customer."""
    query = QueryDict(mutable=True)
    query[name] = value
    return {
        f"incidents_{kind}": request.build_absolute_uri(f"{reverse(route)}?{query.urlencode()}")
        for kind, route in [("url", "outages:incident_list"), ("api", "outages:api_incidents")]
    }


# --- The index ------------------------------------------------------------------------------


def url_template(request, name, *params):
    # reverse() refuses braces and build_absolute_uri() would percent-encode them, so build the
    # URL with the parameter names as slugs, then brace them.
    url = request.build_absolute_uri(reverse(name, kwargs={param: param for param in params}))
    for param in params:
        url = url.replace(f"/{param}/", f"/{{{param}}}/")
    return url


@api_view
def index(request):
    def list_url(name):
        return request.build_absolute_uri(reverse(name))

    return {
        "endpoints": {
            "incidents": list_url("outages:api_incidents"),
            "incident": url_template(request, "outages:api_incident", "slug"),
            "incident_markdown": url_template(request, "outages:incident_markdown", "slug"),
            "providers": list_url("outages:api_providers"),
            "provider": url_template(request, "outages:api_provider", "slug"),
            "services": list_url("outages:api_services"),
            "service": url_template(request, "outages:api_service", "provider_slug", "slug"),
            "regions": list_url("outages:api_regions"),
            "region": url_template(request, "outages:api_region", "provider_slug", "code"),
            "customers": list_url("outages:api_customers"),
            "customer": url_template(request, "outages:api_customer", "slug"),
            "ledger": list_url("outages:api_ledger"),
            "provider_ledger": url_template(request, "outages:api_provider_ledger", "slug"),
        },
        "incident_filters": list(IncidentFilter.base_filters),
        "page_size": PAGE_SIZE,
    }


# --- Incidents ------------------------------------------------------------------------------


@api_view
def incident_list(request):
    """The incident list page's results for the same query string (filters, ?q=, ?sort=)."""
    filters = IncidentFilter(request.GET, queryset=Incident.objects.published())
    if not filters.form.is_valid():
        errors = filters.form.errors.get_json_data()
        raise Problem(
            400,
            errors={
                field: [error["message"] for error in field_errors]
                for field, field_errors in errors.items()
            },
        )
    # Queries: the filter lookups (one per ?provider=, ?service=, ... given), then the results
    # counted up to results.LIMIT (and past it, the planner's estimate), the page of incidents
    # with providers, their services, regions and customers hit.
    found = results.found(filters.qs)
    ordered, _ = results.in_order(filters, found)
    listing = page_of(request, ordered.for_lists(), incident_row, count=found.listed)
    # Past the limit the count is an estimate (null when the database gives none), and the pages
    # reach the first results.LIMIT, as on the page.
    return {
        **listing,
        "count": None if found.estimated and not found.count else found.count,
        "count_estimated": found.estimated,
    }


@api_view
def incident_detail(request, slug):
    incidents = Incident.objects.published().in_full()
    incident = get_or_404(incidents, f"published incident “{slug}”", slug=slug)
    document = incident_document(request, incident, IncidentRelation.objects.seen_from(incident))
    # The citation of its current version, as the page's "Cite this" shows it.
    document["citation"] = citing.citation_document(request, citing.current_version(incident))
    return document


# --- Providers, services, regions ---------------------------------------------------------


def provider_data(request, provider):
    """A provider as a list row; needs incident_count and service_count annotated."""
    return {
        **provider_ref(request, provider),
        "homepage_url": provider.homepage_url,
        "description": provider.description,
        "incident_count": provider.incident_count,
        "service_count": provider.service_count,
    }


def providers():
    return stats.counted_providers().order_by("name", "slug")


@api_view
def provider_list(request):
    return page_of(request, providers(), provider_data)


@api_view
def provider_detail(request, slug):
    # Queries: 1 the provider with its counts and customer entry, 2 its services, 3 its regions,
    # 4 the count of its published incidents, 5 the page of them.
    provider = get_or_404(providers().with_customer_entry(), f"provider “{slug}”", slug=slug)
    services = provider.services.visible().annotate(
        incident_count=stats.kept_count(ServiceCount, "service")
    )
    regions = provider.regions.visible().annotate(
        incident_count=stats.kept_count(RegionCount, "region")
    )
    also = provider.as_customer if provider.customer_entry_shown else None
    return {
        **provider_data(request, provider),
        "also_a_customer": customer_ref(request, also) if also else None,
        "services": [
            {**service_ref(request, service), "incident_count": service.incident_count}
            for service in services
        ],
        "regions": [
            {**region_ref(request, region), "incident_count": region.incident_count}
            for region in regions
        ],
        **filtered_list(request, "provider", provider.slug),
        "incidents": page_of(
            request,
            Incident.objects.published()
            .involving(provider=provider)
            .newest_first()
            .select_related("provider"),
            incident_summary,
        ),
    }


def service_data(request, service):
    return {
        **service_ref(request, service),
        "provider": provider_ref(request, service.provider),
        "description": service.description,
        "incident_count": service.incident_count,
    }


def services():
    return (
        Service.objects.visible()
        .select_related("provider")
        .annotate(incident_count=stats.kept_count(ServiceCount, "service"))
        .order_by("provider__name", "name", "pk")
    )


@api_view
def service_list(request):
    return page_of(request, services(), service_data)


@api_view
def service_detail(request, provider_slug, slug):
    service = get_or_404(
        services(),
        f"service “{slug}” of provider “{provider_slug}”",
        provider__slug=provider_slug,
        slug=slug,
    )
    return keyed_detail(request, service, service_data(request, service), "service")


def keyed_detail(request, obj, data, kind):
    """A service or region (`kind`) with a page of its published incidents.

    Queries: 1 the object with its provider and count (by the caller), 2 the count of its
    incidents, 3 the page.
    """
    incidents = Incident.objects.published().involving(**{kind: obj}).select_related("provider")
    return {
        **data,
        **filtered_list(request, kind, obj.key),
        "incidents": page_of(request, incidents.newest_first(), incident_summary),
    }


def region_data(request, region):
    return {
        **region_ref(request, region),
        "provider": provider_ref(request, region.provider),
        "incident_count": region.incident_count,
    }


def regions():
    return (
        Region.objects.visible()
        .select_related("provider")
        .annotate(incident_count=stats.kept_count(RegionCount, "region"))
        .order_by("provider__name", "code", "pk")
    )


@api_view
def region_list(request):
    return page_of(request, regions(), region_data)


@api_view
def region_detail(request, provider_slug, code):
    region = get_or_404(
        regions(),
        f"region “{code}” of provider “{provider_slug}”",
        provider__slug=provider_slug,
        code=code,
    )
    return keyed_detail(request, region, region_data(request, region), "region")


# --- Customers ------------------------------------------------------------------------------


def customers():
    """Customers readers may see (named by a published incident, however they were hit, or
    published on their own). Their `incident_count` counts the incidents that hit them (the one
    rule, as every page counts and as the filtered list they link to holds); `named_count` every
    one that names them."""
    return stats.counted_customers().visible().order_by("name", "slug")


def customer_data(request, customer):
    return {
        **customer_ref(request, customer),
        # The customer's own site; `url` is its page here, as everywhere in the API.
        "homepage_url": customer.url,
        "description": customer.description,
        "incident_count": customer.incident_count,
        "named_count": customer.named_count,
    }


@api_view
def customer_list(request):
    return page_of(request, customers(), customer_data)


def incident_with_impact(request, impact):
    return {
        **incident_summary(request, impact.incident),
        "impact": impact_data(request, impact, customer=False),
    }


@api_view
def customer_detail(request, slug):
    # Queries: 1 the customer with its count and provider entry, 2 the count of its impacts in
    # published incidents, 3 the page of them with incident, provider and source, 4 their
    # services with providers.
    customer = get_or_404(customers().with_provider_entry(), f"customer “{slug}”", slug=slug)
    impacts = (
        customer.impacts.filter(incident__in=Incident.objects.published())
        .select_related("incident__provider", "source")
        .prefetch_related(services_with_provider())
        .order_by(*incident_order(via="incident__"))
    )
    return {
        **customer_data(request, customer),
        "also_a_provider": (
            provider_ref(request, customer.provider) if customer.provider_entry_shown else None
        ),
        # The filtered list holds the incidents that hit this customer; `incidents` below also
        # has those that name it as not affected, each with how it was hit.
        **filtered_list(request, "customer", customer.slug),
        "incidents": page_of(request, impacts, incident_with_impact),
    }


@api_view
def ledger(request, slug=None):
    """The promise ledger: the page's filters, counts and fixes (outages.web.ledger_data).
    Queries: the provider (when named), the counts (two, which give the list's count), its
    fixes, their history entries and their links."""
    provider = None
    if slug:
        provider = Provider.objects.visible().filter(slug=slug).first()
        if provider is None:
            raise Problem(404, error="There is no such provider.")
    filters = read_filters(request.GET, provider)
    if filters.errors:
        errors = {}
        for label, value, message in filters.errors:
            errors.setdefault(label, []).append(f"“{value}”: {message}")
        raise Problem(400, errors=errors)
    rows, totals = year_rows(filters)
    outcomes = [outcome.value for outcome in OUTCOMES]
    data = page_of(
        request,
        with_history(filters.items),
        lambda request, item: fix_data(item, request.build_absolute_uri),
        count=totals["total"],
    )
    return {
        "provider": provider.slug if provider else None,
        "filters": {"state": filters.state or None, "year": filters.year},
        "outcomes": {outcome.value: outcome.label for outcome in OUTCOMES},
        "totals": dict(zip(outcomes, totals["counts"], strict=True)) | {"all": totals["total"]},
        "years": [
            {"year": row["year"], "all": row["total"]}
            | dict(zip(outcomes, row["counts"], strict=True))
            for row in rows
        ],
        **data,
    }
