"""An incident's typed relations to other incidents, on its form: a row each, folded to one
line like its other rows, with the same roles (the incident's form decides who may save)."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.text import capfirst

from outages.admin.forms import TEXT_AS_TYPED
from outages.admin.preloaded import RowInline
from outages.admin.rows import IncidentRowForm, ZonedFormSet
from outages.models import IncidentRelation


class RelationForm(IncidentRowForm):
    @property
    def summary(self):
        row = self.instance
        if row.other_id is None:
            return "New relation"
        return f"{capfirst(row.get_kind_display())} · {row.other.title} · {row.note}"


class RelationFormSet(ZonedFormSet):
    """The source may be one the incident cites in this same save (its Sources field as
    posted), and two rows of one save may not state the same relation."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if self.is_bound:
            posted = self.data.getlist("sources")
            form.instance.cited_source_ids = {int(pk) for pk in posted if pk.isdigit()}

    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("other") or not data.get("kind"):
                continue
            key = (data["kind"], data["other"].pk)
            if key in seen:
                form.add_error(
                    "other", ValidationError("Another row of this save states the same relation.")
                )
            seen.add(key)


class RelationInline(RowInline):
    formfield_overrides = TEXT_AS_TYPED
    model = IncidentRelation
    fk_name = "incident"
    form = RelationForm
    formset = RelationFormSet
    template = "admin/outages/edit_inline/folded_stacked.html"
    extra = 0
    autocomplete_fields = ["other", "source"]
    fields = [("kind", "other"), ("note", "source")]
    verbose_name = "relation to another incident"
    verbose_name_plural = "relations to other incidents"

    def get_queryset(self, request):
        # Each folded row's summary names the other incident.
        return super().get_queryset(request).select_related("other", "source")


class RelationsToThisInline(admin.TabularInline):
    """The relations other incidents hold to this one, shown for reference: each is edited on
    the incident that holds it, whose revisions it belongs to."""

    model = IncidentRelation
    fk_name = "other"
    fields = ["incident", "kind", "note", "source"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "relation held by another incident"
    verbose_name_plural = "relations other incidents hold to this one (edit them there)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("incident", "source")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
