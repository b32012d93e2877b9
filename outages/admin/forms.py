"""The editors' forms: the lost-update check every incident save goes through, validation that
speaks plainly at the field, and times typed in the incident's zone (local_times)."""

import re
from functools import cached_property

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse_lazy
from django.utils.html import format_html, format_html_join

from outages import revisions
from outages.admin.local_times import set_zone, submitted_zone, zoned
from outages.admin.rows import IncidentRowForm, ZonedFormSet
from outages.interchange.documents import precision_key
from outages.models import (
    MILESTONES,
    POSTMORTEM_SECTIONS,
    ArchivedCopy,
    Incident,
    Milestone,
    Source,
    derive_milestones,
    milestone_disagreement,
)

MARKDOWN_WIDGET_ATTRS = {
    "class": "vLargeTextField markdown-source",
    "data-preview-url": reverse_lazy("admin:outages_incident_preview"),
}


class TypedText(forms.CharField):
    """A multi-line text as typed, with line breaks as documents and fixtures store them.

    Browsers send every line break of a textarea as CR LF (the HTML form encoding), while the
    stored text has LF: without this, saving a form unchanged would "change" every multi-line
    text, and readers would see an update that is none.
    """

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n") if value else value


# For every admin screen's formfield_overrides: multi-line texts are TypedText.
TEXT_AS_TYPED = {models.TextField: {"form_class": TypedText}}


