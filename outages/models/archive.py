"""Archived copies of what the knowledge base cites or reads: each source's page (archive_sources)
and each status page's history (sync_status_page), stored compressed, a new version only when
the content changed. A provider that edits its story after the fact shows up here."""

import zlib

from django.db import models
from django.utils.functional import cached_property

from outages.archive_text import extract_text
from outages.models.reference import Source


class ArchivedCopyQuerySet(models.QuerySet):
    def of_sources(self, sources):
        """The copies of these sources (a Source queryset). A copy is of a source when it is of
        the source's URL: a sync may keep a page before any incident cites it."""
        return self.filter(url__in=sources.values("url"))

    def of_source(self, source):
        return self.filter(url=source.url)


class ArchivedCopy(models.Model):
    url = models.URLField("URL", max_length=500, db_index=True)
    # The cited source this is a copy of; empty for what a sync reads (a whole status page).
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, null=True, blank=True, related_name="archived_copies"
    )
    number = models.PositiveIntegerField(help_text="1 for the first copy of this URL, then 2, …")
    fetched_at = models.DateTimeField()
    http_status = models.PositiveSmallIntegerField("HTTP status")
    content_type = models.CharField(max_length=200, blank=True)
    # What is compared to tell a new version (see interchange/archive.py for what is hashed).
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveIntegerField(help_text="Bytes before compression.")
    body = models.BinaryField(help_text="The response body, zlib-compressed.")

    objects = ArchivedCopyQuerySet.as_manager()

    class Meta:
        ordering = ["url", "number"]
        verbose_name = "archived copy"
        verbose_name_plural = "archived copies"
        constraints = [
            models.UniqueConstraint(fields=["url", "number"], name="archived_copy_number_unique")
        ]

    def __str__(self):
        return f"{self.url} (version {self.number}, {self.fetched_at:%Y-%m-%d %H:%M} UTC)"

    @staticmethod
    def packed(content):
        """A body as it is stored (the `body` field)."""
        return zlib.compress(content)

    @cached_property
    def content(self):
        """The body as it was fetched (bytes)."""
        return zlib.decompress(bytes(self.body))

    @cached_property
    def text(self):
        """The body as text a person reads and compares (outages.archive_text)."""
        return extract_text(self.content, self.content_type)

    def is_copy_of(self, source):
        return self.url == source.url
