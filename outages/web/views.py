"""Reader pages. Each view starts from Incident.objects.published() and preloads what its
template touches, so the number of queries per page does not grow with the data."""

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control

from outages import aggregates as stats
from outages import page_cache, revisions, search
from outages.models import (
    Customer,
    CustomerImpact,
    Incident,
    IncidentRelation,
    PromiseLink,
    Provider,
    Region,
    RegionCount,
    Service,
    ServiceCount,
    latest_copies,
    latest_copy,
    latest_revision,
    services_with_provider,
    source_revisions,
)
from outages.web import articles, citing, results
from outages.web.filters import SORTS, IncidentFilter, facets
from outages.web.ledger_data import incident_ledger, links_naming
from outages.web.paging import PAGE_SIZE, link_with, paginate
from outages.web.related import related_incidents
from outages.web.relations import has_cascade
from outages.web.strips import incident_strip

NAMES_PAGE_SIZE = 60  # lists of names only (customers, providers) fit more on a page
NEIGHBOURS_SHOWN = 24
CUSTOMER_LISTED = 1000  # the newest incidents naming a customer that its pages reach
NEIGHBOURS_FROM = 500  # the newest incidents that hit a customer, among which its neighbours


HOME_PROVIDERS = 12  # the providers with most incidents; the rest are a link away
HOME_CUSTOMERS = 12


def home(request):
    """Bounded lists, counted by the kept counts (outages.aggregates), so the page costs the
    same at a hundred incidents as at a hundred thousand."""
    incidents = Incident.objects.published().newest_first().for_lists()[:8]
    customers = stats.customers_hit_most(limit=HOME_CUSTOMERS)
    return render(
        request,
        "outages/home.html",
        {
            "incidents": incidents,
            "providers": stats.providers_by_incidents(limit=HOME_PROVIDERS),
            "customers": [customer for customer in customers if customer.count > 1],
            "incident_total": stats.published_total(),
        },
    )


def incident_list(request):
    """All incidents, or those matching a search and any filters, with facet counts."""
    filters = IncidentFilter(request.GET, queryset=Incident.objects.published())
    form = filters.form
    valid = form.is_valid()
    # The results are found once, at most results.LIMIT of them: their ids feed every facet;
    # the page is then one more query, in the chosen order.
    found = results.found(filters.qs) if valid else results.NOTHING
    ordered, order = results.in_order(filters, found)
    paginator = Paginator(articles.with_stored_rows(ordered), PAGE_SIZE)
    paginator.count = found.listed  # known already; spares the paginator its COUNT query
    page = paginator.get_page(request.GET.get("page"))
    # Rows print as stored with their incidents' articles, and only the others are rendered.
    page.object_list = articles.listed(page.object_list)
    query = form.cleaned_data.get("q", "") if valid else ""
    if query:
        passages = search.snippets(page.object_list, query)
        for incident in page.object_list:
            incident.snippet = passages.get(incident.pk)
    chosen = {
        name: request.GET[name]
        for name in filters.filters
        if name not in ("q", "sort") and request.GET.get(name)
    }
    active = [
        (form[name].label, value, link_with(request, **{name: None}))
        for name, value in chosen.items()
    ]
    facet_links = [
        (
            label,
            [
                (title, count, link_with(request, **{name: None if selected else key}), selected)
                for key, title, count in values
                for selected in [chosen.get(name) == key]
            ],
        )
        for name, label, values in (facets(found.rows) if found.rows else [])
        if values
    ]
    errors = [
        (form[name].label if name in form.fields else "", request.GET.get(name, ""), message)
        for name, messages in form.errors.items()
        for message in messages
    ]
    return render(
        request,
        "outages/incident_list.html",
        {
            "filters": filters,
            "page": page,
            "query": query,
            "active": active,
            "chosen": chosen,
            "facets": facet_links,
            "errors": errors,
            "sorts": SORTS,
            "sort": order,
            "ranked": order == "relevance",
            "found": found,
            "limit": f"{results.LIMIT:,}",
            "without_filters": link_with(request, **dict.fromkeys(chosen, None), sort=None),
        },
    )


def for_page(incidents):
    """in_full(), each source's latest archived copy (one more query), and with_link_flags()."""
    return with_link_flags(incidents.in_full().prefetch_related(latest_copies()))


