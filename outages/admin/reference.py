"""The editors' screens for reference rows (providers, services, regions, customers, sources), each
with its aliases inline, history, compare and restore."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.forms.models import BaseInlineFormSet

from outages import page_cache, search, summaries, workflow
from outages.admin.archive import ArchivedCopiesShown
from outages.admin.forms import TEXT_AS_TYPED
from outages.admin.history import HistoryAdmin
from outages.models import (
    Alias,
    Customer,
    Incident,
    IncidentArticle,
    Provider,
    Region,
    Service,
    Source,
)
from outages.names import normalise_name

# Editors paste addresses without a scheme now and then; https is the right guess today.
HTTPS_URLS = {**TEXT_AS_TYPED, models.URLField: {"assume_scheme": "https"}}


class PublishersChange:
    """What readers see is the publishers' to change (workflow.can_edit_reference)."""

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and workflow.can_edit_reference(
            request.user, obj
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and workflow.can_edit_reference(
            request.user, obj
        )

    def get_readonly_fields(self, request, obj=None):
        """Publishing a row on its own (Provider.objects.visible()) is a publisher's act, as
        publishing an incident is."""
        fields = list(super().get_readonly_fields(request, obj))
        has_flag = any(field.name == "published" for field in self.model._meta.fields)
        if has_flag and not workflow.is_publisher(request.user):
            fields.append("published")
        return fields


class ReferenceAdmin(PublishersChange, HistoryAdmin):
    """A reference row's screens: every save a revision, with history, compare and restore
    (HistoryAdmin); and the search index and cached pages of every incident that shows the row
    refreshed.

    Search documents copy names from reference rows, so renaming a provider or a source must
    rebuild the documents of the incidents that mention it. Names appear in headers, facets and
    lists all over the site, and reference rows change rarely, so any change to one drops every
    cached page rather than working out which pages show it.
    """

    formfield_overrides = TEXT_AS_TYPED
    history_note = "Every save of this row is kept, and so is every import that wrote it."
    change_form_template = "admin/outages/reference_change_form.html"

    class Media:
        css = {"all": ["outages/admin/editing.css"]}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        page_cache.invalidate_all()
        if change and form.has_changed():
            IncidentArticle.objects.forget_showing([obj])
            search.update_index_showing([obj])

    def delete_model(self, request, obj):
        IncidentArticle.objects.forget_showing([obj])  # while its incidents still name it
        with summaries.changing(counted_incidents([obj])):
            super().delete_model(request, obj)
        page_cache.invalidate_all()

    def delete_queryset(self, request, queryset):
        IncidentArticle.objects.forget_showing(list(queryset))
        with summaries.changing(counted_incidents(queryset)):
            super().delete_queryset(request, queryset)
        page_cache.invalidate_all()


def counted_incidents(rows):
    """The incidents whose kept counts deleting these rows changes: those naming one of these
    services (theirs or an impact's) or regions. Providers and customers cannot go while an
    incident names them."""
    services = [row.pk for row in rows if isinstance(row, Service)]
    regions = [row.pk for row in rows if isinstance(row, Region)]
    named = Q(services__in=services) | Q(impacts__services__in=services) | Q(regions__in=regions)
    return set(Incident.objects.filter(named).values_list("pk", flat=True))


class AliasFormSet(BaseInlineFormSet):
    def clean(self):
        """Two new aliases of one row that are the same name: each form alone is valid, and the
        database would refuse the pair."""
        super().clean()
        seen = {}
        for form in self.forms:
            name = form.cleaned_data.get("name") if hasattr(form, "cleaned_data") else None
            if not name or form.cleaned_data.get("DELETE"):
                continue
            normalised = normalise_name(name)
            if normalised in seen:
                raise ValidationError(f"“{name}” and “{seen[normalised]}” are the same name.")
            seen[normalised] = name


class OwnedInline(PublishersChange, admin.TabularInline):
    """Rows shown on their owner's page (its aliases; a provider's services and regions): whoever
    may not change the owner may not change them there either."""

    formfield_overrides = TEXT_AS_TYPED

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and workflow.can_edit_reference(
            request.user, obj
        )


class AliasInline(OwnedInline):
    """Other names the row goes by; the importer resolves names through them."""

    model = Alias
    formset = AliasFormSet
    fields = ["name"]
    extra = 0


class ProviderAliasInline(AliasInline):
    fk_name = "provider"


class ServiceAliasInline(AliasInline):
    fk_name = "service"


class RegionAliasInline(AliasInline):
    fk_name = "region"


class CustomerAliasInline(AliasInline):
    fk_name = "customer"


class ReferenceRowsFormSet(BaseInlineFormSet):
    """A provider's services or regions. One that a public incident shows stays the
    publishers' even on the page of a provider an editor may change (an incident's services
    need not be its provider's)."""

    user = None  # set for each request by ReferenceRowsInline.get_formset

    def clean(self):
        super().clean()
        for form in self.initial_forms:
            changing = form.has_changed() or self._should_delete_form(form)
            if changing and not workflow.can_edit_reference(self.user, form.instance):
                raise ValidationError(
                    f"Published or withdrawn incidents show “{form.instance}”, so readers see "
                    "it. Only publishers can change it."
                )


class ReferenceRowsInline(OwnedInline):
    formset = ReferenceRowsFormSet
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)  # a new class for each request
        formset.user = request.user
        return formset


class ServiceInline(ReferenceRowsInline):
    model = Service
    prepopulated_fields = {"slug": ["name"]}


class RegionInline(ReferenceRowsInline):
    model = Region


@admin.register(Provider)
class ProviderAdmin(ReferenceAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["name", "slug", "homepage_url", "published"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ProviderAliasInline, ServiceInline, RegionInline]


@admin.register(Service)
class ServiceAdmin(ReferenceAdmin):
    list_display = ["name", "provider", "slug", "published"]
    list_filter = ["provider"]
    list_select_related = ["provider"]
    search_fields = ["name", "slug", "provider__name"]
    autocomplete_fields = ["provider"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ServiceAliasInline]


@admin.register(Region)
class RegionAdmin(ReferenceAdmin):
    list_display = ["code", "name", "provider", "published"]
    list_filter = ["provider"]
    list_select_related = ["provider"]
    search_fields = ["code", "name", "provider__name"]
    autocomplete_fields = ["provider"]
    inlines = [RegionAliasInline]


@admin.register(Customer)
class CustomerAdmin(ReferenceAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["name", "slug", "url", "provider", "published"]
    list_select_related = ["provider"]
    search_fields = ["name", "slug"]
    autocomplete_fields = ["provider"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CustomerAliasInline]


@admin.register(Source)
class SourceAdmin(ArchivedCopiesShown, ReferenceAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["title", "publisher", "kind", "published_on"]
    list_filter = ["kind"]
    search_fields = ["title", "publisher", "author", "url"]
    date_hierarchy = "published_on"
