"""The editors' screens: declarative, with inlines for everything that belongs to an incident."""

from django.contrib import admin
from django.db import models

from . import search
from .models import (
    ActionItem,
    Correction,
    Customer,
    CustomerImpact,
    Incident,
    Provider,
    Region,
    Service,
    Source,
    TimelineEvent,
)

# Editors paste addresses without a scheme now and then; https is the right guess today.
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


class ReindexesIncidents:
    """Refresh the search index of every incident that shows this row's name or title.

    Search documents copy names from reference rows, so renaming a provider or a source must
    rebuild the documents of the incidents that mention it.
    """

    incident_lookup = None  # how Incident reaches this model, e.g. "services"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.has_changed():
            incidents = Incident.objects.filter(**{self.incident_lookup: obj})
            search.update_index(incidents.values_list("pk", flat=True).distinct())


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
class SourceAdmin(ReindexesIncidents, admin.ModelAdmin):
    incident_lookup = "sources"
    formfield_overrides = HTTPS_URLS
    list_display = ["title", "publisher", "kind", "published_on"]
    list_filter = ["kind"]
    search_fields = ["title", "publisher", "author", "url"]
    date_hierarchy = "published_on"


class TimelineEventInline(admin.StackedInline):
    model = TimelineEvent
    extra = 0
    autocomplete_fields = ["source"]
    fields = [
        ("position", "occurred_at", "precision", "time_as_stated"),
        ("kind", "is_key_event", "source"),
        "description",
    ]


class CustomerImpactInline(admin.StackedInline):
    model = CustomerImpact
    extra = 0
    autocomplete_fields = ["customer", "services", "source"]
    fields = [
        ("customer", "level", "source"),
        "services",
        ("started_at", "ended_at"),
        "description",
    ]


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 0
    autocomplete_fields = ["source"]


class CorrectionInline(admin.StackedInline):
    model = Correction
    extra = 0
    autocomplete_fields = ["claimed_by", "settled_by"]
    fields = ["position", "claim", "fact", ("claimed_by", "settled_by")]


class YearFilter(admin.SimpleListFilter):
    title = "year"
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = Incident.objects.dates("started_at", "year", order="DESC")
        return [(str(day.year), str(day.year)) for day in years]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        if not self.value().isdigit():
            return queryset.none()
        return queryset.filter(started_at__year=int(self.value()))


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "provider", "started_at", "root_cause_category", "status"]
    list_filter = ["status", "provider", "services", "root_cause_category", YearFilter]
    list_select_related = ["provider"]
    search_fields = ["title", "slug", "summary"]
    date_hierarchy = "started_at"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["provider", "services", "regions", "sources"]
    save_on_top = True
    fieldsets = [
        (None, {"fields": ["title", "slug", "status", "provider", "services", "regions"]}),
        (
            "When",
            {
                "description": "Enter times in UTC; pages show them in this zone and in UTC.",
                "fields": ["time_zone", "started_at", "detected_at", "mitigated_at", "resolved_at"],
            },
        ),
        (
            "Postmortem (Markdown)",
            {
                "fields": [
                    "root_cause_category",
                    "summary",
                    "impact",
                    "root_cause",
                    "detection",
                    "response",
                    "lessons",
                ]
            },
        ),
        ("Sources", {"fields": ["sources"]}),
    ]
    inlines = [TimelineEventInline, CustomerImpactInline, ActionItemInline, CorrectionInline]

    def save_related(self, request, form, formsets, change):
        # Runs after the incident and every inline row are saved: the one place where the
        # whole incident is known to be current, so feeds and search catch timeline edits too.
        super().save_related(request, form, formsets, change)
        incident = form.instance
        if change and (form.has_changed() or any(formset.has_changed() for formset in formsets)):
            incident.touch()
        search.update_index([incident.pk])
