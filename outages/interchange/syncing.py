"""Syncing one status page: fetch its history, skip what has not changed since the last sync,
write the rest as one incident document and apply it through the importer, the one write path,
with the archived copies of what was read, all in one transaction, or nothing.

Used by `manage.py sync_status_page`, `manage.py sync_status_pages` and the admin's "Sync now".
What each provider incident becomes (a new draft, updates appended to the incident citing it, a
merge into the same outage written by hand) is decided in sync_plan.py.
"""

import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import DatabaseError, transaction
from django.utils import timezone

from outages.interchange import archive, fetching, status_pages, sync_plan
from outages.interchange.documents import Document, ImportFailed
from outages.interchange.importing import Importer
from outages.interchange.status_pages import documents as mapping
from outages.models import Provider, StatusPage
from outages.text import counted

logger = logging.getLogger(__name__)
# Formats whose history is JSON: fetching refuses an HTML error page in their place.
JSON_FORMATS = {StatusPage.Format.STATUSPAGE, StatusPage.Format.GCP}
JSON = "application/json"


class SyncFailed(Exception):
    """A sync that wrote nothing; str() is the plain message for the command and the admin."""


@dataclass
class SyncReport:
    name: str  # the status page's host, or the file's name
    dry_run: bool = False
    read: int = 0
    created: list = field(default_factory=list)  # slugs of new drafts
    gained: dict = field(default_factory=dict)  # slug -> updates appended to it
    merged: list = field(default_factory=list)  # (provider incident url, into slug, why)
    edited: int = 0  # provider incidents with an update whose text the provider changed
    unchanged: int = 0
    not_modified_since: str = ""  # set when the server answered 304
    details: list = field(default_factory=list)  # lines for a person: which merge and why
    # Services and regions the drafts bring that we did not hold: "service Example API".
    new_rows: list = field(default_factory=list)
    # Provider incidents that could not be read, each with why; the others are synced.
    left_out: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    seconds: float = 0.0
    # What the configured page keeps for the next sync's conditional request.
    fetched_at: object = None
    etag: str = ""
    last_modified: str = ""

    def summary(self):
        if self.not_modified_since:
            return f"{self.name}: not modified since {self.not_modified_since}."
        parts = [counted(len(self.created), "new draft")]
        if self.gained:
            count = sum(self.gained.values())
            parts.append(f"{len(self.gained)} gained {counted(count, 'update')}")
        if self.merged:
            into = ", ".join(dict.fromkeys(slug for _, slug, _ in self.merged))
            parts.append(f"{len(self.merged)} merged into {into}")
        if self.edited:
            parts.append(f"{self.edited} edited by the provider")
        parts.append(f"{self.unchanged} unchanged")
        rows = (
            f" New, for an editor to confirm: {', '.join(self.new_rows)}." if self.new_rows else ""
        )
        if self.left_out:
            rows += f" Left out, as they cannot be read: {'; '.join(self.left_out)}."
        dry = " Dry run: nothing was written." if self.dry_run else ""
        return (
            f"{self.name}: {counted(self.read, 'incident')} read; {', '.join(parts)} "
            f"({self.seconds:.1f} s).{rows}{dry}"
        )


def name_of(source):
    """What a sync is called in reports and revisions: the host of a URL, else the file's
    name (never its folders, which are the server's business)."""
    parts = urlsplit(source)
    if parts.scheme in ("http", "https") and parts.hostname:
        return parts.hostname
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def sync(provider, format, source, *, page=None, user=None, dry_run=False):
    """Sync the status page at `source` (a URL or a file) of `provider` (a slug) in `format`.
    `page`: its StatusPage, whose ETag is sent and where the result is recorded. `user`: None
    for a command (publisher rights), else the editor, whose roles the importer enforces.
    Returns a SyncReport; raises SyncFailed, having written nothing but the page's result."""
    started = time.monotonic()
    name = name_of(source)
    try:
        try:
            report = run(provider, format, source, name, page=page, user=user, dry_run=dry_run)
        except SyncFailed:
            raise
        except Exception as error:
            # A provider's data that trips a fault of ours: rolled back like any failure, and
            # said on the page and in the log rather than as a server error.
            logger.exception("Sync of %s failed", source)
            raise SyncFailed(
                f"{name}: the sync failed unexpectedly ({type(error).__name__}: {error}); "
                "nothing was written"
            ) from error
    except SyncFailed as failure:
        if page is not None and not dry_run:
            # After the rollback, and not a revision: only what an editor sets is versioned.
            StatusPage.objects.filter(pk=page.pk).update(
                last_fetched_at=timezone.now(), last_ok=False, last_result=str(failure)
            )
        raise
    report.seconds = time.monotonic() - started
    if page is not None and not dry_run:
        StatusPage.objects.filter(pk=page.pk).update(
            etag=report.etag, last_modified=report.last_modified, last_fetched_at=report.fetched_at,
            last_ok=True, last_result=report.summary(),
        )  # fmt: skip
    return report


