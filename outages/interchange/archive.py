"""The source archive: a copy of each fetched body, compressed with its hash, time, status and
content type, a new version only when the content changed.

Each URL has two series (ArchivedCopy.Kind): the page as archive_sources fetched it, and the
provider's data of one incident as a status-page sync read it; each is numbered and compared on
its own. A new version of a page is marked revised (the provider changed what it published: the
drift readers are told of); a sync marks one only when the provider edited what it had said,
not when it added an update.

Copies are append-only records and their own history: a copy is never changed, and a new
version is a new row numbered after the last. So storing one records no reversion revision;
the numbered rows are the history. A new copy of a cited source changes the pages of the
incidents that cite it ("archived on …", what changed), so their cached pages go stale once it
is committed.

Reading a copy back: ArchivedCopy.content (the bytes as fetched) and ArchivedCopy.text (what a
person reads, outages.archive_text).
"""

import hashlib
import time
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery

from outages import page_cache
from outages.archive_text import extract_text, kind_of
from outages.interchange import fetching
from outages.models import ArchivedCopy, Incident, Source
from outages.text import counted

BATCH = 1000  # URLs per query of latest_digests
PAGE, SYNC = ArchivedCopy.Kind.PAGE, ArchivedCopy.Kind.SYNC


def store(fetched, *, source=None, url=None, kind=PAGE, revised=None):
    """Keep `fetched` (a fetching.Fetched with status 200) as the next ArchivedCopy of `url`
    (default fetched.url) in the series `kind`, linked to `source` when given. Returns the new
    ArchivedCopy, or None when the content is the same as the latest copy's (or the server said
    304, not modified). Writes nothing else. `revised`: see store_body()."""
    if fetched.not_modified:
        return None
    return store_body(
        url or fetched.url,
        fetched.body,
        fetched.content_type,
        fetched.fetched_at,
        source=source,
        http_status=fetched.status,
        kind=kind,
        revised=revised,
    )


def store_body(
    url, body, content_type, fetched_at, *, source=None, http_status=200, kind=PAGE, revised=None
):
    """store() for a body that was not fetched on its own: a status-page sync keeps each
    provider incident's own JSON as a copy of that incident's source this way. `revised`:
    whether this version shows the provider changed what it had published; None means "any
    new version after the first does" (a page's text)."""
    sha256 = digest(body, content_type)
    with transaction.atomic():
        latest = latest_copy(url, kind)
        if latest is not None and latest.sha256 == sha256:
            return None
        if revised is None:
            revised = latest is not None
        if source is None:
            # Linked when a source has this URL, so its admin page lists the copy either way.
            source = Source.objects.filter(url=url).first()
        copy = ArchivedCopy.objects.create(
            url=url,
            kind=kind,
            revised=revised,
            source=source,
            number=latest.number + 1 if latest else 1,
            fetched_at=fetched_at,
            http_status=http_status,
            # A longer one is no content type a browser knows, and PostgreSQL would refuse it.
            content_type=content_type[: ArchivedCopy._meta.get_field("content_type").max_length],
            sha256=sha256,
            size=len(body),
            body=ArchivedCopy.packed(body),
        )
        citing = list(Incident.objects.filter(sources__url=url).values_list("pk", flat=True))
        if citing:
            # After the commit, so a reader cannot rebuild a page from before the copy.
            transaction.on_commit(lambda: page_cache.bump(page_cache.incident_tags(citing)))
    return copy


def latest_copy(url, kind=PAGE):
    """The latest copy of `url` in the series `kind` with what a new one is compared with (its
    body not loaded), or None."""
    copies = ArchivedCopy.objects.filter(url=url, kind=kind).order_by("-number")
    return copies.only("number", "sha256").first()


def latest_in_series(urls, kind=PAGE):
    """The latest copy of each of `urls` in the series `kind` (those that have one), as
    querysets of at most a thousand URLs each, to narrow with only() or values_list()."""
    urls = list(dict.fromkeys(urls))
    series = ArchivedCopy.objects.filter(url=OuterRef("url"), kind=kind)
    latest = series.order_by("-number").values("number")[:1]
    for start in range(0, len(urls), BATCH):
        yield ArchivedCopy.objects.filter(
            url__in=urls[start : start + BATCH], kind=kind, number=Subquery(latest)
        ).order_by()


def latest_digests(urls, kind=PAGE):
    """{url: sha256 of its latest copy in the series `kind`} for those of `urls` that have one;
    one query a thousand URLs."""
    found = {}
    for copies in latest_in_series(urls, kind):
        found.update(copies.values_list("url", "sha256"))
    return found


def digest(body, content_type):
    """What store() compares: the SHA-256 of the extracted text for HTML (so a page whose only
    change is a rotating token is not a new version), of the bytes otherwise."""
    if kind_of(content_type) == "html":
        body = extract_text(body, content_type).encode()
    return hashlib.sha256(body).hexdigest()


# --- archive_sources ----------------------------------------------------------------------------


@dataclass
class Archived:
    """What archiving one source did: "new" (copy is the new version), "unchanged" or
    "failed" (message says why)."""

    source: Source
    outcome: str
    copy: ArchivedCopy | None = None
    number: int = 0  # the new version's number (also in a dry run, where nothing is stored)
    message: str = ""

    @property
    def line(self):
        if self.outcome == "new":
            return f"{self.source.url}: new version {self.number}"
        if self.outcome == "failed":
            # FetchFailed names the URL; the line does already.
            return f"{self.source.url}: failed: {self.message.removeprefix(self.source.url + ': ')}"
        return f"{self.source.url}: unchanged"


@dataclass
class Run:
    results: list = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    def count(self, outcome):
        return sum(result.outcome == outcome for result in self.results)

    @property
    def summary(self):
        total, new = len(self.results), self.count("new")
        verb = "Would archive" if self.dry_run else "Archived"
        return (
            f"{verb} {counted(total, 'source')}: {counted(new, 'new version')}, "
            f"{self.count('unchanged')} unchanged, {self.count('failed')} failed "
            f"({self.seconds:.1f} s)"
        )


def archive_sources(sources, *, dry_run=False, report=None):
    """Fetch each source's URL and store what changed, one source at a time: a source that
    fails is reported and the others go on. `report` is called with each Archived as it is
    done. A dry run fetches and compares but stores nothing."""
    run, started = Run(dry_run=dry_run), time.monotonic()
    for source in sources:
        result = archive_source(source, dry_run)
        run.results.append(result)
        if report is not None:
            report(result)
    run.seconds = time.monotonic() - started
    return run


def archive_source(source, dry_run):
    try:
        fetched = fetching.fetch(source.url, expect_json=False)
    except fetching.FetchFailed as error:
        return Archived(source, "failed", message=str(error))
    if dry_run:
        latest = latest_copy(source.url)
        if latest is not None and latest.sha256 == digest(fetched.body, fetched.content_type):
            return Archived(source, "unchanged")
        return Archived(source, "new", number=latest.number + 1 if latest else 1)
    try:
        copy = store(fetched, source=source, url=source.url)
    except IntegrityError:  # the number taken meanwhile: another run stored this URL too
        return Archived(source, "failed", message="another run stored a copy at the same time")
    if copy is None:
        return Archived(source, "unchanged")
    return Archived(source, "new", copy=copy, number=copy.number)
