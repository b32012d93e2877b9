"""Status pages the knowledge base follows: where a provider publishes its incidents, in which
format, and how the last sync went (sync_status_pages)."""

from django.db import models

from outages.models.base import TextChecked
from outages.models.reference import Provider
from outages.models.versioned import versioned


# Only what an editor sets is kept in history; what each sync records about itself is not.
@versioned(fields=("provider", "format", "url", "enabled"))
class StatusPage(TextChecked):
    class Format(models.TextChoices):
        STATUSPAGE = "statuspage", "Atlassian Statuspage (/api/v2/incidents.json)"
        GCP = "gcp", "Google Cloud (incidents.json)"
        FEED = "feed", "Atom or RSS feed"

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="status_pages")
    format = models.CharField(max_length=20, choices=Format.choices)
    url = models.URLField(
        "URL", max_length=500, unique=True, help_text="The machine-readable history, not the page."
    )
    enabled = models.BooleanField(
        default=True, help_text="Synced by sync_status_pages; a page can still be synced by hand."
    )
    etag = models.CharField(max_length=300, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)
    last_fetched_at = models.DateTimeField("last fetched", null=True, blank=True, editable=False)
    last_ok = models.BooleanField("last sync worked", null=True, editable=False)
    last_result = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["provider__name", "url"]
        verbose_name = "status page"

    def __str__(self):
        return f"{self.provider.name}: {self.url}"
