"""The editors' screens: declarative, with inlines for everything that belongs to an incident."""

from django.contrib import admin
from django.db import models
from reversion.admin import VersionAdmin

from . import page_cache, search
from .models import (
    Customer,
    Incident,
    Provider,
    Region,
    Service,
    Source,
)

# Editors paste addresses without a scheme now and then; https is the right guess today.
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


class ReindexesIncidents:
    """Refresh the search index and the cached pages of every incident that shows this row.

    Search documents copy names from reference rows, so renaming a provider or a source must
    rebuild the documents of the incidents that mention it. Names appear in headers, facets and
    lists all over the site, and reference rows change rarely, so any change to one drops every
    cached page rather than working out which pages show it.
    """

    incident_lookup = None  # how Incident reaches this model, e.g. "services"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        page_cache.invalidate_all()
        if change and form.has_changed():
            incidents = Incident.objects.filter(**{self.incident_lookup: obj})
            search.update_index(incidents.values_list("pk", flat=True).distinct())

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        page_cache.invalidate_all()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        page_cache.invalidate_all()


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    prepopulated_fields = {"slug": ["name"]}


class RegionInline(admin.TabularInline):
    model = Region
    extra = 0


@admin.register(Provider)
class ProviderAdmin(ReindexesIncidents, admin.ModelAdmin):
    incident_lookup = "provider"
    formfield_overrides = HTTPS_URLS
    list_display = ["name", "slug", "homepage_url"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ServiceInline, RegionInline]


@admin.register(Service)
class ServiceAdmin(ReindexesIncidents, admin.ModelAdmin):
    incident_lookup = "services"
    list_display = ["name", "provider", "slug"]
    list_filter = ["provider"]
    list_select_related = ["provider"]
    search_fields = ["name", "slug", "provider__name"]
    autocomplete_fields = ["provider"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Region)
class RegionAdmin(ReindexesIncidents, admin.ModelAdmin):
    incident_lookup = "regions"
    list_display = ["code", "name", "provider"]
    list_filter = ["provider"]
    list_select_related = ["provider"]
    search_fields = ["code", "name", "provider__name"]
    autocomplete_fields = ["provider"]


@admin.register(Customer)
class CustomerAdmin(ReindexesIncidents, admin.ModelAdmin):
    incident_lookup = "impacts__customer"
    formfield_overrides = HTTPS_URLS
    list_display = ["name", "slug", "url", "provider"]
    list_select_related = ["provider"]
    search_fields = ["name", "slug"]
    autocomplete_fields = ["provider"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Source)
class SourceAdmin(ReindexesIncidents, VersionAdmin):
    incident_lookup = "sources"
    formfield_overrides = HTTPS_URLS
    list_display = ["title", "publisher", "kind", "published_on"]
    list_filter = ["kind"]
    search_fields = ["title", "publisher", "author", "url"]
    date_hierarchy = "published_on"


# The incident's own screens (workflow, history, lost-update check) live beside this module.
from . import admin_incidents  # noqa: E402, F401
