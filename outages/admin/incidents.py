"""The incident's editing screens: the form with its inlines, the workflow buttons and actions,
revision history with diffs and restore, recovery of deleted incidents, and Markdown preview."""

import base64
import hashlib

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.text import capfirst
from django.views.decorators.http import require_POST
from reversion.models import Version

from outages import page_cache, search, summaries, text, workflow
from outages.admin.figures import FigureInline
from outages.admin.forms import (
    TEXT_AS_TYPED,
    CorrectionFormSet,
    CustomerImpactForm,
    IncidentForm,
    SourcesAttachedFormSet,
    TimelineEventForm,
    TimelineFormSet,
)
from outages.admin.history import HistoryAdmin
from outages.admin.ledger import ActionItemForm, ActionItemStateInline, PromiseLinkInline
from outages.admin.preloaded import RowInline
from outages.admin.relations import RelationInline, RelationsToThisInline
from outages.admin.rows import IncidentRowForm
from outages.interchange.documents import ImportFailed, precision_key, read
from outages.interchange.importing import Importer
from outages.models import (
    MILESTONES,
    ActionItem,
    Correction,
    CustomerImpact,
    Incident,
    TimelineEvent,
    derive_statuses,
    far_off,
    validate_time_zone,
)
from outages.rendering import RenderBudget, budget_problem, check_markdown, render_markdown

# Stacked rows folded to one line each (outages.admin.rows).
FOLDED_ROWS = "admin/outages/edit_inline/folded_stacked.html"


class TimelineEventInline(RowInline):
    formfield_overrides = TEXT_AS_TYPED
    model = TimelineEvent
    form = TimelineEventForm
    formset = TimelineFormSet
    template = FOLDED_ROWS
    extra = 0
    autocomplete_fields = ["source"]
    fields = [
        ("position", "occurred_at", "precision", "time_as_stated"),
        ("kind", "marks", "is_key_event", "source"),
        "description",
    ]


class CustomerImpactInline(RowInline):
    formfield_overrides = TEXT_AS_TYPED
    model = CustomerImpact
    form = CustomerImpactForm
    formset = SourcesAttachedFormSet
    template = FOLDED_ROWS
    extra = 0
    autocomplete_fields = ["customer", "services", "source"]
    fields = [
        ("customer", "level", "source"),
        "services",
        ("started_at", "ended_at"),
        "description",
    ]

    def get_queryset(self, request):
        # Each folded row's summary names its customer; each row shows its services.
        return super().get_queryset(request).select_related("customer").prefetch_related("services")


class ActionItemInline(RowInline):
    formfield_overrides = TEXT_AS_TYPED
    model = ActionItem
    form = ActionItemForm
    formset = SourcesAttachedFormSet
    template = FOLDED_ROWS
    extra = 0
    autocomplete_fields = ["source"]
    fields = [("position", "kind", "status", "source"), "description"]


class CorrectionInline(RowInline):
    formfield_overrides = TEXT_AS_TYPED
    model = Correction
    form = IncidentRowForm
    formset = CorrectionFormSet
    template = FOLDED_ROWS
    extra = 0
    autocomplete_fields = ["claimed_by", "settled_by"]
    fields = ["position", "claim", "fact", ("claimed_by", "settled_by"), "claimed_in"]


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


def run_transition(modeladmin, request, queryset, name):
    done = 0
    for incident in queryset:
        try:
            workflow.apply(incident, name, request.user)
            done += 1
        except (PermissionDenied, ValidationError) as error:
            modeladmin.message_user(request, " ".join(error_messages(error)), messages.ERROR)
    if done:
        label = workflow.TRANSITIONS[name].label.lower()
        modeladmin.message_user(request, f"{label.capitalize()}: {done} incident(s).")


def error_messages(error):
    return error.messages if isinstance(error, ValidationError) else [str(error)]


