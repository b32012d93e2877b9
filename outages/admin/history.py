"""History screens for every model with revisions (incidents and reference rows): the list of
revisions, a comparison of two, restore, and recovery of deleted rows for superusers."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst, get_text_list
from django.views.decorators.http import require_POST
from reversion.admin import VersionAdmin

from outages import restoring, revisions


class HistoryAdmin(VersionAdmin):
    """Every save in the admin is a revision (VersionAdmin) with who, when and what; this adds
    the comparison of any two revisions and a restore that is itself a new revision."""

    object_history_template = "admin/outages/object_history.html"
    compare_template = "admin/outages/compare.html"
    history_latest_first = True
    # What the history page and the restore button say is kept and brought back.
    history_note = "Every save is kept."
    restore_note = "brings back its values as they were; the restore is itself a new revision"

    def url_name(self, view):
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/history/compare/",
                self.admin_site.admin_view(self.compare_view),
                name=self.url_name("compare"),
            ),
            path(
                "<path:object_id>/history/<int:version_id>/restore/",
                self.admin_site.admin_view(require_POST(self.restore_view)),
                name=self.url_name("restore"),
            ),
            *super().get_urls(),
        ]

    def compare_view(self, request, object_id):
        obj = get_object_or_404(self.model, pk=object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        stored = revisions.described(revisions.versions(obj))
        by_id = {version.pk: version for version in stored}
        try:
            chosen = [by_id[int(request.GET[key])] for key in ("from", "to")]
        except (KeyError, ValueError):
            chosen = stored[1::-1] if len(stored) > 1 else []
        if len(chosen) < 2:
            messages.info(request, "Choose two revisions to compare.")
            return redirect(f"admin:{self.url_name('history')}", obj.pk)
        older, newer = sorted(chosen, key=lambda version: version.revision.date_created)
        fields, rows = revisions.compare(older, newer)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "title": f"Changes to “{obj}”",
            "older": older,
            "newer": newer,
            "fields": fields,
            "rows": rows,
            "rows_heading": capfirst(
                get_text_list(
                    [str(m._meta.verbose_name_plural) for m in revisions.child_models(self.model)],
                    "and",
                )
            ),
            "can_restore": self.has_change_permission(request, obj),
            "restore_note": self.restore_note,
        }
        return TemplateResponse(request, self.compare_template, context)

    def restore_view(self, request, object_id, version_id):
        obj = get_object_or_404(self.model, pk=object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        version = get_object_or_404(revisions.versions(obj), pk=version_id)
        try:
            restoring.restore(obj, version, request.user)
        except ValidationError as error:
            for message in error.messages:
                self.message_user(request, f"Not restored: {message}", messages.ERROR)
            return redirect(f"admin:{self.url_name('change')}", obj.pk)
        # The same words as the revision's own comment (restoring.restored_comment).
        self.message_user(request, restoring.restored_comment(version), messages.SUCCESS)
        return redirect(f"admin:{self.url_name('change')}", obj.pk)

    def revision_view(self, request, object_id, version_id, extra_context=None):
        # Reversion's own revert screen would bring back an incident's old lock number; the
        # compare page restores through restoring.restore(), which keeps it current.
        compare = reverse(f"admin:{self.url_name('compare')}", args=[object_id])
        latest = revisions.versions(get_object_or_404(self.model, pk=object_id)).first()
        return redirect(f"{compare}?from={version_id}&to={latest.pk if latest else version_id}")

    def history_view(self, request, object_id, extra_context=None):
        obj = get_object_or_404(self.model, pk=object_id)
        context = {
            "versions": revisions.described(revisions.versions(obj)),
            "history_note": self.history_note,
            **(extra_context or {}),
        }
        return super().history_view(request, object_id, context)

    def recoverlist_view(self, request, extra_context=None):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().recoverlist_view(request, extra_context)

    def recover_view(self, request, version_id, extra_context=None):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().recover_view(request, version_id, extra_context)
