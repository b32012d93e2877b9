"""Archived copies of what the knowledge base cites or reads: each source's page (archive_sources)
and each status page's history (sync_status_page), stored compressed, a new version only when
the content changed. A provider that edits its story after the fact shows up here.

What readers may see of them (public()) and the drift rule (a copy that is not the first version
of its URL is the archive's first sight of a change the provider made) are written here once."""

import zlib

from django.db import models
from django.db.models import F, Prefetch, Q, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils.functional import cached_property

from outages.archive_text import extract_text
from outages.models.incidents import Incident
from outages.models.reference import Source

FIRST_VERSION = 1


class ArchivedCopyQuerySet(models.QuerySet):
    def public(self):
        """The copies readers may see: those of a source that a published incident cites. A
        copy of no source (a whole status page a sync read) is never public."""
        cited = Incident.sources.through.objects.filter(incident__in=Incident.objects.published())
        return self.filter(source__in=cited.values("source"))

    def revisions(self):
        """The copies that show a provider changed what it published (drift)."""
        return self.filter(ArchivedCopy.revision_condition())

    def latest_per_source(self):
        """Each source's latest copy, without its body, in one query."""
        newest_first = [F("fetched_at").desc(), F("pk").desc()]
        newest = Window(RowNumber(), partition_by=[F("source")], order_by=newest_first)
        return self.defer("body").annotate(newness=newest).filter(newness=1)

    def of_sources(self, sources):
        """The copies of these sources (a Source queryset or list)."""
        return self.filter(source__in=sources)

    def of_source(self, source):
        return self.filter(source=source)


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

    def get_absolute_url(self):
        return reverse("outages:archived_copy", args=[self.pk])

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
        """The one rule for "a copy of this source": linked to it (archive.store links a copy to
        the source of its URL, and a sync to the source it creates)."""
        return source is not None and self.source_id == source.pk

    @staticmethod
    def revision_condition(via=""):
        """The drift rule as a condition: a later version of a URL than its first. Its fetch
        time is when the archive first saw the change, not when the provider made it."""
        return Q(**{f"{via}number__gt": FIRST_VERSION})

    @property
    def is_revision(self):
        """The rule of revision_condition(), for a copy already loaded."""
        return self.number > FIRST_VERSION


def latest_copies(via="sources__"):
    """Prefetch each source's latest copy (as `latest_copies`, a list of none or one) on rows
    whose sources are loaded through `via`: one query however many sources and copies."""
    return Prefetch(
        f"{via}archived_copies",
        queryset=ArchivedCopy.objects.latest_per_source(),
        to_attr="latest_copies",
    )


def latest_copy(source):
    """The latest copy of a source loaded with latest_copies(), or None."""
    return source.latest_copies[0] if source.latest_copies else None


def source_revisions(sources):
    """The drift of some sources loaded with latest_copies(): (source, latest copy) of each one
    the provider changed since the archive first kept it, the oldest change first."""
    revised = [(source, latest_copy(source)) for source in sources]
    revised = [(source, copy) for source, copy in revised if copy and copy.is_revision]
    return sorted(revised, key=lambda pair: (pair[1].fetched_at, pair[1].pk))
