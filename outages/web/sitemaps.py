"""sitemap.xml: every published incident and every public page that lists them.

/sitemap.xml is an index of one sitemap per kind of page, each in pages of PAGE_LIMIT
addresses, so no request has to build a list of every incident at once: a page of 2,000 is
written in about a tenth of a second.
"""

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from outages.models import Customer, Incident, Provider, Region, Service

PAGE_LIMIT = 2000


class Paged(Sitemap):
    limit = PAGE_LIMIT


class IncidentSitemap(Paged):
    def items(self):
        return Incident.objects.published().only("slug", "updated_at").order_by("slug")

    def lastmod(self, incident):
        return incident.updated_at

    def get_latest_lastmod(self):
        # For the index; Django's default would load every incident to find the newest.
        return Incident.objects.published().aggregate(latest=Max("updated_at"))["latest"]


class ProviderSitemap(Paged):
    def items(self):
        return Provider.objects.visible().order_by("slug")


class ServiceSitemap(Paged):
    def items(self):
        services = Service.objects.visible().select_related("provider")
        return services.order_by("provider__slug", "slug")


class RegionSitemap(Paged):
    def items(self):
        regions = Region.objects.visible().select_related("provider")
        return regions.order_by("provider__slug", "code")


class CustomerSitemap(Paged):
    def items(self):
        return Customer.objects.visible().order_by("slug")


class ListSitemap(Paged):
    def items(self):
        return ["home", "incident_list", "provider_list", "customer_list"]

    def location(self, name):
        return reverse(f"outages:{name}")


SITEMAPS = {
    "lists": ListSitemap,
    "incidents": IncidentSitemap,
    "providers": ProviderSitemap,
    "services": ServiceSitemap,
    "regions": RegionSitemap,
    "customers": CustomerSitemap,
}
