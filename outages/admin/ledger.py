"""The promise ledger on the incident's form: each action item's history of states, and its links
to later incidents. They are rows of the incident (edited, saved and recorded in history with
it); each names one of the incident's own action items, chosen from a list of them. An action
item added in the same save is listed once it is saved."""

from functools import cached_property

from django import forms
from django.db import models
from django.utils.text import Truncator

from outages.admin.forms import TEXT_AS_TYPED, SourcesAttachedFormSet
from outages.admin.preloaded import RowInline
from outages.admin.rows import IncidentRowForm
from outages.models import ActionItem, ActionItemState, PromiseLink

FOLDED_ROWS = "admin/outages/edit_inline/folded_stacked.html"
# A date typed as the source gives it, with no calendar or "Today" shortcut (a state is dated
# by its source, never by today).
TYPED_DATES = {
    **TEXT_AS_TYPED,
    models.DateField: {"widget": forms.DateInput(attrs={"placeholder": "YYYY-MM-DD"})},
}


class ActionItemForm(IncidentRowForm):
    """An action item; its status follows its history once it has one, so it is changed by
    adding a state, never over the history's head."""

    def clean(self):
        cleaned = super().clean()
        item = self.instance
        if item.pk and "status" in self.changed_data and item.states.exists():
            self.add_error(
                "status",
                "This item has a history of states: add a state under “Action item states” "
                "to change its status.",
            )
        return cleaned


class ItemRowsFormSet(SourcesAttachedFormSet):
    """Rows that name one of the incident's action items: the choices read once for all rows."""

    @cached_property
    def incident_items(self):
        if self.instance.pk is None:
            return []
        return list(ActionItem.objects.filter(incident=self.instance).order_by("position"))

    def add_fields(self, form, index):
        super().add_fields(form, index)
        field = form.fields.get("action_item")
        if field is not None:
            field.queryset = ActionItem.objects.filter(incident_id=self.instance.pk)
            field.choices = [("", "---------")] + [
                (item.pk, f"{item.position}. {Truncator(item.description).chars(70)}")
                for item in self.incident_items
            ]


class ActionItemStateInline(RowInline):
    formfield_overrides = TYPED_DATES
    model = ActionItemState
    form = IncidentRowForm
    formset = ItemRowsFormSet
    template = FOLDED_ROWS
    extra = 0
    autocomplete_fields = ["source"]
    verbose_name_plural = "action item states (the promise ledger)"
    fields = [("position", "action_item", "state"), ("stated_on", "stated_on_precision", "source")]


class PromiseLinkInline(RowInline):
    formfield_overrides = TEXT_AS_TYPED
    model = PromiseLink
    fk_name = "incident"
    form = IncidentRowForm
    formset = ItemRowsFormSet
    template = FOLDED_ROWS
    extra = 0
    autocomplete_fields = ["later_incident", "source"]
    verbose_name_plural = "links from action items to later incidents"
    fields = [("position", "action_item", "kind"), ("later_incident", "source"), "note"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "note" and field is not None:
            field.widget = forms.TextInput(attrs={"size": 80})
        return field
