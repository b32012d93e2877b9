"""The status pages the knowledge base follows: their configuration (kept in history) and how
their last sync went, with "Sync now" for Publishers."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from outages.admin.history import HistoryAdmin
from outages.admin.reference import HTTPS_URLS
from outages.interchange.syncing import SyncFailed, sync
from outages.models import StatusPage

# Characters of the last result the list shows; the change page shows all of it.
SHORT_RESULT = 90


@admin.register(StatusPage)
class StatusPageAdmin(HistoryAdmin):
    formfield_overrides = HTTPS_URLS
    change_form_template = "admin/outages/statuspage/change_form.html"
    history_note = (
        "Every change to this page's provider, format, address or switch is kept; what each "
        "sync records about itself is not."
    )
    list_display = ["url", "provider", "format", "enabled", "last_fetched_at", "outcome", "result"]
    list_filter = ["enabled", "format", "last_ok", "provider"]
    list_select_related = ["provider"]
    search_fields = ["url", "provider__name"]
    autocomplete_fields = ["provider"]
    fields = ["provider", "format", "url", "enabled", "last_fetched_at", "outcome", "last_result"]
    readonly_fields = ["last_fetched_at", "outcome", "last_result"]
    actions = ["sync_now"]

    @admin.display(description="last sync", ordering="last_ok")
    def outcome(self, page):
        return {True: "OK", False: "failed", None: "never run"}[page.last_ok]

    @admin.display(description="last result")
    def result(self, page):
        return Truncator(page.last_result).chars(SHORT_RESULT)

    @admin.action(description="Sync now", permissions=["change"])
    def sync_now(self, request, queryset):
        for page in queryset.select_related("provider"):
            self.run_sync(request, page)

    def run_sync(self, request, page):
        """Sync as the signed-in user: the importer holds them to their role."""
        try:
            report = sync(page.provider.slug, page.format, page.url, page=page, user=request.user)
        except SyncFailed as failure:
            self.message_user(request, f"Sync failed: {failure}", messages.ERROR)
            return
        self.message_user(request, report.summary(), messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/sync/",
                self.admin_site.admin_view(require_POST(self.sync_view)),
                name="outages_statuspage_sync",
            ),
            *super().get_urls(),
        ]

    def sync_view(self, request, object_id):
        page = self.get_object(request, unquote(object_id))
        if page is None:  # an unknown or malformed id: not found, as on the change page
            raise Http404("No such status page.")
        if not self.has_change_permission(request, page):
            raise PermissionDenied
        self.run_sync(request, page)
        return redirect("admin:outages_statuspage_change", page.pk)
