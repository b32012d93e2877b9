"""Applying incident documents: resolve references, validate every record with the models' own
full_clean(), compare with what is stored, and write all of it in one transaction, or nothing.

Used by `manage.py import_incidents` and by the admin's import page.

Each incident is first planned: its references resolved, its records validated and compared with
what is stored (read up front, a thousand incidents at a time), nothing written. Then what changed
is written (importing_bulk.py): changed incidents one by one, new ones a thousand at a time with a
few bulk INSERTs, each chunk once the next is planned, so that a second process can render its
Markdown meanwhile. Revisions and search documents follow each chunk. Once any problem is found
nothing more is written, since all of it will be rolled back, but every incident is still checked,
so that one run reports every problem.
"""

import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from outages import duplicates, page_cache, search, text, workflow
from outages.interchange import bulk as importing_bulk
from outages.interchange import conflicts
from outages.interchange.documents import (
    TIME_EXAMPLES,
    ImportFailed,
    Problem,
    check_schema,
    gc_paused,
    path_text,
    precision_key,
    read_time,
)
from outages.models import (
    MILESTONES,
    POSTMORTEM_SECTIONS,
    ActionItem,
    Correction,
    Customer,
    CustomerImpact,
    Incident,
    Milestone,
    Precision,
    Provider,
    Region,
    Service,
    Source,
    TimelineEvent,
    derive_milestones,
    far_off,
    milestone_disagreement,
)

# The incident a problem's path is in: "incidents[3].timeline[0].at" is in incident 3.
INCIDENT_PATH = re.compile(r"incidents\[(\d+)\]")
# New incidents written per round of bulk INSERTs.
CHUNK = 1000
# Document field -> model field, where the names differ.
EVENT_FIELDS = {"at": "occurred_at", "as_stated": "time_as_stated", "key_event": "is_key_event"}
# Reference rows in the order they must be written (services, regions and customers name a
# provider).
REFERENCE_MODELS = [Provider, Service, Region, Customer, Source]


# resolve_name(): the name is that of several rows (a problem, already recorded).
AMBIGUOUS = object()


class Invalid(Exception):
    """One incident could not be applied; its problems are already recorded."""


@dataclass
class IncidentReport:
    file: str
    slug: str
    action: str  # created, updated, unchanged
    rows: list = field(default_factory=list)  # (what, action), e.g. ("timeline event 3", "removed")
    incident_pk: int | None = None


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


@dataclass
class Change:
    """What importing one incident would write; the Importer plans it, importing_bulk writes it."""

    document: object
    index: int
    incident: Incident
    action: str  # created, updated, unchanged
    save_incident: bool = False  # the incident's own fields changed (or it is new)
    related: dict = field(default_factory=dict)  # "services" etc. -> the rows it should link
    rows: dict = field(default_factory=dict)  # model -> (new rows, changed rows, rows to delete)
    impacts: list = field(default_factory=list)  # (impact, its fields changed, services or None)
    gone_impacts: list = field(default_factory=list)
    report: IncidentReport | None = None
    merged: bool = False  # the document's new rows added to a stored incident (same_as)


def fields_of(obj, names):
    return {name: getattr(obj, name) for name in names}


def same_values(obj, values):
    """Whether `obj` already holds these values. Related rows are compared by key, so none is
    loaded; one not saved yet is always a change."""
    for name, value in values.items():
        model_field = obj._meta.get_field(name)
        if model_field.is_relation:
            if value is not None and value.pk is None:
                return False
            if getattr(obj, model_field.attname) != (None if value is None else value.pk):
                return False
        elif getattr(obj, name) != value:
            return False
    return True


