"""Choices of an incident's rows read once for all its rows, not once per row.

Each row of the incident's form names other rows: its id, the source it cites, the customer an
impact is about. Django reads each of them with a query of its own, twice per row (to label the
autocomplete widget, and to check the value on a save): on a postmortem of dozens of rows that
is dozens of round trips, which a loaded server pays in seconds. preload() reads the rows the
values of one field name, for every form of a formset, in one query; a value it did not find
(mistyped, or no row's) is checked the ordinary way, and refused at its row.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError


class PreloadedChoiceField(forms.ModelChoiceField):
    known = None  # {str(pk): row}, given by preload()

    def to_python(self, value):
        if self.known is not None and value not in self.empty_values:
            row = self.known.get(str(value))
            if row is not None:
                return row
        return super().to_python(value)


class PreloadedMultipleChoiceField(forms.ModelMultipleChoiceField):
    known = None

    def clean(self, value):
        keys = [str(key) for key in value] if isinstance(value, list | tuple) else []
        if self.known is None or not keys or any(key not in self.known for key in keys):
            return super().clean(value)
        self.run_validators(value)
        return [self.known[key] for key in dict.fromkeys(keys)]


class PreloadedAutocomplete:
    """The selected options, as Django's autocomplete widgets give them, from preloaded rows.
    A value that names no row shows no option (Django's own widget fails on one that is no key
    at all, when a refused save shows the form again)."""

    known = None  # {str(pk): row}, given by preload(), in the field's order

    def optgroups(self, name, value, attr=None):
        empty = self.choices.field.empty_values
        selected = {str(v) for v in value if str(v) not in empty}
        if self.known is None:
            return super().optgroups(name, value, attr)
        options = []
        if not self.is_required and not self.allow_multiple_selected:
            options.append(self.create_option(name, "", "", False, 0))
        for key, row in self.known.items():
            if key in selected and (self.allow_multiple_selected or len(options) < 2):
                label = self.choices.field.label_from_instance(row)
                options.append(self.create_option(name, row.pk, label, True, len(options)))
        return [(None, options, 0)]


class PreloadedAutocompleteSelect(PreloadedAutocomplete, AutocompleteSelect):
    pass


class PreloadedAutocompleteSelectMultiple(PreloadedAutocomplete, AutocompleteSelectMultiple):
    pass


PRELOADED_FIELDS = (PreloadedChoiceField, PreloadedMultipleChoiceField)


class RowInline(admin.StackedInline):
    """An incident's rows on its form, with the rows each names (its source, its customer, its
    services) read once for all rows (preload())."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request):
            using = kwargs.get("using")
            kwargs.setdefault(
                "widget", PreloadedAutocompleteSelect(db_field, self.admin_site, using=using)
            )
        kwargs.setdefault("form_class", PreloadedChoiceField)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request):
            using = kwargs.get("using")
            kwargs.setdefault(
                "widget",
                PreloadedAutocompleteSelectMultiple(db_field, self.admin_site, using=using),
            )
        kwargs.setdefault("form_class", PreloadedMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def preloaded(formset, form):
    """For BaseModelFormSet.add_fields: the row's id field checked against preloaded rows."""
    name = formset.model._meta.pk.name
    field = form.fields.get(name)
    if type(field) is forms.ModelChoiceField:
        form.fields[name] = PreloadedChoiceField(
            field.queryset, initial=field.initial, required=False, widget=field.widget
        )


def preload(forms_):
    """Give each preloaded field of these forms (one formset's) the rows their values name,
    read in one query per field. Unbound forms need only the widgets' labels."""
    if not forms_:
        return
    for name, field in forms_[0].fields.items():
        if not isinstance(field, PRELOADED_FIELDS):
            continue
        widgets = [widget_of(form.fields[name]) for form in forms_]
        if not forms_[0].is_bound and not isinstance(widgets[0], PreloadedAutocomplete):
            continue
        values = set()
        for form in forms_:
            value = form[name].value()
            values.update(map(str, value) if isinstance(value, list | tuple) else [str(value)])
        keys = [value for value in values if is_key(field, value)]
        known = {str(row.pk): row for row in field.queryset.filter(pk__in=keys)} if keys else {}
        for form, widget in zip(forms_, widgets, strict=True):
            form.fields[name].known = known
            if isinstance(widget, PreloadedAutocomplete):
                widget.known = known


def is_key(field, value):
    """Whether the value can be a key of the field's rows; the field's check refuses the rest."""
    if value in {str(empty) for empty in field.empty_values}:
        return False
    try:
        field.queryset.model._meta.pk.to_python(value)
    except ValidationError:
        return False
    return True


def widget_of(field):
    """The field's own widget, inside the admin's wrapper (the add and change links)."""
    return getattr(field.widget, "widget", field.widget)
