"""Reader pages. Each view starts from Incident.objects.published() and preloads what its
template touches, so the number of queries per page does not grow with the data."""

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, render

from .models import (
    ActionItem,
    Correction,
    Customer,
    CustomerImpact,
    Incident,
    Provider,
    Region,
    Service,
    TimelineEvent,
)

PAGE_SIZE = 20


def services_with_provider():
    return Prefetch("services", queryset=Service.objects.select_related("provider"))


def regions_with_provider():
    return Prefetch("regions", queryset=Region.objects.select_related("provider"))


def hit_impacts():
    """Impacts of customers who were actually hit, with the customer preloaded."""
    return CustomerImpact.objects.exclude(level=CustomerImpact.Level.NOT_AFFECTED).select_related(
        "customer"
    )


def incident_rows(queryset):
    """Incidents with everything a list row shows: provider, services, regions, customers hit."""
    return queryset.select_related("provider").prefetch_related(
        services_with_provider(),
        regions_with_provider(),
        Prefetch("impacts", queryset=hit_impacts(), to_attr="customers_hit"),
    )


def paginate(request, queryset):
    # get_page() turns a missing, malformed or out-of-range ?page= into a real page, never a 500.
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def home(request):
    incidents = incident_rows(Incident.objects.published())[:8]
    providers = Provider.objects.annotate(
        incident_count=Count("incidents", filter=Q(incidents__in=Incident.objects.published()))
    ).filter(incident_count__gt=0)
    customers = (
        Customer.objects.annotate(
            incident_count=Count(
                "impacts",
                filter=Q(impacts__incident__in=Incident.objects.published())
                & ~Q(impacts__level=CustomerImpact.Level.NOT_AFFECTED),
            )
        )
        .filter(incident_count__gt=1)
        .order_by("-incident_count", "name")[:12]
    )
    return render(
        request,
        "outages/home.html",
        {
            "incidents": incidents,
            "providers": providers,
            "customers": customers,
            "incident_total": Incident.objects.published().count(),
        },
    )


def incident_list(request):
    page = paginate(request, incident_rows(Incident.objects.published()))
    return render(request, "outages/incident_list.html", {"page": page})


def incident_detail(request, slug):
    incidents = (
        Incident.objects.published()
        .select_related("provider")
        .prefetch_related(
            services_with_provider(),
            regions_with_provider(),
            "sources",
            Prefetch("events", queryset=TimelineEvent.objects.select_related("source")),
            Prefetch(
                "impacts",
                queryset=CustomerImpact.objects.select_related(
                    "customer", "source"
                ).prefetch_related(services_with_provider()),
            ),
            Prefetch("action_items", queryset=ActionItem.objects.select_related("source")),
            Prefetch(
                "corrections",
                queryset=Correction.objects.select_related("claimed_by", "settled_by"),
            ),
        )
    )
    incident = get_object_or_404(incidents, slug=slug)
    related = incident_rows(
        Incident.objects.published()
        .exclude(pk=incident.pk)
        .filter(
            Q(services__in=incident.services.all())
            | Q(regions__in=incident.regions.all())
            | Q(
                impacts__customer__in=[
                    impact.customer_id
                    for impact in incident.impacts.all()
                    if impact.level != CustomerImpact.Level.NOT_AFFECTED
                ]
            )
        )
        .distinct()
    )[:10]
    return render(
        request, "outages/incident_detail.html", {"incident": incident, "related": related}
    )


def provider_list(request):
    providers = Provider.objects.annotate(
        incident_count=Count(
            "incidents", filter=Q(incidents__in=Incident.objects.published()), distinct=True
        ),
        service_count=Count("services", distinct=True),
    ).select_related("as_customer")
    return render(request, "outages/provider_list.html", {"providers": providers})


def provider_detail(request, slug):
    provider = get_object_or_404(Provider.objects.select_related("as_customer"), slug=slug)
    published = Incident.objects.published()
    services = provider.services.annotate(
        incident_count=Count("incidents", filter=Q(incidents__in=published))
    )
    regions = provider.regions.annotate(
        incident_count=Count("incidents", filter=Q(incidents__in=published))
    )
    page = paginate(request, incident_rows(published.filter(provider=provider)))
    return render(
        request,
        "outages/provider_detail.html",
        {"provider": provider, "services": services, "regions": regions, "page": page},
    )


def service_detail(request, provider_slug, slug):
    service = get_object_or_404(
        Service.objects.select_related("provider"), provider__slug=provider_slug, slug=slug
    )
    page = paginate(request, incident_rows(Incident.objects.published().filter(services=service)))
    return render(request, "outages/service_detail.html", {"service": service, "page": page})


def region_detail(request, provider_slug, code):
    region = get_object_or_404(
        Region.objects.select_related("provider"), provider__slug=provider_slug, code=code
    )
    page = paginate(request, incident_rows(Incident.objects.published().filter(regions=region)))
    return render(request, "outages/region_detail.html", {"region": region, "page": page})


def customer_list(request):
    customers = (
        Customer.objects.annotate(
            incident_count=Count(
                "impacts", filter=Q(impacts__incident__in=Incident.objects.published())
            )
        )
        .filter(incident_count__gt=0)
        .order_by("name")
    )
    return render(request, "outages/customer_list.html", {"customers": customers})


def customer_detail(request, slug):
    customer = get_object_or_404(Customer.objects.select_related("provider"), slug=slug)
    published = Incident.objects.published()
    impacts = (
        customer.impacts.filter(incident__in=published)
        .select_related("incident__provider", "source")
        .prefetch_related(
            services_with_provider(),
            Prefetch("incident__regions", queryset=Region.objects.select_related("provider")),
        )
        .order_by("-incident__started_at", "incident__slug")
    )
    page = paginate(request, impacts)
    neighbours = (
        Customer.objects.exclude(pk=customer.pk)
        .filter(
            impacts__incident__in=published.filter(impacts__customer=customer),
        )
        .annotate(shared=Count("impacts", distinct=True))
        .order_by("-shared", "name")
    )
    return render(
        request,
        "outages/customer_detail.html",
        {"customer": customer, "page": page, "neighbours": neighbours},
    )
