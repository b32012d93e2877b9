"""The editors' view of the source archive: each archived copy with its text, what changed
between two versions of one URL, and a source's copies on its own page.

Copies are written only by archive_sources and status-page syncs, and never changed: both roles
may look (migration 0011), nobody may add, change or delete one here.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from outages.archive_text import changes
from outages.models import ArchivedCopy

CSS = {"all": ["outages/admin/editing.css", "outages/admin/archive.css"]}


def changes_url(copy, since=None):
    url = reverse("admin:outages_archivedcopy_changes", args=[copy.pk])
    return url if since is None else f"{url}?from={since}"


@admin.register(ArchivedCopy)
class ArchivedCopyAdmin(admin.ModelAdmin):
    list_display = ["url", "number", "fetched_at", "http_status", "content_type", "size_shown"]
    list_display_links = ["url", "number"]
    list_filter = ["content_type"]
    search_fields = ["url"]
    date_hierarchy = "fetched_at"
    fields = [
        "url",
        "source",
        ("number", "fetched_at"),
        ("http_status", "content_type", "size_shown"),
        "sha256",
        "what_changed",
        "archived_text",
    ]
    readonly_fields = flatten_fieldsets([(None, {"fields": fields})])
    changes_template = "admin/outages/archivedcopy/changes.html"

    class Media:
        css = CSS

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # Bodies are read only where the text is shown (one more query on a copy's page).
        return super().get_queryset(request).defer("body")

    @admin.display(description="size", ordering="size")
    def size_shown(self, copy):
        return filesizeformat(copy.size)

    @admin.display(description="what changed")
    def what_changed(self, copy):
        if copy.number == 1:
            return "This is the first archived version of this URL."
        return format_html(
            '<a href="{}">What changed since version {}</a>', changes_url(copy), copy.number - 1
        )

    @admin.display(description="text as archived")
    def archived_text(self, copy):
        if copy.text is None:
            return f"Not text ({copy.content_type or 'no content type'}): see the file as received."
        return format_html('<pre class="archived-text">{}</pre>', copy.text)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/changes/",
                self.admin_site.admin_view(self.changes_view),
                name="outages_archivedcopy_changes",
            ),
            *super().get_urls(),
        ]

    def changes_view(self, request, object_id):
        """What changed between this version and another of the same URL: by default the one
        before, else ?from=N."""
        copy = self.get_object(request, unquote(object_id))
        if copy is None:
            raise Http404("No archived copy with that number.")
        if not self.has_view_permission(request, copy):
            raise PermissionDenied
        versions = {
            other.number: other for other in ArchivedCopy.objects.series_of(copy).defer("body")
        }
        other = self.chosen_other(request, copy, versions)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": copy,
            "title": f"What changed: {copy.url}",
            "versions": [number for number in sorted(versions) if number != copy.number],
            "media": self.media,
        }
        if other is not None:
            older, newer = sorted([copy, other], key=lambda version: version.number)
            both_text = older.text is not None and newer.text is not None
            lines = changes(older.text, newer.text) if both_text else []
            context.update(
                older=older,
                newer=newer,
                lines=lines,
                added=sum(kind == "added" for kind, _ in lines),
                removed=sum(kind == "removed" for kind, _ in lines),
                chosen=other.number,
            )
        return TemplateResponse(request, self.changes_template, context)

    def chosen_other(self, request, copy, versions):
        """The version ?from= names, else the one before `copy` (None for a first version)."""
        asked = request.GET.get("from")
        if asked is not None:
            # ASCII digits only: "²" is a digit to str.isdigit() and no number to int().
            number = int(asked) if re.fullmatch(r"[0-9]{1,9}", asked) else None
            if number in versions and number != copy.number:
                return versions[number]
            messages.warning(
                request,
                f"There is no other version {asked} of this URL; showing what changed since "
                "the version before.",
            )
        earlier = [number for number in versions if number < copy.number]
        return versions[max(earlier)] if earlier else None


class ArchivedCopiesShown:
    """A source's page lists the archived copies of its URL, with a link to each and to what
    changed, for whoever may see them."""

    change_form_template = "admin/outages/source_change_form.html"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and request.user.has_perm("outages.view_archivedcopy"):
            context["archived_copies"] = list(ArchivedCopy.objects.of_source(obj).defer("body"))
            context["media"] = context["media"] + forms.Media(css=CSS)
        return super().render_change_form(request, context, add, change, form_url, obj)
