"""Applying incident documents: resolve references, validate every record with the models' own
full_clean(), compare with what is stored, and write all of it in one transaction, or nothing.

Used by `manage.py import_incidents` and by the admin's import page.

Each incident is first planned (planning.py, reference_rows.py): its references resolved, its
records validated and compared with what is stored (stored.py: read up front, a thousand
incidents at a time), nothing written. Then what changed is written (bulk.py): changed incidents
one by one, new ones a thousand at a time with a few bulk INSERTs, each chunk once the next is
planned, so that a second process can render its Markdown meanwhile (markdown_process.py).
Revisions and search documents follow each chunk; on PostgreSQL the chunk's rows, their
versions and search vectors are written from a worker thread on the same connection
(copying.Sender), while this thread goes on. Into a database without incidents, foreign keys
are checked and indexes built once, at the end (bulk.first_load). Once any problem is found
nothing more is written, since all of it will be rolled back, but every incident is still
checked, so that one run reports every problem.
"""

import contextlib
import re
import time
from collections import deque
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction

from outages import duplicates, page_cache, search, summaries, workflow
from outages.interchange import bulk, copying, indexing
from outages.interchange.document_checks import check_schema
from outages.interchange.documents import ImportFailed, Problem, gc_paused, path_text
from outages.interchange.markdown_process import Renderer
from outages.interchange.planning import Invalid, Planning
from outages.interchange.reference_rows import References
from outages.interchange.relations import import_relations
from outages.interchange.stored import stored_incidents, stored_references
from outages.models import Customer, IncidentArticle, Provider, Region, Service, Source
from outages.rendering import RenderBudget

# The incident a problem's path is in: "incidents[3].timeline[0].at" is in incident 3.
INCIDENT_PATH = re.compile(r"incidents\[(\d+)\]")
# New incidents written per round of bulk INSERTs.
CHUNK = 1000
# Reference rows in the order they must be written (services, regions and customers name a
# provider).
REFERENCE_MODELS = [Provider, Service, Region, Customer, Source]


@dataclass
class Report:
    incidents: list = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False
    # What the run reports without refusing, e.g. "docs.yaml:12 incidents[0].timeline[3]: …".
    warnings: list = field(default_factory=list)

    def count(self, action):
        return sum(1 for incident in self.incidents if incident.action == action)

    def summary(self):
        verb = "Would import" if self.dry_run else "Imported"
        return (
            f"{verb} {len(self.incidents)} incident{'s' if len(self.incidents) != 1 else ''}: "
            f"{self.count('created')} created, {self.count('updated')} updated, "
            f"{self.count('unchanged')} unchanged ({self.seconds:.1f} s)."
        )


