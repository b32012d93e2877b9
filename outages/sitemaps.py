"""sitemap.xml: every published incident and every public page that lists them."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .models import Customer, CustomerImpact, Incident, Provider, Region, Service


class IncidentSitemap(Sitemap):
    def items(self):
        return Incident.objects.published().order_by("slug")

    def lastmod(self, incident):
        return incident.updated_at


class ProviderSitemap(Sitemap):
    def items(self):
        return Provider.objects.order_by("slug")


class ServiceSitemap(Sitemap):
    def items(self):
        return Service.objects.select_related("provider").order_by("provider__slug", "slug")


class RegionSitemap(Sitemap):
    def items(self):
        return Region.objects.select_related("provider").order_by("provider__slug", "code")


class CustomerSitemap(Sitemap):
    def items(self):
        # As on the customer list: only customers named in a published incident.
        named = CustomerImpact.objects.filter(incident__in=Incident.objects.published())
        return Customer.objects.filter(pk__in=named.values("customer")).order_by("slug")


class ListSitemap(Sitemap):
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