def with_link_flags(incidents):
    """The incidents, each knowing whether any typed relation (`may_relate`) or promise link
    (`may_link`) names it, read with them (two EXISTS). Most incidents have neither, and their
    pages then skip the two queries that would read them, among the costliest of the page to
    build (both ends of each, with their providers and sources). Whether readers may see one is
    still for those queries to say."""
    here = OuterRef("pk")
    return incidents.annotate(
        may_relate=Exists(IncidentRelation.objects.naming(here)),
        may_link=Exists(PromiseLink.objects.filter(links_naming(here))),
    )


def incident_detail(request, slug):
    published = with_link_flags(articles.with_article(Incident.objects.published()))
    incident = published.filter(slug=slug).order_by().first()  # a slug is one incident
    if incident is None:
        return unpublished_incident(request, slug)
    stored = articles.stored_article(incident)
    if stored is not None:
        parts, shown = stored
        articles.around_article(shown)
        return incident_page(request, incident, parts, shown)
    token = articles.claim(incident)
    # Read after claiming: a write committed meanwhile deletes the claim, so an article
    # rendered from the rows as they were before it is not stored.
    incident = for_page(Incident.objects.published()).filter(pk=incident.pk).first()
    if incident is None:
        return unpublished_incident(request, slug)
    return incident_page(request, incident, claim=token)


def unpublished_incident(request, slug):
    """Staff preview anything at its public address; readers learn only of withdrawals."""
    if request.user.is_staff:
        incident = get_object_or_404(for_page(Incident.objects), slug=slug)
        response = incident_page(request, incident, preview=True)
        # A preview must never be kept by a browser or a shared cache.
        patch_cache_control(response, no_store=True, private=True)
        return response
    withdrawn = get_object_or_404(Incident.objects.withdrawn(), slug=slug)
    return render(request, "outages/incident_withdrawn.html", {"incident": withdrawn}, status=410)


def incident_page(request, incident, article=None, shown=None, claim=None, preview=False):
    """The page of an incident loaded by for_page(), or, with its stored `article` parts and
    `shown` rows, of one loaded with around_article(). `claim`: the token under which to store
    the article rendered here (articles.claim)."""
    shown = shown or articles.Shown.loaded(incident)
    # The related incidents below share its services, regions or customers.
    page_cache.depends_on(request, *page_cache.shown_incident_tags(incident, shown))
    context = incident_context(incident, preview, article=article, shown=shown)
    if article is None and not preview:
        articles.keep(incident, claim, context["article"], shown)
    # A preview is of what readers may not see yet: nothing to cite.
    context["citation"] = None if preview else citing.current_citation(request, incident)
    return render(request, "outages/incident_detail.html", context)


def incident_context(incident, preview=False, frozen=False, article=None, shown=None):
    """What the incident page shows of an incident: its article's parts (`article`, as stored,
    or rendered here from an incident loaded by for_page()) and what follows the collection.
    `frozen`: for the copy kept as a published version (web/freezing.py), without the related
    incidents and the change log, which follow the collection and the record rather than the
    postmortem. `shown`: as incident_page() read it (articles.Shown)."""
    shown = shown or articles.Shown.loaded(incident)
    sources = shown.sources
    # Typed relations follow the collection, as the related incidents do: not in a frozen copy.
    relations = []
    if incident.may_relate and not frozen:
        relations = IncidentRelation.objects.seen_from(incident, preview)
    return {
        "incident": incident,
        "article": article or articles.render_parts(incident, frozen),
        "shown": shown,
        "sources": [(source, latest_copy(source), latest_revision(source)) for source in sources],
        "drift": source_revisions(sources),
        "ledger": incident_ledger(incident) if incident.may_link else {"later": [], "earlier": []},
        "related": [] if frozen else related_incidents(incident, shown),
        "relations": relations,
        "cascade": False if frozen else has_cascade(incident, relations, shown.impacts),
        "frozen": frozen,
        "preview": preview,
        "changes": [] if frozen else revisions.public_changes(incident),
        "show_editors": settings.PUBLIC_CHANGE_LOG_NAMES,
    }


def provider_list(request):
    """Every provider readers may see, with its counts (stats.counted_providers)."""
    providers = stats.counted_providers().with_customer_entry().order_by("name")
    page = paginate(request, providers, NAMES_PAGE_SIZE)
    return render(request, "outages/provider_list.html", {"providers": page, "page": page})


