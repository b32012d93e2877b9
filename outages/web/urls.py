from django.urls import path

from outages.api import views as api
from outages.page_cache import (
    cached,
    customer_tag,
    incident_tag,
    provider_tag,
    region_tag,
    service_tag,
)
from outages.web import archive, cascade, exports, feeds, versions, views
from outages.web import ledger as ledger_views
from outages.web import stack as stack_views
from outages.web import stats as stats_views

app_name = "outages"


# Tags for cached() from each kind of URL's arguments: the page misses when what it shows changes.
def listing(kwargs):
    return "incidents"


def incident(kwargs):
    return incident_tag(kwargs["slug"])


def provider(kwargs):
    return provider_tag(kwargs["slug"])


def service(kwargs):
    return service_tag(kwargs["provider_slug"], kwargs["slug"])


def region(kwargs):
    return region_tag(kwargs["provider_slug"], kwargs["code"])


def customer(kwargs):
    return customer_tag(kwargs["slug"])


urlpatterns = [
    path("", cached(listing)(views.home), name="home"),
    path("incidents/", cached(listing)(views.incident_list), name="incident_list"),
    path("incidents/feed.atom", cached(listing)(feeds.IncidentsAtom()), name="incidents_atom"),
    path("incidents/feed.rss", cached(listing)(feeds.IncidentsRss()), name="incidents_rss"),
    path("incidents/<slug:slug>/", cached(incident)(views.incident_detail), name="incident"),
    # A published version: frozen, but its banner follows newer versions and a withdrawal.
    path(
        "incidents/<slug:slug>/v/<int:number>/",
        cached(incident)(versions.version_detail),
        name="incident_version",
    ),
    path(
        "incidents/<slug:slug>/v/<int:number>/cite.<str:format>",
        versions.citation_file,
        name="incident_version_citation",
    ),
    path(
        "incidents/<slug:slug>/cascade/",
        cached(incident)(cascade.incident_cascade),
        name="incident_cascade",
    ),
    path(
        "incidents/<slug:slug>/postmortem.md",
        cached(incident)(exports.incident_markdown),
        name="incident_markdown",
    ),
    path(
        "incidents/<slug:slug>/changes.atom",
        cached(incident)(feeds.IncidentChangesAtom()),
        name="incident_changes_atom",
    ),
    # An archived copy lists the incidents that cite its source: tagged as a list, and by each
    # of those incidents as it renders, so a new version or a withdrawal refreshes it.
    path("archive/<int:pk>/", cached(listing)(archive.archived_copy), name="archived_copy"),
    path(
        "archive/<int:pk>/changes/",
        cached(listing)(archive.archived_copy_changes),
        name="archived_copy_changes",
    ),
    # Never cached(): a stored page is replayed without its own Content-Security-Policy.
    path("archive/<int:pk>/raw", archive.archived_copy_raw, name="archived_copy_raw"),
    path("providers/", cached(listing)(views.provider_list), name="provider_list"),
    path("providers/<slug:slug>/", cached(provider)(views.provider_detail), name="provider"),
    path(
        "providers/<slug:slug>/feed.atom",
        cached(provider)(feeds.ProviderAtom()),
        name="provider_atom",
    ),
    path(
        "providers/<slug:slug>/feed.rss", cached(provider)(feeds.ProviderRss()), name="provider_rss"
    ),
    path(
        "providers/<slug:provider_slug>/services/<slug:slug>/",
        cached(service)(views.service_detail),
        name="service",
    ),
    path(
        "providers/<slug:provider_slug>/services/<slug:slug>/feed.atom",
        cached(service)(feeds.ServiceAtom()),
        name="service_atom",
    ),
    path(
        "providers/<slug:provider_slug>/services/<slug:slug>/feed.rss",
        cached(service)(feeds.ServiceRss()),
        name="service_rss",
    ),
    path(
        "providers/<slug:provider_slug>/regions/<slug:code>/",
        cached(region)(views.region_detail),
        name="region",
    ),
    path(
        "providers/<slug:provider_slug>/regions/<slug:code>/feed.atom",
        cached(region)(feeds.RegionAtom()),
        name="region_atom",
    ),
    path(
        "providers/<slug:provider_slug>/regions/<slug:code>/feed.rss",
        cached(region)(feeds.RegionRss()),
        name="region_rss",
    ),
    path("statistics/", cached(listing)(stats_views.statistics), name="statistics"),
    # The ledger counts promised fixes of published incidents: every change to one is a change
    # to an incident ("incidents"); a provider's also follows its provider's tag.
    path("ledger/", cached(listing)(ledger_views.ledger), name="ledger"),
    path("ledger/feed.atom", cached(listing)(ledger_views.LedgerAtom()), name="ledger_atom"),
    path("ledger/feed.rss", cached(listing)(ledger_views.LedgerRss()), name="ledger_rss"),
    path(
        "ledger/<slug:slug>/",
        cached(listing, provider)(ledger_views.ledger),
        name="provider_ledger",
    ),
    path(
        "ledger/<slug:slug>/feed.atom",
        cached(listing, provider)(ledger_views.LedgerAtom()),
        name="provider_ledger_atom",
    ),
    path(
        "ledger/<slug:slug>/feed.rss",
        cached(listing, provider)(ledger_views.LedgerRss()),
        name="provider_ledger_rss",
    ),
    path("map/", cached(listing)(stats_views.customer_map), name="customer_map"),
    path("my-stack/", cached(listing)(stack_views.my_stack), name="my_stack"),
    path("my-stack/feed.atom", cached(listing)(feeds.StackAtom()), name="stack_atom"),
    path("my-stack/feed.rss", cached(listing)(feeds.StackRss()), name="stack_rss"),
    path("customers/", cached(listing)(views.customer_list), name="customer_list"),
    path("customers/<slug:slug>/", cached(customer)(views.customer_detail), name="customer"),
    path(
        "customers/<slug:slug>/feed.atom",
        cached(customer)(feeds.CustomerAtom()),
        name="customer_atom",
    ),
    path(
        "customers/<slug:slug>/feed.rss", cached(customer)(feeds.CustomerRss()), name="customer_rss"
    ),
    # Read-only JSON. The query string of /api/v1/incidents/ is the incident list page's.
    path("api/v1/", cached()(api.index), name="api_index"),
    path("api/v1/incidents/", cached(listing)(api.incident_list), name="api_incidents"),
    path(
        "api/v1/incidents/<slug:slug>/", cached(incident)(api.incident_detail), name="api_incident"
    ),
    path("api/v1/providers/", cached(listing)(api.provider_list), name="api_providers"),
    path(
        "api/v1/providers/<slug:slug>/", cached(provider)(api.provider_detail), name="api_provider"
    ),
    path("api/v1/services/", cached(listing)(api.service_list), name="api_services"),
    path(
        "api/v1/providers/<slug:provider_slug>/services/<slug:slug>/",
        cached(service)(api.service_detail),
        name="api_service",
    ),
    path("api/v1/regions/", cached(listing)(api.region_list), name="api_regions"),
    path(
        "api/v1/providers/<slug:provider_slug>/regions/<slug:code>/",
        cached(region)(api.region_detail),
        name="api_region",
    ),
    path("api/v1/ledger/", cached(listing)(api.ledger), name="api_ledger"),
    path(
        "api/v1/ledger/<slug:slug>/",
        cached(listing, provider)(api.ledger),
        name="api_provider_ledger",
    ),
    path("api/v1/customers/", cached(listing)(api.customer_list), name="api_customers"),
    path(
        "api/v1/customers/<slug:slug>/", cached(customer)(api.customer_detail), name="api_customer"
    ),
]
