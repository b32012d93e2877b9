"""Archived copies of what the knowledge base cites or reads: each source's page (archive_sources)
and each status page's history (sync_status_page), stored compressed, a new version only when
the content changed. A provider that edits its story after the fact shows up here.

Each URL has two series of versions, numbered apart: the page as archive_sources fetched it,
and the provider's own data of an incident as a status-page sync read it. What readers may see
of them (public()) and the drift rule (a version that shows the provider changed what it had
already published, not merely added to it) are written here once."""

import zlib

from django.db import models
from django.db.models import F, Prefetch, Q, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils.functional import cached_property

from outages.archive_text import extract_text, is_text
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
        """Each source's latest copy and its latest revision (maybe the same row), without
        their bodies, in one query: `newness` 1 is the latest, `revision_newness` 1 with
        `revised` the latest revision."""
        newest_first = [F("fetched_at").desc(), F("pk").desc()]
        newest = Window(RowNumber(), partition_by=[F("source")], order_by=newest_first)
        by_kind = Window(
            RowNumber(), partition_by=[F("source"), F("revised")], order_by=newest_first
        )
        # In no order: latest_copy() and latest_revision() pick by `newness`, and building the
        # model's ordering into this query took a third of its cost to a cold incident page.
        return (
            self.defer("body")
            .order_by()
            .annotate(newness=newest, revision_newness=by_kind)
            .filter(Q(newness=1) | Q(revised=True, revision_newness=1))
        )

    def citable(self):
        """The copies a correction may cite as where a claim was made: pages as fetched, what a
        reader of the source saw (a sync's copy is the provider's data behind the page)."""
        return self.filter(kind=ArchivedCopy.Kind.PAGE)

    def series_of(self, copy):
        """Every version of the series `copy` belongs to: the same URL, the same kind."""
        return self.filter(url=copy.url, kind=copy.kind)

    def of_sources(self, sources):
        """The copies of these sources (a Source queryset): of their URLs (is_copy_of)."""
        return self.filter(url__in=sources.values("url"))

    def of_source(self, source):
        return self.filter(url=source.url)


class ArchivedCopy(models.Model):
    class Kind(models.TextChoices):
        PAGE = "page", "The page as fetched"
        SYNC = "sync", "The provider's data, as a status-page sync read it"

    url = models.URLField("URL", max_length=500, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PAGE)
    # The cited source this is a copy of; empty for what a sync reads (a whole status page).
    # Evidence outlives the row that cited it: the copy keeps its URL.
    source = models.ForeignKey(
        Source, on_delete=models.SET_NULL, null=True, blank=True, related_name="archived_copies"
    )
    number = models.PositiveIntegerField(
        help_text="1 for the first copy of this URL of this kind, then 2, …"
    )
    revised = models.BooleanField(
        default=False,
        help_text="This version shows the provider changed what it had already published (an "
        "edited update, a revised postmortem or page), not only added to it.",
    )
    fetched_at = models.DateTimeField()
    http_status = models.PositiveSmallIntegerField("HTTP status")
    content_type = models.CharField(max_length=200, blank=True)
    # What is compared to tell a new version (see interchange/archive.py for what is hashed).
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveIntegerField(help_text="Bytes before compression.")
    body = models.BinaryField(help_text="The response body, zlib-compressed.")

    objects = ArchivedCopyQuerySet.as_manager()

    class Meta:
        ordering = ["url", "kind", "number"]
        verbose_name = "archived copy"
        verbose_name_plural = "archived copies"
        constraints = [
            models.UniqueConstraint(
                fields=["url", "kind", "number"], name="archived_copy_number_unique"
            )
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
        """The body as text a person reads and compares (outages.archive_text), or None for a
        body that is not text (a PDF, an image)."""
        if not is_text(self.content_type):
            return None
        return extract_text(self.content, self.content_type)

    def is_copy_of(self, source):
        """The one rule for "a copy of this source": a copy of its URL, kept maybe before the
        source was (a sync's, an import's). `source`, the link, is set when a copy is stored
        and the source exists, for the queries that join through it; readers only ever see
        copies so linked (public()), which errs on the side of showing less."""
        return source is not None and self.url == source.url

    @property
    def has_previous(self):
        """Whether a version came before this one in its series (so "what changed" exists)."""
        return self.number > FIRST_VERSION

    @staticmethod
    def revision_condition(via=""):
        """The drift rule as a condition: a version the archive marked revised when it kept it
        (interchange/archive.py decides). Its fetch time is when the archive first saw the
        change, not when the provider made it."""
        return Q(**{f"{via}revised": True})

    @property
    def is_revision(self):
        """The rule of revision_condition(), for a copy already loaded."""
        return self.revised


def latest_copies(via="sources__"):
    """Prefetch each source's latest copy and latest revision (as `latest_copies`, a list of
    none, one or two) on rows whose sources are loaded through `via`: one query however many
    sources and copies."""
    return Prefetch(
        f"{via}archived_copies",
        queryset=ArchivedCopy.objects.latest_per_source(),
        to_attr="latest_copies",
    )


def latest_copy(source):
    """The latest copy of a source loaded with latest_copies(), or None."""
    return next((copy for copy in source.latest_copies if copy.newness == 1), None)


def latest_revision(source):
    """The latest revision of a source loaded with latest_copies(), or None."""
    return next(
        (copy for copy in source.latest_copies if copy.revised and copy.revision_newness == 1),
        None,
    )


def source_revisions(sources):
    """The drift of some sources loaded with latest_copies(): (source, its latest revision) of
    each one the provider changed since the archive first kept it, the oldest change first."""
    revised = [(source, latest_revision(source)) for source in sources]
    revised = [(source, copy) for source, copy in revised if copy is not None]
    return sorted(revised, key=lambda pair: (pair[1].fetched_at, pair[1].pk))
