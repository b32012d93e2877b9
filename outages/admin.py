"""The editors' screens: declarative, with inlines for everything that belongs to an incident."""

from django.contrib import admin
from django.db import models

from . import page_cache, search
from .admin_history import HistoryAdmin
from .models import (
    Customer,
    Provider,
    Region,
    Service,
    Source,
)

# Editors paste addresses without a scheme now and then; https is the right guess today.
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


class ReferenceAdmin(HistoryAdmin):
    """A reference row's screens: every save a revision, with history, compare and restore
    (HistoryAdmin); and the search index and cached pages of every incident that shows the row
    refreshed.

    Search documents copy names from reference rows, so renaming a provider or a source must
    rebuild the documents of the incidents that mention it. Names appear in headers, facets and
    lists all over the site, and reference rows change rarely, so any change to one drops every
    cached page rather than working out which pages show it.
    """

    history_note = "Every save of this row is kept, and so is every import that wrote it."

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        page_cache.invalidate_all()
        if change and form.has_changed():
            search.update_index_showing([obj])

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
class ProviderAdmin(ReferenceAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["name", "slug", "homepage_url"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ServiceInline, RegionInline]


@admin.register(Service)
class ServiceAdmin(ReferenceAdmin):
    list_display = ["name", "provider", "slug"]
    list_filter = ["provider"]
    list_select_related = ["provider"]
    search_fields = ["name", "slug", "provider__name"]
    autocomplete_fields = ["provider"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Region)
class RegionAdmin(ReferenceAdmin):
    list_display = ["code", "name", "provider"]
    list_filter = ["provider"]
    list_select_related = ["provider"]
    search_fields = ["code", "name", "provider__name"]
    autocomplete_fields = ["provider"]


@admin.register(Customer)
class CustomerAdmin(ReferenceAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["name", "slug", "url", "provider"]
    list_select_related = ["provider"]
    search_fields = ["name", "slug"]
    autocomplete_fields = ["provider"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Source)
class SourceAdmin(ReferenceAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["title", "publisher", "kind", "published_on"]
    list_filter = ["kind"]
    search_fields = ["title", "publisher", "author", "url"]
    date_hierarchy = "published_on"


# The incident's own screens (workflow, history, lost-update check) live beside this module.
from . import admin_incidents  # noqa: E402, F401
