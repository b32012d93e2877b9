from django.urls import path

from . import api, exports, feeds, stack_views, stats_views, views

app_name = "outages"

urlpatterns = [
    path("", views.home, name="home"),
    path("incidents/", views.incident_list, name="incident_list"),
    path("incidents/feed.atom", feeds.IncidentsAtom(), name="incidents_atom"),
    path("incidents/feed.rss", feeds.IncidentsRss(), name="incidents_rss"),
    path("incidents/<slug:slug>/", views.incident_detail, name="incident"),
    path(
        "incidents/<slug:slug>/postmortem.md", exports.incident_markdown, name="incident_markdown"
    ),
    path("providers/", views.provider_list, name="provider_list"),
    path("providers/<slug:slug>/", views.provider_detail, name="provider"),
    path("providers/<slug:slug>/feed.atom", feeds.ProviderAtom(), name="provider_atom"),
    path("providers/<slug:slug>/feed.rss", feeds.ProviderRss(), name="provider_rss"),
    path(
        "providers/<slug:provider_slug>/services/<slug:slug>/",
        views.service_detail,
        name="service",
    ),
    path(
        "providers/<slug:provider_slug>/services/<slug:slug>/feed.atom",
        feeds.ServiceAtom(),
        name="service_atom",
    ),
    path(
        "providers/<slug:provider_slug>/services/<slug:slug>/feed.rss",
        feeds.ServiceRss(),
        name="service_rss",
    ),
    path("providers/<slug:provider_slug>/regions/<slug:code>/", views.region_detail, name="region"),
    path(
        "providers/<slug:provider_slug>/regions/<slug:code>/feed.atom",
        feeds.RegionAtom(),
        name="region_atom",
    ),
    path(
        "providers/<slug:provider_slug>/regions/<slug:code>/feed.rss",
        feeds.RegionRss(),
        name="region_rss",
    ),
    path("statistics/", stats_views.statistics, name="statistics"),
    path("map/", stats_views.customer_map, name="customer_map"),
    path("my-stack/", stack_views.my_stack, name="my_stack"),
    path("my-stack/feed.atom", feeds.StackAtom(), name="stack_atom"),
    path("my-stack/feed.rss", feeds.StackRss(), name="stack_rss"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/<slug:slug>/", views.customer_detail, name="customer"),
    path("customers/<slug:slug>/feed.atom", feeds.CustomerAtom(), name="customer_atom"),
    path("customers/<slug:slug>/feed.rss", feeds.CustomerRss(), name="customer_rss"),
    # Read-only JSON. The query string of /api/v1/incidents/ is the incident list page's.
    path("api/v1/", api.index, name="api_index"),
    path("api/v1/incidents/", api.incident_list, name="api_incidents"),
    path("api/v1/incidents/<slug:slug>/", api.incident_detail, name="api_incident"),
    path("api/v1/providers/", api.provider_list, name="api_providers"),
    path("api/v1/providers/<slug:slug>/", api.provider_detail, name="api_provider"),
    path("api/v1/services/", api.service_list, name="api_services"),
    path(
        "api/v1/providers/<slug:provider_slug>/services/<slug:slug>/",
        api.service_detail,
        name="api_service",
    ),
    path("api/v1/regions/", api.region_list, name="api_regions"),
    path(
        "api/v1/providers/<slug:provider_slug>/regions/<slug:code>/",
        api.region_detail,
        name="api_region",
    ),
    path("api/v1/customers/", api.customer_list, name="api_customers"),
    path("api/v1/customers/<slug:slug>/", api.customer_detail, name="api_customer"),
]