class Importer(Planning, References):
    def __init__(
        self,
        *,
        zone=None,
        publish=False,
        dry_run=False,
        user=None,
        progress=None,
        update_references=False,
    ):
        # The run's default zone (--timezone), for incidents that give no time_zone; each
        # incident's own zone, set as it is planned, is what its zone-less times are read in.
        self.zone_name = zone or None
        self.incident_zone = None
        self.publish = publish
        self.dry_run = dry_run
        # Who imports: the admin passes the editor; the command passes no one and acts as an
        # operator with publisher rights (shell access is full access).
        self.user = user
        self.publisher = user is None or workflow.is_publisher(user)
        # Write the document's values over stored reference rows that differ; otherwise each
        # difference is a conflict and the run is refused.
        self.update_references = update_references
        self.progress = progress or (lambda items: items)
        self.problems = []
        self.warnings = []  # reported, never refusing: document.problem(path, message)
        self.event_times = {}  # id(timeline item) -> its time, read once
        # Every reference row by name, key and alias (stored.Names), read when a name
        # is first needed.
        self.names = None
        # Reference rows by (model, *natural key): read from the database up front for every key
        # the documents mention, or made in this run. One object per row, shared by all the
        # incidents that name it.
        self.references = {}
        self.stored_keys = set()  # the keys of those read from the database
        # Keys of the references given in full in this run -> {field: (value, document, path)},
        # the first place each value was given, to name both places when another disagrees.
        self.given = {}
        self.written = {}  # document name -> {id: reference row it created or changed}
        self.updated = {}  # id -> stored reference row this run changes
        self.refused_changes = []  # (incident as stored, file, place) the user may not change
        self.unsaved = []  # (reference, document, path) to INSERT before the next incidents
        self.changed = {}  # id -> (stored reference, document, path) to UPDATE
        self.stored = {}  # slug -> stored.Stored
        self.renderer = None  # markdown_process.Renderer, for the incidents to create
        self.wrote = False
        self.candidates = []  # duplicates.Candidate of each incident to create
        self.merged = {}  # slug of an incident merged into -> where the document says so
        self.planned_links = []  # ledger_rows.PlannedLinks of each incident planned
        self.unannounced = []  # (post-commit signals, incident ids) left by record()
        self.first_load = False  # into a database that held no incident (loading())

    # --- The run ----------------------------------------------------------------------

    def run(self, documents):
        """Apply every incident of every document, or none; raise ImportFailed with all the
        problems found."""
        started = time.monotonic()
        report = Report(dry_run=self.dry_run)
        self.check_rights(documents)
        items = []
        for document in documents:
            schema_problems = check_schema(document, zone=self.zone_name)
            self.problems += schema_problems
            # An incident the schema refuses is left out, but the others of its document are
            # still checked, so that one run reports every problem of every kind.
            refused = {INCIDENT_PATH.match(problem.path) for problem in schema_problems}
            if None in refused:  # a problem with the document as a whole
                continue
            refused = {int(match[1]) for match in refused}
            items += [
                (document, index, data)
                for index, data in enumerate(document.data["incidents"])
                if index not in refused
            ]
        self.check_duplicate_slugs(items)
        with gc_paused(), transaction.atomic(), copying.Sender() as self.sender:
            slugs = [data["slug"] for _, _, data in items]
            slugs += [data["same_as"] for _, _, data in items if "same_as" in data]
            self.stored = stored_incidents(slugs)
            # The kept counts: what the stored incidents count for now, taken away at the end
            # and replaced by what they and the new ones count for then.
            self.counts = summaries.Change(stored.incident.pk for stored in self.stored.values())
            self.references = stored_references(mentioned(items))
            self.stored_keys = set(self.references)
            count = sum(1 for _, _, data in items if data["slug"] not in self.stored)
            self.renderer = Renderer(count)
            with self.loading():
                try:
                    self.plan_and_write(items, report)
                finally:
                    self.renderer.close()
                self.save_references()  # those changed by incidents that did not change
            self.problems += import_relations(self, items)
            self.check_changes_allowed()
            if self.problems or self.dry_run:
                transaction.set_rollback(True)
            elif self.wrote:
                self.record_references()
                self.counts.apply(everything=self.first_load)
                page_cache.invalidate_all()  # names and incidents on any page may have changed
        # In the order of the files and of the lines in each, whichever check found them.
        order = {document.name: number for number, document in enumerate(documents)}

        def in_order(problem):
            return (order.get(problem.file, -1), problem.line or 0)

        report.warnings = [str(warning) for warning in sorted(self.warnings, key=in_order)]
        if self.problems:
            raise ImportFailed(sorted(self.problems, key=in_order), report.warnings)
        report.seconds = time.monotonic() - started
        return report

    def plan_and_write(self, items, report):
        """Plan each incident, and write those that change, a chunk at a time."""
        new, changed, waiting = [], [], deque()
        for document, index, data in self.progress(items):
            # An incident is one save: all its fields share one rendering budget.
            with RenderBudget():
                try:
                    change = self.plan(document, index, data)
                except Invalid:
                    continue
                report.incidents.append(change.report)
                if change.action == "created":
                    self.renderer.add(change)
                    new.append(change)
                elif change.action == "updated":
                    self.write_changed(change)
                    changed.append(change)
            if len(new) >= CHUNK:
                # Written once the next chunk is planned: rendered meanwhile.
                waiting.append((new, self.renderer.send()))
                new = []
                if len(waiting) > 1:
                    self.write_new(*waiting.popleft())
            if len(changed) >= CHUNK:
                self.record(changed)
                changed = []
        self.problems += duplicates.problems(self.candidates, only_new=self.first_load)
        waiting.append((new, self.renderer.send()))
        while waiting:
            self.write_new(*waiting.popleft())
        self.record(changed)
        # Links may name incidents later in the run: written once all of them are.
        self.record(self.write_links() if not self.problems else [])

    def loading(self):
        """Into a database that holds no incident yet (a first import), foreign keys checked
        and indexes built once, at the end (bulk.first_load); otherwise nothing changes."""
        self.first_load = not self.dry_run and not self.stored and bulk.nothing_stored()
        return bulk.first_load() if self.first_load else contextlib.nullcontext()

    # --- Who may do what ------------------------------------------------------------------

    def check_rights(self, documents):
        """What only publishers may ask for: publishing, and writing over reference rows."""
        names = ", ".join(document.name for document in documents) or "the import"
        if self.publish and not self.publisher:
            self.problems.append(
                Problem(names, None, "", "only publishers may import incidents as published")
            )
        if self.update_references and not self.publisher:
            self.problems.append(
                Problem(names, None, "", "only publishers may update stored reference rows")
            )

    def changes_incident(self, incident, at=()):
        """Call for every existing incident this run changes (updates, or merges into), with
        the incident as stored: only publishers may change what readers see, a published or
        withdrawn incident (workflow.can_edit, the admin's rule)."""
        if self.publisher or workflow.can_edit(self.user, incident):
            return
        line = self.document.line_of(self.base + list(at))
        place = f"{self.document.name}:{line}" if line else self.document.name
        self.refused_changes.append((incident, self.document.name, place))

    def check_changes_allowed(self):
        """One problem naming every published or withdrawn incident an Editor's run changes."""
        if not self.refused_changes:
            return
        listed = "; ".join(
            f"{incident.slug} “{incident.title}” ({place})"
            for incident, _, place in self.refused_changes
        )
        files = ", ".join(dict.fromkeys(name for _, name, _ in self.refused_changes))
        count = len(self.refused_changes)
        self.problems.append(
            Problem(
                files,
                None,
                "",
                "only publishers may change published or withdrawn incidents; this import "
                f"would change {count}: {listed}",
            )
        )

    def check_duplicate_slugs(self, items):
        seen = {}
        for document, index, data in items:
            slug = data["slug"]
            if slug in seen:
                self.problems.append(
                    document.problem(
                        ["incidents", index, "slug"],
                        f"“{slug}” is also the slug of {seen[slug]}; each incident needs its own",
                    )
                )
            else:
                seen[slug] = f"{document.name} {path_text(['incidents', index])}"

    # --- Writing ------------------------------------------------------------------------

    def write_new(self, changes, rendered):
        """INSERT new incidents with their rows in bulk, once the Renderer has done what was
        sent up to `rendered`. Should the database refuse that, write them one at a time to
        find which incidents it refuses."""
        if not changes or not self.save_references():
            return
        self.renderer.finish(rendered)
        self.wrote = True
        order = bulk.reference_order(changes)  # of reference rows written before
        documents = None
        try:
            with transaction.atomic():
                documents = self.insert_new(changes, order)
        except DatabaseError:
            for change in changes:
                bulk.forget_ids(change)
            for change in changes:
                try:
                    with transaction.atomic():
                        bulk.insert_new([change])
                except DatabaseError as error:
                    self.refused(change, error)
        for change in changes:
            change.report.incident_pk = change.incident.pk
        self.record(changes, new=True, order=order, documents=documents)

    def insert_new(self, changes, order):
        """bulk.insert_new(changes), its COPYs sent as one to the worker (copying.Sender) while
        the chunk's search documents are made here (none for a dry run, which records
        nothing); what the database refuses is raised by the wait, within the caller's
        savepoint."""
        copies = []
        bulk.insert_new(changes, send=copies.append)
        self.sender.send(lambda cursor: [copy(cursor) for copy in copies])
        documents = None
        if not self.dry_run:
            written = [bulk.written(change) for change in changes]
            documents = indexing.documents(written, order.ranks)
        self.sender.wait()
        return documents

    def write_changed(self, change):
        if not self.save_references():
            return
        self.wrote = True
        try:
            with transaction.atomic():
                bulk.update_stored(change)
        except DatabaseError as error:
            self.refused(change, error)

    def record(self, changes, new=False, order=None, documents=None):
        """The revisions and search documents of incidents just written, a chunk at a time,
        in the same transaction (so gone again if a problem turns up later). `new`: incidents
        just created, whose rows are all in memory; their reference rows' `order`
        (bulk.reference_order) and search `documents`, if made already."""
        self.announce()
        if self.problems or self.dry_run or not changes:
            return
        pks = [change.incident.pk for change in changes]
        if not new:
            bulk.record_revisions(changes, self.user)
            IncidentArticle.objects.forget(pks)
            self.counts.add(pks)
            search.update_index(pks)
            return
        # The revisions' versions are COPYed from a worker thread (copying.Sender), and the
        # search documents are sent too: PostgreSQL computes their vectors while the next
        # chunk is planned. What queries, and so would wait for all of it, waits for the next
        # write (announce): the revisions' post-commit signals and the articles' deletion.
        order = order or bulk.reference_order(changes)
        committed = bulk.record_revisions(
            changes, self.user, new=True, order=order, send=self.sender.send
        )
        if documents is None:
            written = [bulk.written(change) for change in changes]
            documents = indexing.documents(written, order.ranks)
        search.write_documents(documents, send=self.sender.send)
        self.counts.add(pks)
        self.unannounced.append((committed, pks))

    def announce(self):
        """What record() left of new incidents for the next write, in the order it was left."""
        unannounced, self.unannounced = self.unannounced, []
        for committed, pks in unannounced:
            committed()
            IncidentArticle.objects.forget(pks)

    def refused(self, change, error):
        path = ["incidents", change.index]
        self.problems.append(change.document.problem(path, f"the database refused it: {error}"))

    def save_references(self):
        """Write the reference rows made or changed since the last write; False if anything
        stops the writing (a problem, now or before, or a change the user may not make)."""
        self.announce()
        self.sender.wait()  # an error of what was sent is raised here, not in a savepoint
        if self.problems or self.refused_changes:
            return False
        if not self.unsaved and not self.changed:
            return True
        unsaved, changed = self.unsaved, list(self.changed.values())
        self.unsaved, self.changed, self.wrote = [], {}, True
        try:
            with transaction.atomic():
                for model in REFERENCE_MODELS:
                    bulk.insert(model, [obj for obj, _, _ in unsaved if type(obj) is model])
                for obj, _, _ in changed:
                    obj.save()
        except DatabaseError:
            for obj, _, _ in unsaved:
                obj.pk = None  # written again below
            # One at a time, in the same order, up to the first the database refuses.
            ordered = sorted(unsaved, key=lambda entry: REFERENCE_MODELS.index(type(entry[0])))
            for obj, document, path in ordered + changed:
                try:
                    with transaction.atomic():
                        obj.save()
                except DatabaseError as error:
                    self.problems.append(
                        document.problem(path, f"the database refused it: {error}")
                    )
                    break
        return not self.problems


def mentioned(items):
    """The natural keys of every reference row the incidents name, by model, to read them all
    with a few queries: provider slugs, customer slugs, source URLs. A name that is not a key
    ("Amazon") is simply not found among them; Importer.resolve_name then reads every name and
    alias at once (stored.stored_names)."""
    providers, customers, urls = set(), set(), set()

    def provider(ref):
        providers.add(ref if isinstance(ref, str) else ref["slug"])

    for _, _, data in items:
        provider(data["provider"])
        for impact in data.get("customers", []):
            ref = impact["customer"]
            customers.add(ref if isinstance(ref, str) else ref["slug"])
            if isinstance(ref, dict) and ref.get("provider"):
                provider(ref["provider"])
            for key in impact.get("services", []):
                owner, dot, _ = key.rpartition(".")
                if dot:
                    providers.add(owner)
        for ref in data.get("sources", []):
            urls.add(ref if isinstance(ref, str) else ref["url"])
    return {Provider: providers, Customer: customers, Source: urls}