@admin.register(Incident)
class IncidentAdmin(HistoryAdmin):
    formfield_overrides = TEXT_AS_TYPED
    form = IncidentForm
    change_form_template = "admin/outages/incident/change_form.html"
    change_list_template = "admin/outages/incident/change_list.html"
    history_note = (
        "Every save of this incident is kept with its timeline, customer impacts, action items, "
        "corrections, figures and relations to other incidents."
    )
    restore_note = (
        "brings back its text and its timeline, impacts, action items, corrections, figures "
        "and relations as they were; the restore is itself a new revision, and the workflow "
        "state stays as it is"
    )
    list_display = ["title", "provider", "started_at", "root_cause_category", "status"]
    list_filter = ["status", "provider", "services", "root_cause_category", YearFilter]
    list_select_related = ["provider"]
    search_fields = ["title", "slug", "summary"]
    date_hierarchy = "started_at"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["provider", "services", "regions", "sources"]
    readonly_fields = ["status", "published_at", "published_by", "updated_at", "as_readers_see_it"]
    save_on_top = True
    actions = ["submit_for_review", "return_to_draft", "publish"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "provider", "services", "regions", "loaded_version"]}),
        (
            "When",
            {
                "description": "Type every time of this incident (its timeline's and customer "
                "impacts' too) in the zone given here, as the source states it; each is stored "
                "in UTC, shown beside it. The zone sent with a save reads every time of that "
                "save: change it, and the same clock times are read in the new zone. So on a "
                "new incident, give the zone with the times. When the zone is “unstated”, "
                "enter times as the source wrote them.",
                "fields": [
                    "time_zone",
                    *[(name, precision_key(name)) for name in MILESTONES],
                    "as_readers_see_it",
                ],
            },
        ),
        (
            "Postmortem (Markdown)",
            {
                "fields": [
                    "root_cause_category",
                    "provider_impact",
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
        (
            "Workflow",
            {
                "fields": [
                    "status",
                    ("published_at", "published_by"),
                    "updated_at",
                    "withdrawn_reason",
                ]
            },
        ),
    ]
    inlines = [TimelineEventInline, CustomerImpactInline, ActionItemInline, CorrectionInline]
    inlines += [ActionItemStateInline, PromiseLinkInline, FigureInline]
    inlines += [RelationInline, RelationsToThisInline]

    class Media:
        css = {"all": ["outages/admin/editing.css"]}
        js = ["outages/admin/preview.js"]

    @admin.display(description="As readers see it")
    def as_readers_see_it(self, obj):
        """The saved milestones in the incident's own zone and at their precision, as pages
        write them (outages.text): a time known to the day is typed as that day's 00:00, and
        pages say the day alone."""
        if obj is None or obj.pk is None:
            return "Shown once the incident is saved."
        return format_html_join(
            "",
            "<div>{}: {}</div>",
            (
                (
                    capfirst(label),
                    text.moment_text(moment, obj.time_zone, precision) or "not known",
                )
                for label, moment, precision in obj.milestones
            ),
        )

    # --- Permissions: the server decides, whatever the buttons show ----------------------

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and workflow.can_edit(request.user, obj)

    def has_publish_permission(self, request):
        return workflow.is_publisher(request.user)

    # --- Saving ---------------------------------------------------------------------------

    def save_related(self, request, form, formsets, change):
        # Runs after the incident and every inline row are saved: the one place where the
        # whole incident is known to be current, so feeds and search catch timeline edits too.
        super().save_related(request, form, formsets, change)
        incident = form.instance
        derive_statuses([incident.pk])  # the items' statuses follow their histories
        if change and (form.has_changed() or any(formset.has_changed() for formset in formsets)):
            incident.touch()
        search.update_index([incident.pk])
        warn_far_off_events(request, incident)

    def save_model(self, request, obj, form, change):
        if change:
            # IncidentForm.clean() holds the row lock and checked the number is current.
            obj.version += 1
            if "time_zone" in form.changed_data:
                self.message_user(
                    request,
                    f"The time zone is now {obj.time_zone}: every time on the form was read in "
                    "it, so times typed for the old zone moved. Check them.",
                    messages.WARNING,
                )
        super().save_model(request, obj, form, change)
        request.saved_incident = obj

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # One save, the incident with its inlines: all its fields share one rendering budget,
        # drawn on while the forms are validated and spent on saving what they rendered. All
        # formatted text is rendered at validation, short too: a form holds many fields.
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        with RenderBudget(everything=True):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        return self.then_transition(request, super().add_view(request, form_url, extra_context))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        pks = changed_pks(request, object_id)
        with page_cache.changing(pks), summaries.changing(pks):
            response = super().change_view(request, object_id, form_url, extra_context)
            return self.then_transition(request, response)

    def delete_model(self, request, obj):
        with page_cache.changing([obj.pk]), summaries.changing([obj.pk]):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        pks = list(queryset.values_list("pk", flat=True))
        with page_cache.changing(pks), summaries.changing(pks):
            super().delete_queryset(request, queryset)

    def then_transition(self, request, response):
        """After a save (and its revision, which VersionAdmin closes around these views), move
        the incident on if a workflow button was pressed: a second revision, so the history
        shows both and a refused step never loses the edit."""
        incident = getattr(request, "saved_incident", None)
        name = request.POST.get("_transition") if request.method == "POST" else None
        if name and incident is not None and response.status_code == 302:
            self.apply_transition(request, incident, name)
            return redirect("admin:outages_incident_change", incident.pk)
        return response

    def apply_transition(self, request, incident, name):
        try:
            workflow.apply(incident, name, request.user)
        except (PermissionDenied, ValidationError) as error:
            for message in error_messages(error):
                self.message_user(request, f"Saved, but not moved on: {message}", messages.ERROR)
        else:
            label = workflow.TRANSITIONS[name].label
            self.message_user(request, f"{label}: done.", messages.SUCCESS)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["transitions"] = workflow.available(request.user, obj) if obj else []
        context["preview_url"] = reverse("admin:outages_incident_preview")
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- Actions --------------------------------------------------------------------------

    @admin.action(description="Submit selected incidents for review", permissions=["change"])
    def submit_for_review(self, request, queryset):
        run_transition(self, request, queryset, "submit")

    @admin.action(description="Return selected incidents to draft", permissions=["change"])
    def return_to_draft(self, request, queryset):
        run_transition(self, request, queryset, "return")

    @admin.action(description="Publish selected incidents", permissions=["publish"])
    def publish(self, request, queryset):
        run_transition(self, request, queryset, "publish")

    # --- Import and preview (history, compare and restore: HistoryAdmin) -------------------

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="outages_incident_import",
            ),
            path(
                "preview/",
                self.admin_site.admin_view(require_POST(self.preview_view)),
                name="outages_incident_preview",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Upload a document, see the validation result and the dry-run report, then confirm.
        Both steps run the same Importer as `manage.py import_incidents`."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        report, problems, upload = None, [], request.session.get(IMPORT_SESSION_KEY)
        warnings = []
        confirming = request.method == "POST" and "confirm" in request.POST
        if confirming and upload and request.POST.get("digest") == upload["digest"]:
            options = upload["options"]
            raw = base64.b64decode(upload["content"])
            report, problems, warnings = run_import(
                request, upload["name"], raw, options, dry_run=False
            )
            if report is not None:
                del request.session[IMPORT_SESSION_KEY]
                self.message_user(request, report.summary(), messages.SUCCESS)
                return redirect("admin:outages_incident_changelist")
        elif request.method == "POST" and form.is_valid():
            upload_file = form.cleaned_data["file"]
            if upload_file.size > IMPORT_MAX_BYTES:
                problems = [f"{upload_file.name}: is larger than 5 MB; use the command instead."]
            else:
                raw = upload_file.read()
                options = {
                    "zone": form.cleaned_data["timezone"] or None,
                    "publish": form.cleaned_data["publish"],
                    "update_references": form.cleaned_data["update_references"],
                }
                report, problems, warnings = run_import(
                    request, upload_file.name, raw, options, dry_run=True
                )
                if report is not None:
                    upload = {
                        "name": upload_file.name,
                        "content": base64.b64encode(raw).decode(),
                        "digest": hashlib.sha256(raw).hexdigest(),
                        "options": options,
                    }
                    request.session[IMPORT_SESSION_KEY] = upload
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import incidents",
            "form": form,
            "report": report,
            "problems": problems,
            "upload": upload if report is not None else None,
            "warnings": warnings,
            "is_publisher": workflow.is_publisher(request.user),
        }
        return TemplateResponse(request, "admin/outages/incident/import.html", context)

    def preview_view(self, request):
        """Markdown as readers will see it: the public pages' renderer and sanitiser."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        text = request.POST.get("text", "")
        with RenderBudget():
            problems = check_markdown(text) or list(filter(None, [budget_problem(text)]))
            html = "" if problems else render_markdown(text)
        return JsonResponse({"html": html, "errors": problems})

    def recover_view(self, request, version_id, extra_context=None):
        version = get_object_or_404(Version, pk=version_id)
        pks = changed_pks(request, version.object_id)
        with page_cache.changing(pks), summaries.changing(pks):
            return super().recover_view(request, version_id, extra_context)


def warn_far_off_events(request, incident):
    """A notice for each timeline event far outside the incident (models.far_off): saved, as a
    follow-up months later can be right, but worth a second look at its date."""
    for event in incident.events.order_by("position"):
        message = far_off(incident, event.occurred_at, event.precision)
        if message:
            at = text.moment_text(event.occurred_at, incident.time_zone, event.precision)
            messages.warning(
                request,
                f"Timeline event {event.position} ({event.get_kind_display()}, {at}): {message}.",
            )


def changed_pks(request, object_id):
    """The incident a POST to an admin screen may change; a GET changes nothing."""
    if request.method != "POST" or not str(object_id).isdigit():
        return []
    return [int(object_id)]


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="An incident document, YAML or JSON (see docs/incident-format.md); at most 5 MB."
    )
    timezone = forms.CharField(
        required=False,
        help_text="For incidents that give no time_zone: the IANA zone their times without a "
        "UTC offset are in (or “unstated”). An incident's own time_zone comes first.",
        validators=[validate_time_zone],
    )
    publish = forms.BooleanField(
        required=False, help_text="Publish the incidents (publishers only); otherwise drafts."
    )
    update_references = forms.BooleanField(
        required=False,
        label="Update references",
        help_text="Write the document's values over stored providers, services, regions, "
        "customers and sources that differ (publishers only); otherwise each difference is a "
        "conflict and nothing is written.",
    )


IMPORT_SESSION_KEY = "outages_import_upload"
IMPORT_MAX_BYTES = 5 * 1024 * 1024


def run_import(request, name, raw, options, dry_run):
    """(report, [], warnings) or (None, problems, warnings) for one uploaded document."""
    if options["publish"] and not workflow.is_publisher(request.user):
        return None, ["Only publishers may import incidents as published."], []
    if options.get("update_references") and not workflow.is_publisher(request.user):
        return None, ["Only publishers may update stored reference rows."], []
    document, problems = read(name, raw)
    if document is None:
        return None, [str(problem) for problem in problems], []
    importer = Importer(
        zone=options["zone"],
        publish=options["publish"],
        dry_run=dry_run,
        user=request.user,
        update_references=options.get("update_references", False),
    )
    try:
        report = importer.run([document])
    except ImportFailed as failure:
        return None, [str(problem) for problem in failure.problems], failure.warnings
    return report, [], report.warnings
