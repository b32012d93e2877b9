"""An incident's rows on its form (timeline events, customer impacts, action items, corrections):
each folded to a one-line summary that opens to the row's fields, with times in the incident's
zone.

A postmortem holds dozens of rows; unfolded, the form is many screens tall. The summary says
which row is which; a new row, a row with an error and a row changed in a save that failed are
open, so nothing the editor must see is folded away.
"""

from functools import cached_property

from django import forms
from django.forms.models import BaseInlineFormSet
from django.utils.html import strip_tags
from django.utils.text import Truncator

from outages import text
from outages.admin.local_times import set_zone, submitted_zone
from outages.admin.preloaded import preload, preloaded
from outages.models import ActionItem, Correction, CustomerImpact, TimelineEvent

# How much of a row's text its summary line carries; the line is also cut to its width in CSS.
SUMMARY_CHARACTERS = 110


class IncidentRowForm(forms.ModelForm):
    """A row of an incident: its times in the incident's zone (set by ZonedFormSet), its summary
    line, and whether it starts open."""

    zone_name = None

    @property
    def summary(self):
        return summary(self.instance, self.zone_name or "UTC")

    @property
    def starts_open(self):
        if self.instance.pk is None or self.errors:
            return True
        return self.is_bound and self.has_changed()


class ZonedFormSet(BaseInlineFormSet):
    """Rows whose times are in the incident's zone: the zone posted with the incident in the
    same save (it applies to every time of that save), or the stored one on a fresh form."""

    @cached_property
    def zone_name(self):
        if self.is_bound:
            return submitted_zone(self.data)
        return self.instance.time_zone

    @cached_property
    def forms(self):
        forms = [self.zoned(form) for form in super().forms]
        preload(forms)
        return forms

    def add_fields(self, form, index):
        super().add_fields(form, index)
        preloaded(self, form)

    @property
    def empty_form(self):
        return self.zoned(super().empty_form)

    def zoned(self, form):
        form.zone_name = self.zone_name
        set_zone(form, self.zone_name)
        return form


def summary(row, zone_name):
    """The one line a folded row shows: “24 Dec 2012, 12:24 PM PST · 20:24 UTC · Trigger ·
    marks the start · A maintenance process…”, “Netflix · Down · …”, “Prevent · Done · …”,
    “Claim: … · Fact: …”."""
    if isinstance(row, TimelineEvent):
        parts = [*when(row.occurred_at, zone_name, row.precision), row.get_kind_display()]
        if row.marks:
            parts.append(f"marks the {row.get_marks_display().lower()}")
        if row.is_key_event:
            parts.append("key event")
        parts.append(strip_tags(row.description_html) or row.description)
    elif isinstance(row, CustomerImpact):
        parts = [str(row.customer), row.get_level_display()]
        if row.started_at:
            parts.extend(when(row.started_at, zone_name))
        parts.append(strip_tags(row.description_html) or row.description)
    elif isinstance(row, ActionItem):
        parts = [row.get_kind_display(), row.get_status_display(), row.description]
    elif isinstance(row, Correction):
        parts = [f"Claim: {row.claim}", f"Fact: {row.fact}"]
    else:
        parts = [str(row)]
    line = " · ".join(part.strip() for part in parts if part and part.strip())
    return Truncator(" ".join(line.split())).chars(SUMMARY_CHARACTERS)


def when(moment, zone_name, precision="minute"):
    """The time in its zone, and in UTC where that says more (outages.text's rules)."""
    local = text.moment_text(moment, zone_name, precision)
    utc = text.utc_beside(
        moment, zone_name, precision, local_date=text.local_time(moment, zone_name).date()
    )
    return [local, utc] if utc else [local]
