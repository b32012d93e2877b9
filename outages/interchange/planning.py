"""Planning one incident of a document: its values read and validated with the models' own
full_clean(), its rows (timeline, customers, action items, corrections) matched with what is
stored, nothing written. The Importer (importing.py) holds the run's state."""

from dataclasses import dataclass, field
from datetime import UTC
from functools import cache
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.utils import timezone

from outages import duplicates, text, workflow
from outages.interchange.correction_rows import Corrections
from outages.interchange.document_checks import SETTLED
from outages.interchange.document_times import TIME_EXAMPLES, read_time
from outages.interchange.documents import path_text, precision_key
from outages.interchange.ledger_rows import Ledger
from outages.interchange.new_rows import new_row
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
    Source,
    TimelineEvent,
    derive_milestones,
    far_off,
    milestone_disagreement,
    milestones_from_new_events,
)

# Document field -> model field, where the names differ.
EVENT_FIELDS = {"at": "occurred_at", "as_stated": "time_as_stated", "key_event": "is_key_event"}


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
class Change:
    """What importing one incident would write; the Importer plans it, bulk.py writes it."""

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


class Planning(Corrections, Ledger):
    """The Importer's planning of one incident (see importing.Importer for the state it keeps)."""

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
            "provider_impact": data.get("provider_impact", ""),
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
        rows += self.plan_ledger(change, stored, data.get("action_items", []), by_url)
        rows += self.plan_numbered(
            change,
            stored,
            Correction,
            "corrections",
            data.get("corrections", []),
            lambda item, at: self.correction_values(item, at, by_url),
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
        marked = {row.marks for row in stored.rows[TimelineEvent].values() if row.marks}
        change.save_incident = bool(milestones_from_new_events(incident, marked, events))
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
        if added or events or change.impacts or change.save_incident:
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
                self.warn(["timeline", index, "at"], message)

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
                row = new_row(model, {"incident": change.incident, "position": position, **values})
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
    @cache
    def resolved(model):
        """Foreign keys the importer resolved itself (so they exist), fields the schema settled."""
        keys = [f.name for f in model._meta.concrete_fields if f.is_relation]
        return tuple(keys + list(SETTLED.get(model, ())))

    def fail(self, at, message):
        self.failed = True
        self.problems.append(self.document.problem(self.base + at, message))

    def warn(self, at, message):
        self.warnings.append(self.document.problem(self.base + at, message))


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