class Importer:
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
        # Every reference row by name, key and alias (importing_bulk.Names), read when a name
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
        self.stored = {}  # slug -> importing_bulk.Stored
        self.renderer = None  # importing_bulk.Renderer, for the incidents to create
        self.wrote = False
        self.candidates = []  # duplicates.Candidate of each incident to create
        self.merged = {}  # slug of an incident merged into -> where the document says so

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
        new, changed, waiting = [], [], deque()
        with gc_paused(), transaction.atomic():
            slugs = [data["slug"] for _, _, data in items]
            slugs += [data["same_as"] for _, _, data in items if "same_as" in data]
            self.stored = importing_bulk.stored_incidents(slugs)
            self.references = importing_bulk.stored_references(mentioned(items))
            self.stored_keys = set(self.references)
            count = sum(1 for _, _, data in items if data["slug"] not in self.stored)
            self.renderer = importing_bulk.Renderer(count)
            try:
                for document, index, data in self.progress(items):
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
                self.problems += duplicates.problems(self.candidates)
                waiting.append((new, self.renderer.send()))
                while waiting:
                    self.write_new(*waiting.popleft())
                self.record(changed)
            finally:
                self.renderer.close()
            self.save_references()  # those changed by incidents that did not change
            self.check_changes_allowed()
            if self.problems or self.dry_run:
                transaction.set_rollback(True)
            elif self.wrote:
                self.record_references()
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
        try:
            with transaction.atomic():
                importing_bulk.insert_new(changes)
        except DatabaseError:
            for change in changes:
                importing_bulk.forget_ids(change)
            for change in changes:
                try:
                    with transaction.atomic():
                        importing_bulk.insert_new([change])
                except DatabaseError as error:
                    self.refused(change, error)
        for change in changes:
            change.report.incident_pk = change.incident.pk
        self.record(changes)

    def write_changed(self, change):
        if not self.save_references():
            return
        self.wrote = True
        try:
            with transaction.atomic():
                importing_bulk.update_stored(change)
        except DatabaseError as error:
            self.refused(change, error)

    def record(self, changes):
        """The revisions and search documents of incidents just written, a chunk at a time,
        in the same transaction (so gone again if a problem turns up later)."""
        if self.problems or self.dry_run or not changes:
            return
        importing_bulk.record_revisions(changes, self.user)
        search.update_index([change.incident.pk for change in changes])

    def refused(self, change, error):
        path = ["incidents", change.index]
        self.problems.append(change.document.problem(path, f"the database refused it: {error}"))

    def save_references(self):
        """Write the reference rows made or changed since the last write; False if anything
        stops the writing (a problem, now or before, or a change the user may not make)."""
        if self.problems or self.refused_changes:
            return False
        if not self.unsaved and not self.changed:
            return True
        unsaved, changed = self.unsaved, list(self.changed.values())
        self.unsaved, self.changed, self.wrote = [], {}, True
        try:
            with transaction.atomic():
                for model in REFERENCE_MODELS:
                    importing_bulk.insert(
                        model, [obj for obj, _, _ in unsaved if type(obj) is model]
                    )
                for obj, _, _ in changed:
                    obj.save()
        except DatabaseError:
            for obj, _, _ in unsaved:
                obj.pk, obj._state.adding = None, True
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

    # --- One incident -------------------------------------------------------------------

    def plan(self, document, index, data):
        """Check one incident and compare it with what is stored; write nothing."""
        self.document, self.base, self.failed = document, ["incidents", index], False
        if "same_as" in data:
            return self.plan_merge(document, index, data)
        provider = self.reference_provider(data["provider"], ["provider"])
        if provider is None:
            raise Invalid
        services = [
            self.reference_service(provider, ref, ["services", i])
            for i, ref in enumerate(data.get("services", []))
        ]
        regions = [
            self.reference_region(provider, ref, ["regions", i])
            for i, ref in enumerate(data.get("regions", []))
        ]
        sources = [
            self.reference_source(ref, ["sources", i])
            for i, ref in enumerate(data.get("sources", []))
        ]
        if self.failed:
            raise Invalid
        by_url = {source.url: source for source in sources}

        stored = self.stored.get(data["slug"])
        # The incident's own zone, else the run's default; "UTC" only when every time has an
        # offset and nothing says more (check_schema refuses zone-less times without a zone).
        self.incident_zone = data.get("time_zone") or self.zone_name
        values = {
            "title": data["title"],
            "provider": provider,
            "time_zone": self.incident_zone or "UTC",
            "root_cause_category": data["root_cause_category"],
            **{name: data.get(name) or "" for name in POSTMORTEM_SECTIONS},
            **{name: self.moment(data.get(name), [name]) for name in MILESTONES},
            **{
                precision_key(name): precision_of(data.get(name), data.get(precision_key(name)))
                for name in MILESTONES
            },
        }
        self.milestones_from_timeline(data.get("timeline", []), values)
        if stored is None:
            incident = Incident(slug=data["slug"], status=Incident.Status.DRAFT)
            action = "created"
        else:
            incident = stored.incident
            action = "unchanged" if same_values(incident, values) else "updated"
            as_stored = (incident.title, incident.status)  # who may change it depends on them
        for name, value in values.items():
            setattr(incident, name, value)
        if self.publish and incident.status != Incident.Status.PUBLISHED:
            incident.status = Incident.Status.PUBLISHED
            incident.published_at = incident.published_at or timezone.now()
            incident.published_by = self.user
            action = "updated" if action == "unchanged" else action
        # A problem with the incident's own fields does not stop here: its rows are checked
        # too, so that one run reports every problem (Invalid is raised once they are).
        self.validate(
            incident, [], exclude=["provider", "services", "regions", "sources"], checked=True
        )
        change = Change(document, index, incident, action, save_incident=action != "unchanged")

        for name, wanted in [("services", services), ("regions", regions), ("sources", sources)]:
            if stored is None:
                change.related[name] = wanted
            elif stored.related[name] != {obj.pk for obj in wanted}:
                change.related[name] = wanted
                action = "updated" if action == "unchanged" else action

        rows = []
        rows += self.plan_events(change, stored, data.get("timeline", []), by_url)
        self.warn_far_off(incident, data.get("timeline", []))
        rows += self.plan_impacts(change, stored, provider, data.get("customers", []), by_url)
        rows += self.plan_numbered(
            change,
            stored,
            ActionItem,
            "action_items",
            data.get("action_items", []),
            lambda item, at: {
                "description": item["description"],
                "kind": item["kind"],
                "status": item["status"],
                "source": self.cited(item.get("source"), by_url, at + ["source"]),
            },
        )
        rows += self.plan_numbered(
            change,
            stored,
            Correction,
            "corrections",
            data.get("corrections", []),
            lambda item, at: {
                "claim": item["claim"],
                "fact": item["fact"],
                "claimed_by": self.cited(item.get("claimed_by"), by_url, at + ["claimed_by"]),
                "settled_by": self.cited(item.get("settled_by"), by_url, at + ["settled_by"]),
            },
        )
        if self.failed:
            raise Invalid
        if action == "unchanged" and any(what != "unchanged" for _, what in rows):
            action = "updated"
        if action == "updated" and stored is not None and not self.publisher:
            title, status = as_stored
            self.changes_incident(Incident(slug=incident.slug, title=title, status=status))
        change.action = action
        change.report = IncidentReport(document.name, incident.slug, action, rows, incident.pk)
        if action == "created":
            self.candidates.append(duplicates.new_candidate(change, data, sources))
        return change

    def plan_merge(self, document, index, data):
        """`same_as`: add the document's new sources, timeline events and customers to the
        stored incident it names. Its fields and rows stay as they are: a source or customer it
        already has is skipped, an event that says the same at the same time too, and the
        others follow its own events. The rest of the document is not used."""
        target = data["same_as"]
        stored = self.stored.get(target)
        if data["slug"] != target and data["slug"] in self.stored:
            self.fail(["slug"], f"“{data['slug']}” is stored already; same_as is for new ones")
        if stored is None:
            self.fail(["same_as"], f"there is no incident “{target}” to merge into")
            raise Invalid
        if target in self.merged:
            self.fail(["same_as"], f"{self.merged[target]} merges into {target} as well")
            raise Invalid
        incident = stored.incident
        if self.user is not None and not workflow.can_edit(self.user, incident):
            self.fail(
                ["same_as"],
                f"{target} is {incident.get_status_display().lower()}; only a publisher may "
                "merge into it",
            )
            raise Invalid
        provider = self.reference_provider(data["provider"], ["provider"])
        if provider is not None and provider.pk != incident.provider_id:
            self.fail(["provider"], f"{provider.slug} is not the provider of {target}")
        sources = [
            self.reference_source(ref, ["sources", i])
            for i, ref in enumerate(data.get("sources", []))
        ]
        if self.failed:
            raise Invalid
        self.merged[target] = f"{document.name} {path_text(self.base)}"
        by_url = {source.url: source for source in sources}
        change = Change(document, index, incident, "unchanged", merged=True)
        rows = [(f"incident {data['slug']}", "merged into it")]

        linked = stored.related["sources"]
        added = [
            source for source in by_url.values() if source.pk is None or source.pk not in linked
        ]
        if added:
            change.related["sources"] = [Source(pk=pk) for pk in linked] + added
            rows += [(f"source {source.url}", "added") for source in added]

        self.plan_events(change, None, data.get("timeline", []), by_url)
        said = {(row.occurred_at, row.description) for row in stored.rows[TimelineEvent].values()}
        events = [
            row
            for row in change.rows[TimelineEvent][0]
            if (row.occurred_at, row.description) not in said
        ]
        for position, row in enumerate(events, max(stored.rows[TimelineEvent], default=0) + 1):
            row.position = position
        change.rows[TimelineEvent] = (events, [], [])
        rows += [(f"timeline event {row.position}", "created") for row in events]

        self.plan_impacts(change, None, provider, data.get("customers", []), by_url)
        change.impacts = [
            entry
            for entry in change.impacts
            if entry[0].customer.pk is None or entry[0].customer.pk not in stored.impacts
        ]
        rows += [(f"customer {impact.customer.slug}", "created") for impact, _, _ in change.impacts]
        if self.failed:
            raise Invalid
        if added or events or change.impacts:
            change.action = "updated"
        change.report = IncidentReport(document.name, target, change.action, rows, incident.pk)
        return change

    # --- Rows of an incident -------------------------------------------------------------

    def plan_events(self, change, stored, items, by_url):
        def values(item, at):
            return {
                "occurred_at": self.event_time(item, at),
                "precision": precision_of(item["at"], item.get("precision")),
                "time_as_stated": item.get("as_stated", ""),
                "kind": item["kind"],
                "is_key_event": item.get("key_event", False),
                "marks": item.get("marks", ""),
                "description": item["description"],
                "source": self.cited(item.get("source"), by_url, at + ["source"]),
            }

        return self.plan_numbered(change, stored, TimelineEvent, "timeline", items, values)

    def event_time(self, item, at):
        """The time of a timeline item, read once (the milestones it marks need it first)."""
        if id(item) not in self.event_times:
            self.event_times[id(item)] = self.moment(item["at"], at + ["at"])
        return self.event_times[id(item)]

    def milestones_from_timeline(self, items, values):
        """A milestone and the event that marks it are one fact (models.milestone_disagreement):
        a milestone the document leaves out takes the event's time; one it gives must be it."""
        given = SimpleNamespace(**{name: values[name] for name in MILESTONES})
        marking = {}  # marks -> index of the event that marks it
        for index, item in enumerate(items):
            marks = item.get("marks")
            if not marks:
                continue
            at = ["timeline", index]
            if marks in marking:
                first = path_text(self.base + ["timeline", marking[marks]])
                self.fail(
                    at + ["marks"],
                    f"{first} already marks the {Milestone(marks).label.lower()}; "
                    "one event states each milestone",
                )
                continue
            marking[marks] = index
            occurred_at = self.event_time(item, at)
            name = f"{marks}_at"
            if values[name] is not None and milestone_disagreement(given, marks, occurred_at):
                self.fail(
                    [name],
                    f"{values[name].isoformat()} differs from {path_text(self.base + at)}.at "
                    f"({occurred_at.isoformat()}), the event that marks the "
                    f"{Milestone(marks).label.lower()}; they state one fact, so give the same "
                    f"time or leave {name} out",
                )
        marked = [
            (
                marks,
                self.event_times.get(id(items[i])),
                precision_of(items[i]["at"], items[i].get("precision")),
            )
            for marks, i in marking.items()
        ]
        derive_milestones(given, marked)
        values.update(vars(given))

    def warn_far_off(self, incident, items):
        """Warn of timeline events far outside the incident (models.far_off); not a problem."""
        for index, item in enumerate(items):
            precision = precision_of(item.get("at"), item.get("precision"))
            message = far_off(incident, self.event_times.get(id(item)), precision)
            if message:
                self.warnings.append(
                    self.document.problem(self.base + ["timeline", index, "at"], message)
                )

    def plan_numbered(self, change, stored, model, key, items, values_of):
        """Rows numbered within the incident (timeline events, action items, corrections):
        matched by position, updated in place, created, or removed when no longer listed."""
        label = str(model._meta.verbose_name)
        existing = stored.rows[model] if stored else {}
        seen, new_rows, changed_rows, report = set(), [], [], []
        for index, item in enumerate(items):
            at = [key, index]
            position = item.get("position", index + 1)
            if position in seen:
                self.fail(at + ["position"], f"position {position} is used twice")
                continue
            seen.add(position)
            values = values_of(item, at)
            row = existing.get(position)
            if row is None:
                row = model(incident=change.incident, position=position, **values)
                if self.validate(row, at, exclude=self.resolved(model), checked=True):
                    new_rows.append(row)
                report.append((f"{label} {position}", "created"))
            elif not same_values(row, values):
                for name, value in values.items():
                    setattr(row, name, value)
                if self.validate(row, at, exclude=self.resolved(model), checked=True):
                    changed_rows.append(row)
                report.append((f"{label} {position}", "updated"))
            else:
                report.append((f"{label} {position}", "unchanged"))
        gone = [row for position, row in existing.items() if position not in seen]
        change.rows[model] = (new_rows, changed_rows, gone)
        report += [(f"{label} {row.position}", "removed") for row in gone]
        return report

    def plan_impacts(self, change, stored, provider, items, by_url):
        existing = stored.impacts if stored else {}
        seen, report = set(), []
        for index, item in enumerate(items):
            at = ["customers", index]
            customer = self.reference_customer(item["customer"], at + ["customer"])
            if customer is None:
                continue
            if customer.slug in seen:
                self.fail(at + ["customer"], f"{customer.slug} is listed twice")
                continue
            seen.add(customer.slug)
            services = [
                self.impact_service(provider, key, at + ["services", i])
                for i, key in enumerate(item.get("services", []))
            ]
            values = {
                "level": item["level"],
                "description": item.get("description", ""),
                "started_at": self.moment(item.get("started_at"), at + ["started_at"]),
                "ended_at": self.moment(item.get("ended_at"), at + ["ended_at"]),
                "source": self.cited(item.get("source"), by_url, at + ["source"]),
            }
            impact = existing.get(customer.pk) if customer.pk else None
            what = f"customer {customer.slug}"
            if impact is None:
                impact = CustomerImpact(incident=change.incident, customer=customer, **values)
                action = "created"
            else:
                action = "unchanged" if same_values(impact, values) else "updated"
                for name, value in values.items():
                    setattr(impact, name, value)
            exclude = ["incident", "customer", "source", "services"]
            if not self.validate(impact, at, exclude=exclude, checked=True) or self.failed:
                continue
            wanted = list({id(service): service for service in services if service}.values())
            if action == "created":
                change.impacts.append((impact, True, wanted))
            elif stored.impact_services.get(impact.pk, set()) != {s.pk for s in wanted}:
                change.impacts.append((impact, action == "updated", wanted))
                action = "updated"
            elif action == "updated":
                change.impacts.append((impact, True, None))
            report.append((what, action))
        listed = {self.references[(Customer, slug)].pk for slug in seen}
        for customer_id, impact in existing.items():
            if customer_id not in listed:
                report.append((f"customer {impact.customer.slug}", "removed"))
                change.gone_impacts.append(impact)
        return report

    # --- References ---------------------------------------------------------------------

    def reference_provider(self, ref, at):
        if isinstance(ref, str):
            return self.lookup((Provider, ref), at, f"provider “{ref}”")
        return self.reference_in_full(
            Provider, None, (ref["slug"],), at, {"slug": ref["slug"]}, ref
        )

    def reference_service(self, provider, ref, at):
        if isinstance(ref, str):
            return self.lookup(
                (Service, provider.slug, ref), at, f"service “{ref}” of {provider.slug}"
            )
        identity = {"provider": provider, "slug": ref["slug"]}
        return self.reference_in_full(
            Service, provider.slug, (provider.slug, ref["slug"]), at, identity, ref
        )

    def reference_region(self, provider, ref, at):
        if isinstance(ref, str):
            return self.lookup(
                (Region, provider.slug, ref), at, f"region “{ref}” of {provider.slug}"
            )
        identity = {"provider": provider, "code": ref["code"]}
        return self.reference_in_full(
            Region, provider.slug, (provider.slug, ref["code"]), at, identity, ref
        )

    def reference_source(self, ref, at):
        if isinstance(ref, str):
            return self.lookup((Source, ref), at, f"source “{ref}”")
        return self.upsert(Source, (ref["url"],), {"url": ref["url"]}, ref, at)

    def reference_customer(self, ref, at):
        if isinstance(ref, str):
            return self.lookup((Customer, ref), at, f"customer “{ref}”")
        known = (Customer, ref["slug"]) in self.references
        if not known:
            resolved, obj = self.resolve_name(Customer, None, ref["name"], at, ref["slug"])
            if resolved:
                return obj
        values = dict(ref)
        if values.get("provider") is not None:  # left out, it stays as stored
            values["provider"] = self.reference_provider(values["provider"], at + ["provider"])
        obj = self.upsert(Customer, (ref["slug"],), {"slug": ref["slug"]}, values, at)
        return obj if known else self.made(Customer, None, obj)

    def reference_in_full(self, model, scope, key, at, identity, values):
        """A row the document gives in full. A new key with the name (or an alias) of a row
        already known is that row, linked as it is (resolve_name); otherwise upsert()."""
        if (model, *key) in self.references:
            return self.upsert(model, key, identity, values, at)
        resolved, obj = self.resolve_name(model, scope, values["name"], at, key[-1])
        if resolved:
            return obj
        return self.made(model, scope, self.upsert(model, key, identity, values, at))

    def impact_service(self, provider, key, at):
        provider_slug, dot, slug = key.rpartition(".")
        owner = provider.slug if not dot else provider_slug
        return self.lookup((Service, owner, slug), at, f"service “{key}”")

    def lookup(self, key, at, what):
        """The row a document names by its key; failing that, by its name or an alias."""
        obj = self.references.get(key)
        if obj is not None:
            return obj
        model, *natural_key = key
        if model is not Source:
            scope = natural_key[0] if len(natural_key) == 2 else None
            resolved, obj = self.resolve_name(model, scope, natural_key[-1], at)
            if resolved:
                return obj
            if obj is AMBIGUOUS:
                return None
        self.fail(at, f"there is no {what}; give it in full to create it")
        return None

    def resolve_name(self, model, scope, text, at, new_key=None):
        """(True, row) when `text` is the name, key or an alias of exactly one row known (stored,
        or made earlier in this run), said in a warning; (False, AMBIGUOUS) when it is that of
        several, a problem naming them; (False, None) when of none. `new_key`: the key of a row
        given in full, which becomes the row found instead of a second one."""
        if self.names is None:
            self.names = importing_bulk.stored_names(self.references)
        found = self.names.match(model, scope, text)
        label = model._meta.verbose_name
        given = f"“{text}”" if new_key is None else f"“{text}” ({new_key})"
        if len(found) > 1:
            candidates = ", ".join(f"{key_of(row)} ({how})" for row, how in found)
            self.fail(at, f"{given} could be more than one {label}: {candidates}; use the key")
            return False, AMBIGUOUS
        if not found:
            return False, None
        row, how = found[0]
        key = (model, *row.natural_key()) if row.pk is not None else None
        if key is not None:
            row = self.references.setdefault(key, row)
            if model is Provider:
                for child in self.names.children[row.slug]:
                    self.references.setdefault((type(child), *child.natural_key()), child)
        self.warn(at, f"{given} resolved to {label} {key_of(row)} ({how})")
        return True, row

    def made(self, model, scope, obj):
        """Remember a row this run creates by its name and key, so that a later mention by name
        finds it (resolve_name)."""
        if obj is not None and obj.pk is None:
            self.names.add_row(model, scope, obj)
        return obj

    def upsert(self, model, key, identity, values, at):
        """Link a reference row given in full, creating it when it is new (written before the
        next incidents are, by save_references).

        A stored row is never rewritten as a side effect: each value the document gives
        differently is a conflict, unless the run asks for reference updates. Values the
        document leaves out are kept. Two places in one run that give one row different values
        are a problem naming both, whichever of them is stored."""
        values = {
            name: "" if value is None and self.is_text(model, name) else value
            for name, value in values.items()
        }
        key = (model, *key)
        obj = self.references.get(key)
        if obj is not None and key in self.given and same_values(obj, values):
            return obj
        # Validate a fresh row, so that a refused description leaves the shared one as it was.
        candidate = model(**identity)
        for name, value in values.items():
            setattr(candidate, name, value)
        # Looked up by its key, so the key is free or its own; references are resolved.
        if not self.validate(candidate, at, exclude=self.resolved(model), checked=True):
            return None
        place = self.base + at
        cleaned = fields_of(candidate, values)
        label = f"{model._meta.verbose_name} {'.'.join(str(part) for part in key[1:])}"
        given = self.given.setdefault(key, {})
        disputed = set()
        for name, value in cleaned.items():
            if name not in given:
                given[name] = (value, self.document, place)
            elif given[name][0] != value:
                disputed.add(name)
                first, document, path = given[name]
                there = document.problem(path, "")
                where = f"{there.file}:{there.line}" if there.line else there.file
                self.problems.append(
                    self.document.problem(
                        place,
                        f"{label}: {name} {conflicts.shown(keyed(value))} here, but "
                        f"{conflicts.shown(keyed(first))} in {where} "
                        f"{there.path}; give it one value",
                    )
                )
        if obj is None:
            self.references[key] = candidate
            self.unsaved.append((candidate, self.document, place))
            self.written.setdefault(self.document.name, {})[id(candidate)] = candidate
            return candidate
        stored = key in self.stored_keys
        changes = {
            name: value
            for name, value in cleaned.items()
            if name not in disputed and not same_values(obj, {name: value})
        }
        if stored and not self.update_references:
            for name, value in changes.items():
                self.problems.append(
                    self.document.problem(
                        place,
                        f"{label}: "
                        + conflicts.describe(name, keyed(getattr(obj, name)), keyed(value)),
                    )
                )
        elif changes:
            for name, value in changes.items():
                setattr(obj, name, value)
            if obj.pk is not None:
                self.changed[id(obj)] = (obj, self.document, place)
            self.written.setdefault(self.document.name, {})[id(obj)] = obj
            if stored:
                self.updated[id(obj)] = obj
        return obj

    def record_references(self):
        """A revision for the reference rows each document created or changed; the search
        documents of the incidents that show a changed stored row."""
        importing_bulk.record_reference_revisions(self.written, self.user)
        search.update_index_showing(list(self.updated.values()))

    @staticmethod
    def is_text(model, name):
        field = model._meta.get_field(name)
        return field.get_internal_type() in {"CharField", "TextField", "URLField", "SlugField"}

    def cited(self, url, by_url, at):
        if not url:
            return None
        if url not in by_url:
            self.fail(at, f"“{url}” is not among this incident's sources; list it under sources")
            return None
        return by_url[url]

    # --- Values and validation -------------------------------------------------------------

    def moment(self, value, at):
        """A document's time as stored (UTC), or None. A time without an offset is in the
        incident's zone (self.incident_zone); a day, month or year is the start of that period
        there. With the zone unstated, the time is stored as written (as if UTC)."""
        if value is None:
            return None
        written = read_time(value)
        if written is None:
            self.fail(at, f"“{value}” is not a time such as {TIME_EXAMPLES}")
            return None
        parsed = written.value
        if parsed.tzinfo is None:
            if self.incident_zone is None:
                self.fail(at, f"“{value}” has no UTC offset; add one, time_zone or --timezone")
                return None
            parsed = parsed.replace(tzinfo=text.zone_of(self.incident_zone))
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # year 1 east of UTC, or year 9999 west of it
            when = "before 1970" if parsed.year < 1970 else "more than a year from now"
            self.fail(at, f"“{value}” is {when}; check the year")
            return None

    def validate(self, obj, at, exclude=None, checked=False):
        """The model's own validation. `checked`: the importer has already ensured what the
        database would be asked (keys exist, numbering is unique), so skip those queries;
        constraints that are checks are mirrored in each model's clean()."""
        try:
            obj.full_clean(
                exclude=exclude, validate_unique=not checked, validate_constraints=not checked
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                where = at if name == "__all__" else at + [document_name(name)]
                for message in messages:
                    self.fail(where, message.rstrip("."))
            return False
        return True

    @staticmethod
    def resolved(model):
        """Foreign keys the importer resolved itself (so they exist)."""
        return [f.name for f in model._meta.concrete_fields if f.is_relation]

    def fail(self, at, message):
        self.failed = True
        self.problems.append(self.document.problem(self.base + at, message))

    def warn(self, at, message):
        self.warnings.append(self.document.problem(self.base + at, message))


def keyed(value):
    """A value as a conflict message shows it: a row by its natural key."""
    return value.natural_key() if hasattr(value, "natural_key") else value


def mentioned(items):
    """The natural keys of every reference row the incidents name, by model, to read them all
    with a few queries: provider slugs, customer slugs, source URLs. A name that is not a key
    ("Amazon") is simply not found among them; Importer.resolve_name then reads every name and
    alias at once (importing_bulk.stored_names)."""
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


def key_of(row):
    """How a document names a reference row: its slug, or a region's code."""
    return row.code if isinstance(row, Region) else row.slug


def document_name(model_field):
    reverse = {model: doc for doc, model in EVENT_FIELDS.items()}
    return reverse.get(model_field, model_field)


def precision_of(value, given):
    """A time's precision: the one the document gives, else what its text allows ("2017-01"
    is a month); check_schema has refused one finer than the text."""
    if given:
        return given
    written = read_time(value) if isinstance(value, str) else None
    return written.precision if written else Precision.MINUTE