def run(provider_slug, format, source, name, *, page, user, dry_run):
    provider = Provider.objects.filter(slug=provider_slug).first()
    if provider is None:
        raise SyncFailed(f"{name}: there is no provider “{provider_slug}”; add it first")
    try:
        fetched = fetching.read(
            source,
            etag=page.etag if page else "",
            last_modified=page.last_modified if page else "",
            expect_json=format in JSON_FORMATS,
        )
    except fetching.FetchFailed as failure:
        raise SyncFailed(str(failure)) from None
    report = SyncReport(name, dry_run=dry_run)
    report.fetched_at = fetched.fetched_at
    report.etag = fetched.etag or (page.etag if page else "")
    report.last_modified = fetched.last_modified or (page.last_modified if page else "")
    if fetched.not_modified:
        since = report.last_modified or (page and page.last_fetched_at and (
            f"{page.last_fetched_at:%Y-%m-%d %H:%M} UTC"
        )) or "the last sync"  # fmt: skip
        report.not_modified_since = since
        return report
    try:
        incidents = status_pages.parse(
            format, fetched.body, url=fetched.final_url, skipped=report.left_out
        )
    except status_pages.ParseFailed as failure:
        raise SyncFailed(f"{name}: {failure}") from None
    report.read = len(incidents) + len(report.left_out)

    # Unchanged incidents cost nothing more: their JSON is the latest archived copy's.
    bodies = {incident.url: mapping.canonical_json(incident) for incident in incidents}
    digests = {url: archive.digest(body, JSON) for url, body in bodies.items()}
    latest = archive.latest_digests(list(bodies), kind=archive.SYNC)
    changed = [
        incident for incident in incidents if latest.get(incident.url) != digests[incident.url]
    ]
    report.unchanged = len(incidents) - len(changed)

    document_name = f"{name} (fetched {fetched.fetched_at:%Y-%m-%d %H:%M} UTC)"
    try:
        with transaction.atomic():
            plan = sync_plan.plan(
                changed, provider, format=format, fetched=fetched, report=report, bodies=bodies
            )
            if plan.documents:
                document = Document(document_name, {"incidents": plan.documents}, lines={})
                importer = Importer(publish=False, dry_run=dry_run, user=user)
                imported = importer.run([document])
                report.new_rows = sync_plan.new_rows(plan.documents)
                report.warnings += [placed(warning, plan) for warning in importer.warnings]
                sync_plan.count(plan, imported, report)
            if plan.deferred:
                # Asked again in full next time: a 304 would hide the updates held back.
                report.etag = report.last_modified = ""
            if not dry_run and changed:
                # The whole history only when an incident in it changed: the page's own
                # updated_at moves with every visit of the provider's robots.
                archive.store(fetched, url=fetched.url, kind=archive.SYNC, revised=False)
                sources = sync_plan.sources_by_url([incident.url for incident in changed])
                for incident in changed:
                    if incident.url in plan.deferred:
                        continue  # so that the next sync finds its updates new
                    archive.store_body(
                        incident.url,
                        bodies[incident.url],
                        JSON,
                        fetched.fetched_at,
                        source=sources.get(incident.url),
                        kind=archive.SYNC,
                        # Drift is the provider changing its words, not adding an update.
                        revised=incident.url in plan.edited,
                    )
    except ImportFailed as failure:
        raise SyncFailed(import_failure(name, failure, plan)) from None
    except DatabaseError as error:
        raise SyncFailed(f"{name}: the database refused the sync: {error}") from None
    return report


def import_failure(name, failure, plan):
    count = len(failure.problems)
    lines = [f"    {placed(problem, plan)}" for problem in failure.problems]
    return f"{name}: {counted(count, 'problem')} importing; nothing was written.\n" + "\n".join(
        lines
    )


def placed(problem, plan):
    """An importer's problem or warning placed by the provider incident it came from, rather
    than by a path in a document nobody wrote."""
    index, _, rest = problem.path.partition("].")
    incident = plan.origin(index)
    where = f"{incident.url} “{incident.title}”" if incident else problem.file
    return f"{where}{': ' + rest if rest else ''}: {problem.message}"