class IncidentForm(forms.ModelForm):
    # The lock number the editor's page was built from, sent back with the save.
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Incident
        fields = [
            "title",
            "slug",
            "provider",
            "services",
            "regions",
            "sources",
            "time_zone",
            *[name for milestone in MILESTONES for name in (milestone, precision_key(milestone))],
            "root_cause_category",
            "provider_impact",
            *POSTMORTEM_SECTIONS,
            "withdrawn_reason",
        ]
        widgets = {
            name: forms.Textarea(attrs=MARKDOWN_WIDGET_ATTRS) for name in POSTMORTEM_SECTIONS
        }
        field_classes = zoned(MILESTONES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version
        # The zone submitted with the times reads them all, the rows' too (ZonedFormSet): an
        # editor who changes the zone changes what every time on the form means.
        if self.is_bound:
            zone_name = submitted_zone(self.data, self.add_prefix("time_zone"))
        else:
            zone_name = self.initial.get("time_zone") or self.instance.time_zone
        set_zone(self, zone_name)

    def clean(self):
        data = super().clean()
        if self.instance.pk:
            self.check_not_stale(data.get("loaded_version"))
        return data

    def check_not_stale(self, loaded):
        """Refuse the save if anyone saved the incident since this form was opened.

        The admin runs the whole request in one transaction, so the row lock taken here holds
        until this save commits: two saves cannot both pass the check.
        """
        current = (
            Incident.objects.select_for_update()
            .filter(pk=self.instance.pk)
            .values_list("version", flat=True)
            .first()
        )
        if loaded is not None and loaded == current:
            return
        changes = revisions.changes_since(self.instance, loaded) if loaded is not None else []
        listed = format_html_join(
            "",
            "<li>{} — {}: {}</li>",
            ((f"{when:%d %b %Y %H:%M} UTC", who or "someone", what) for when, who, what in changes),
        )
        raise ValidationError(
            format_html(
                "Someone else saved this incident after you opened it, so your changes were "
                "<strong>not</strong> saved and theirs are kept. {}"
                "Copy anything you want to keep, <a href='{}'>reload the incident</a> to see "
                "their version, and apply your changes again.",
                format_html("What they changed:<ul>{}</ul>", listed) if changes else "",
                reverse_lazy("admin:outages_incident_change", args=[self.instance.pk]),
            ),
            code="stale",
        )


# A clock time ("12:24", "5:02 PM") with no zone or offset after it.
CLOCK = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s*(a\.?m\.?|p\.?m\.?)", re.IGNORECASE)
ZONE = re.compile(
    r"\b(UTC|GMT|Z|[A-Z]{1,2}[SD]?T|PT|ET|CT|MT|Pacific|Eastern|Central|Mountain)\b|[+-]\d{2}:?\d{2}"
)


class TimelineEventForm(IncidentRowForm):
    class Meta:
        field_classes = zoned(["occurred_at"])

    def clean_time_as_stated(self):
        text = self.cleaned_data.get("time_as_stated", "")
        if "time_as_stated" in self.changed_data and CLOCK.search(text) and not ZONE.search(text):
            raise ValidationError(
                "This time has no time zone. Add the zone the source gives (“12:24 PM PST”, "
                "“01:00 UTC”), so readers and the UTC column agree."
            )
        return text


class CustomerImpactForm(IncidentRowForm):
    class Meta:
        field_classes = zoned(["started_at", "ended_at"])


class SourcesAttachedFormSet(ZonedFormSet):
    """Rows may cite only sources listed on the incident itself (its Sources field)."""

    source_fields = ["source"]

    def clean(self):
        super().clean()
        attached = set(self.data.getlist("sources"))
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            for name in self.source_fields:
                source = form.cleaned_data.get(name)
                if source is not None and str(source.pk) not in attached:
                    form.add_error(
                        name,
                        f"“{source}” is not among this incident's sources. Add it under "
                        "Sources first, or choose one that is listed there.",
                    )


class CorrectionFormSet(SourcesAttachedFormSet):
    source_fields = ["claimed_by", "settled_by"]

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "claimed_in" in form.fields:
            field = form.fields["claimed_in"]
            field.queryset, field.choices = self.archived_versions

    @cached_property
    def archived_versions(self):
        """The versions a correction may say the claim was made in: the archived copies of the
        incident's sources (those posted with it, in a save), read once for all its rows."""
        if self.is_bound:
            sources = Source.objects.filter(
                pk__in=[pk for pk in self.data.getlist("sources") if pk.isdigit()]
            )
        else:
            sources = self.instance.sources.all() if self.instance.pk else Source.objects.none()
        copies = ArchivedCopy.objects.citable().of_sources(sources).defer("body")
        return copies, [("", "---------"), *((copy.pk, str(copy)) for copy in copies)]


class TimelineFormSet(SourcesAttachedFormSet):
    """The timeline inline. An event that marks a milestone and the milestone are one fact
    (models.milestone_disagreement): an empty milestone is filled from its event, which saves the
    editor typing the time twice; a milestone that says another time is refused at the row, as
    only the editor knows which of the two is right. One event marks each milestone."""

    def clean(self):
        super().clean()
        incident = self.instance
        marking = {}  # marks -> the form of the event that marks it
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("marks"):
                continue
            marks = data["marks"]
            if marks in marking:
                form.add_error(
                    "marks",
                    f"Another event (position {marking[marks].cleaned_data.get('position')}) "
                    f"already marks the {Milestone(marks).label.lower()}. One event states each "
                    "milestone.",
                )
                continue
            marking[marks] = form
        marked = [
            (marks, form.cleaned_data.get("occurred_at"), form.cleaned_data.get("precision"))
            for marks, form in marking.items()
        ]
        filled = derive_milestones(incident, marked)
        for marks, form in marking.items():
            message = milestone_disagreement(incident, marks, form.cleaned_data.get("occurred_at"))
            if message:
                form.add_error(
                    "marks",
                    f"{message}. Make them the same time, or empty that field to take the "
                    "event's time.",
                )
        if filled:
            # The filled milestones must still come in order (the incident form checked the
            # ones the editor typed); say so here rather than let the database refuse the save.
            try:
                incident.clean()
            except ValidationError as error:
                for name in filled:
                    setattr(incident, name, None)
                raise ValidationError(
                    [
                        f"Filled from the timeline, {text[0].lower()}{text[1:]}"
                        for text in error.messages
                    ]
                ) from None

    def save_existing_objects(self, commit=True):
        # A mark may move from one event to another in one save. Clear the marks that change
        # first, or the one-event-per-milestone constraint refuses the save of the first row.
        if commit:
            changing = [
                form.instance.pk
                for form in self.initial_forms
                if "marks" in form.changed_data or self._should_delete_form(form)
            ]
            if changing:
                self.model.objects.filter(pk__in=changing).exclude(marks="").update(marks="")
        return super().save_existing_objects(commit)