def provider_detail(request, slug):
    provider = get_object_or_404(Provider.objects.visible().with_customer_entry(), slug=slug)
    published = Incident.objects.published()
    # Most incidents first, as the headings say, by the kept counts.
    services = stats.with_kept_counts(provider.services.visible(), ServiceCount, "service", "name")
    regions = stats.with_kept_counts(provider.regions.visible(), RegionCount, "region", "code")
    page = paginate(
        request,
        published.involving(provider=provider).newest_first().for_lists(),
        count=stats.kept_total(provider=provider),
    )
    return render(
        request,
        "outages/provider_detail.html",
        {
            "provider": provider,
            "services": services,
            "regions": regions,
            "page": page,
            "strip": incident_strip(provider=provider),
        },
    )


def service_detail(request, provider_slug, slug):
    service = get_object_or_404(
        Service.objects.visible().select_related("provider"),
        provider__slug=provider_slug,
        slug=slug,
    )
    incidents = Incident.objects.published().involving(service=service)
    page = paginate(
        request, incidents.newest_first().for_lists(), count=stats.kept_total(service=service)
    )
    return render(
        request,
        "outages/service_detail.html",
        {"service": service, "page": page, "strip": incident_strip(service=service)},
    )


def region_detail(request, provider_slug, code):
    region = get_object_or_404(
        Region.objects.visible().select_related("provider"),
        provider__slug=provider_slug,
        code=code,
    )
    incidents = Incident.objects.published().involving(region=region)
    page = paginate(
        request, incidents.newest_first().for_lists(), count=stats.kept_total(region=region)
    )
    return render(
        request,
        "outages/region_detail.html",
        {"region": region, "page": page, "strip": incident_strip(region=region)},
    )


def customer_list(request):
    """Every customer readers may see: those a published incident names, and those published on
    their own. Its count is of the incidents that hit it (the one rule, as on its page, the map
    and the statistics); one named only as "not affected" is listed, since its page has something
    to read, and says so rather than counting it."""
    customers = stats.counted_customers().visible().order_by("name")
    page = paginate(request, customers, NAMES_PAGE_SIZE)
    return render(request, "outages/customer_list.html", {"customers": page, "page": page})


def customer_detail(request, slug):
    """The incidents that name a customer, newest first, a page at a time, each with how it was
    hit. A page is found by walking the incidents' newest-first index, so the customer hit by a
    fifth of a hundred thousand incidents costs no more than one hit by twenty."""
    customer = get_object_or_404(Customer.objects.visible().with_provider_entry(), slug=slug)
    published = Incident.objects.published()
    impacts = customer.impacts.select_related("source").prefetch_related(services_with_provider())
    incidents = (
        published.filter(pk__in=customer.impacts.values("incident"))
        .newest_first()
        .select_related("provider")
        .prefetch_related(
            Prefetch("regions", queryset=Region.objects.select_related("provider")),
            Prefetch("impacts", queryset=impacts, to_attr="of_customer"),
        )
    )
    # Counted no further than CUSTOMER_LISTED (one walk of the index, stopping there); past it,
    # the pages reach the newest CUSTOMER_LISTED and the incident list filtered to the customer
    # has every one that hit it (linked from the page).
    count = incidents.order_by().values("pk")[: CUSTOMER_LISTED + 1].count()
    page = paginate(request, incidents, count=min(count, CUSTOMER_LISTED))
    strip = incident_strip(customer=customer)
    # Customers hit by the incidents that hit this one: by its NEIGHBOURS_FROM newest, so that
    # the busiest customer's page does not count every customer of tens of thousands.
    latest = published.involving(customer=customer).newest_first().values("pk")
    hit_together = CustomerImpact.objects.hits().filter(incident__in=latest[:NEIGHBOURS_FROM])
    neighbours = (
        Customer.objects.exclude(pk=customer.pk)
        .filter(impacts__in=hit_together)
        .annotate(shared=Count("impacts", distinct=True))
        .order_by("-shared", "name")[:NEIGHBOURS_SHOWN]
    )
    return render(
        request,
        "outages/customer_detail.html",
        {
            "customer": customer,
            "page": page,
            "neighbours": neighbours,
            "neighbours_from": NEIGHBOURS_FROM if strip["count"] > NEIGHBOURS_FROM else None,
            "listed_only": CUSTOMER_LISTED if count > CUSTOMER_LISTED else None,
            "strip": strip,
        },
    )
