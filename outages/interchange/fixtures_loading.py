"""Loading JSON fixtures by the rules every write path follows: validated, never overwriting
without being asked, a revision for every change, all or nothing.

`loaddata` writes whatever a fixture names (a superuser, a permission, any row by its number),
runs no model validation, overwrites a row whose natural key matches, blanking what the file does
not mention, and records no revision. `load_fixtures()` is the path `make setup` uses instead:

- Only this app's content, with natural keys, values of the right JSON type and no control
  characters (fixtures_reading.py checks the files before anything touches the database).
- A row named twice in one run is an error naming both places, except a reference row repeated
  with identical values in different files: each incident file repeats the rows it uses so that
  it loads alone.
- An existing reference row (provider, service, region, customer, source) is linked, never
  rewritten: values that differ from the stored ones are reported as conflicts and refused,
  unless `update_references` asks for them to be written.
- An existing incident is refused unless `update` is given; then it is updated as an import
  updates it: only the fields the file mentions (many-to-many ones only when given), its rows
  matched by natural key and created or updated in place (none removed), its lock number bumped
  so that a form opened before the load cannot overwrite it. Fixtures are loaded by an operator
  with shell access, who has a Publisher's rights (as with `import_incidents`): no role check.
- Every object is validated with `full_clean()`; one run reports every problem in every file,
  and writes nothing at all unless everything is good (one transaction).
- Each created or changed row gets a revision, "Loaded from <file name>": one per incident,
  holding it and its rows, one per reference row; an unchanged row gets none. The search index
  and the page cache follow.
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from outages import page_cache, revisions, search, summaries
from outages.interchange import conflicts
from outages.interchange.fixtures_reading import ALLOWED_MODELS, ALLOWED_TEXT, check, key_text, read
from outages.models import (
    Alias,
    Customer,
    Incident,
    IncidentArticle,
    Provider,
    Region,
    Service,
    Source,
    TimelineEvent,
    milestone_disagreement,
    status_disagreements,
)

__all__ = ["ALLOWED_MODELS", "ALLOWED_TEXT", "FixturesRefused", "LoadSummary", "load_fixtures"]

# Aliases count as reference rows: linked when stored, each with its own revision.
REFERENCE_MODELS = {Provider, Service, Region, Customer, Alias, Source}
# Kept up to date by the write itself, so never compared with the file nor taken from it for a
# stored row: the lock number and the time of the last change.
BOOKKEEPING = {"version", "updated_at"}
EXISTS = (
    "incident {slug} already exists; load_fixtures does not overwrite it. "
    "Pass --update to update it, or use import_incidents."
)
CONFLICTS = (
    "Each conflict shows the stored value, then the file's. Stored reference rows are linked, "
    "never rewritten; pass --update-references to write the files' values."
)
# Where a missing row was looked for: a required reference can only name a row that exists
# before the object is saved; an optional one (and a list) may name a row later in the set.
EARLIER = "earlier in these fixtures"
ANYWHERE = "in these fixtures"


@dataclass
class LoadSummary:
    files: int = 0
    objects: Counter = field(default_factory=Counter)  # (model label, action) -> objects
    revisions: int = 0

    @property
    def total(self):
        return sum(self.objects.values())

    def count(self, action):
        return sum(n for (_, done), n in self.objects.items() if done == action)


class FixturesRefused(ValueError):
    """Nothing was loaded; the message lists every problem found."""


class Unresolved(Exception):
    """A natural-key reference that names no row."""


class NotAKey(Unresolved):
    """A reference that cannot be a natural key of the model it names; waiting will not help."""


def load_fixtures(paths, *, update=False, update_references=False):
    """Validate and save every object of the JSON fixture files `paths`, in order, atomically.

    Returns a LoadSummary. Raises FixturesRefused listing every problem found, with file, object,
    model, natural key and field, and then the database is exactly as it was.
    """
    if not paths:
        raise FixturesRefused("Name at least one fixture file.")
    return Loader(update=update, update_references=update_references).run(paths)


class Loader:
    def __init__(self, *, update, update_references):
        self.update = update
        self.update_references = update_references
        self.summary = LoadSummary()
        self.problems = []  # (where: file number and object number, message)
        self.numbers = {}  # file path -> its place in the run, to report in the files' order
        self.deferred = []  # entries with references to rows later in the set
        self.new_incidents = set()  # pks of incidents created in this run
        self.refused = set()  # pks of stored incidents already reported as existing
        self.incidents = {}  # pk of each created or changed incident -> the file that did it
        self.references = {}  # (model, pk) of each created or changed reference row -> (row, file)
        self.found = {}  # (model, *natural key) -> pk of the rows references have named
        self.conflicted = False  # a stored reference row differs from a file

    def run(self, paths):
        entries = []
        for number, path in enumerate(map(str, paths)):
            self.numbers.setdefault(path, number)
            found = []
            objects = read(path, found)
            self.problems += [((number, 0), problem) for problem in found]
            for index, raw in enumerate(objects or [], start=1):
                found = []
                entry = check(path, index, raw, found)
                self.problems += [((number, index), problem) for problem in found]
                if entry is not None:
                    entries.append(entry)
            self.summary.files += objects is not None
        with transaction.atomic():
            self.counts = summaries.Change()  # told of each stored incident before it changes
            for entry in self.once_each(entries):
                self.apply(entry)
            # As loaddata does: references to rows that came later in the set (allowed only where
            # the field may be empty meanwhile) are filled in once everything else is saved.
            for entry in self.deferred:
                self.finish(entry)
            if not self.problems:
                self.check_milestones()
                self.problems += [
                    ((0, 0), f"incident {key_text(slug)}, action item {position}: status {stored} "
                     f"is not its history's latest state ({derived}); make them the same")
                    for slug, position, stored, derived in status_disagreements(self.incidents)
                ]  # fmt: skip
            if not self.problems:
                self.record()
            if self.problems:
                # Raising inside atomic() rolls back every object already saved.
                count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
                self.problems.sort(key=lambda problem: problem[0])  # stable: in files' order
                raise FixturesRefused(
                    f"Fixtures not loaded, nothing was written ({count}):\n"
                    + "\n".join(f"  {problem}" for _, problem in self.problems)
                    + (f"\n{CONFLICTS}" if self.conflicted else "")
                )
        return self.summary

    def check_milestones(self):
        """Each written incident's milestones against the events that mark them, once every row
        is in place (models.milestone_disagreement). Fixtures are stored rows as they are:
        nothing is filled in here; a milestone that is not its event's time is a problem."""
        marked = (
            TimelineEvent.objects.filter(incident_id__in=list(self.incidents))
            .exclude(marks="")
            .select_related("incident")
            .order_by("incident__slug", "position")
        )
        for event in marked:
            message = milestone_disagreement(event.incident, event.marks, event.occurred_at)
            if message:
                number = self.numbers.get(self.incidents[event.incident_id], 0)
                self.problems.append(
                    (
                        (number, 0),
                        f"incident {key_text(event.incident.slug)}, timeline event "
                        f"{event.position}: {message}; set them to the same time",
                    )
                )

    def once_each(self, entries):
        """The entries naming a row not named before in this run. A second object for the same
        row is an error naming both places, unless it is an identical copy of a reference row
        in another file (incident files repeat the rows they use, to load alone)."""
        first = {}
        for entry in entries:
            earlier = first.setdefault((entry.label, entry.key), entry)
            if earlier is entry or entry.key is None:  # a null in the key: full_clean says so
                yield entry
            elif (
                entry.model in REFERENCE_MODELS
                and entry.path != earlier.path
                and entry.fields == earlier.fields
            ):
                self.summary.objects[(entry.label, "unchanged")] += 1
            else:
                others = [
                    conflicts.describe(name, earlier.fields.get(name), entry.fields.get(name))
                    for name in {**earlier.fields, **entry.fields}
                    if earlier.fields.get(name) != entry.fields.get(name)
                ]
                self.report(
                    entry,
                    f"the same row as {earlier.where}"
                    + (f", with other values ({'; '.join(others)})" if others else "")
                    + "; give each row once in a run"
                    + (
                        ", or the same values in every file"
                        if entry.model in REFERENCE_MODELS and entry.path != earlier.path
                        else ""
                    ),
                )

    # --- Each object ----------------------------------------------------------------------

    def apply(self, entry):
        """Resolve, compare, validate and save one object, as far as its references allow."""
        resolved = self.resolve(entry, EARLIER)
        if resolved is None:
            return
        values, many, pending = resolved
        obj = self.stored(entry)
        incident_pk = obj.pk if isinstance(obj, Incident) else values.get("incident")
        if incident_pk is not None and not self.may_change(entry, incident_pk):
            return
        if obj is not None:
            entry.obj = obj
            if pending:
                self.deferred.append(entry)
            else:
                self.change(entry, values, many)
            return
        obj = entry.model()
        self.set(obj, values)
        errors = self.validate(obj, exclude={*pending, *many}) or self.save(obj)
        if errors:
            self.fail(entry, errors)
            return
        entry.obj, entry.action = obj, "created"
        if isinstance(obj, Incident):
            self.new_incidents.add(obj.pk)
        if pending:
            self.deferred.append(entry)
        else:
            self.set_many(obj, many)
            self.done(entry)

    def finish(self, entry):
        resolved = self.resolve(entry, ANYWHERE)
        if resolved is None:
            return
        values, many, _ = resolved
        if entry.action != "created":
            self.change(entry, values, many)
            return
        self.set(entry.obj, values)
        errors = self.validate(entry.obj) or self.save(entry.obj)
        if errors:
            self.fail(entry, errors)
            return
        self.set_many(entry.obj, many)
        self.done(entry)

    def may_change(self, entry, incident_pk):
        """Whether an object may write to this incident: one created in this run, or a stored
        one with --update. Refused once per incident, with the way forward."""
        if incident_pk in self.new_incidents:
            return True
        if self.update:
            self.counts.touch([incident_pk])
            return True
        if incident_pk not in self.refused:
            self.refused.add(incident_pk)
            slug = Incident.objects.filter(pk=incident_pk).values_list("slug", flat=True).get()
            self.report(entry, EXISTS.format(slug=slug))
        return False

    def change(self, entry, values, many):
        """Compare a stored row with the file's values and update what differs; for a
        reference row, only if asked to, and otherwise each difference is a conflict."""
        obj = entry.obj
        differences = [
            (name, value)
            for name, value in values.items()
            if name not in BOOKKEEPING
            and not name.endswith("_html")  # rendered from the Markdown on save
            and getattr(obj, obj._meta.get_field(name).attname) != value
        ]
        many = {
            name: pks
            for name, pks in many.items()
            if set(pks) != set(getattr(obj, name).values_list("pk", flat=True))
        }
        if not differences and not many:
            entry.action = "unchanged"
            self.summary.objects[(entry.label, "unchanged")] += 1
            return
        if isinstance(obj, tuple(REFERENCE_MODELS)) and not self.update_references:
            for name in [*(name for name, _ in differences), *many]:
                self.report(entry, self.conflict(entry, name))
            self.conflicted = True
            return
        self.set(obj, dict(differences))
        errors = self.validate(obj) or self.save(obj)
        if errors:
            self.fail(entry, errors)
            return
        self.set_many(obj, many)
        entry.action = "updated"
        self.done(entry)

    def conflict(self, entry, name):
        """One difference between a stored reference row and the file, in the file's terms."""
        obj, model_field = entry.obj, entry.model._meta.get_field(name)
        if model_field.many_to_many:
            stored = [list(row.natural_key()) for row in getattr(obj, name).all()]
        elif model_field.is_relation:
            related = getattr(obj, name)
            stored = None if related is None else list(related.natural_key())
        else:
            stored = getattr(obj, name)
        return conflicts.describe(name, stored, entry.values.get(name, entry.fields[name]))

    def done(self, entry):
        """Count a created or changed row and remember what it needs: a revision, the search
        index, new bookkeeping for a stored incident."""
        obj = entry.obj
        self.summary.objects[(entry.label, entry.action)] += 1
        if isinstance(obj, tuple(REFERENCE_MODELS)):
            self.references.setdefault((type(obj), obj.pk), (obj, entry.path))
        else:
            pk = obj.pk if isinstance(obj, Incident) else obj.incident_id
            self.incidents.setdefault(pk, entry.path)

    # --- References and rows -----------------------------------------------------------------

    def resolve(self, entry, place):
        """(values, many-to-many pks, pending references) for an entry, or None after
        recording its problems. `values` are by field name, a reference as the pk it names."""
        values, many, pending, errors = dict(entry.values), {}, {}, []
        for name, raw in entry.fields.items():
            model_field = entry.model._meta.get_field(name)
            if not model_field.is_relation:
                continue
            related = model_field.related_model
            try:
                if model_field.many_to_many:
                    many[name] = [self.lookup(related, key, place) for key in raw]
                else:
                    values[name] = None if raw is None else self.lookup(related, raw, place)
            except NotAKey as error:
                errors.append(f"{name}: {error}")
            except Unresolved as error:
                may_wait = model_field.many_to_many or model_field.null
                if place == EARLIER and may_wait:
                    pending[name] = raw
                    many.pop(name, None)
                else:
                    errors.append(f"{name}: {error}")
        if errors:
            self.fail(entry, errors)
            return None
        return values, many, pending

    def lookup(self, model, key, place):
        """The primary key of the `model` row whose natural key is `key`."""
        found = (model, *key)
        if found in self.found:
            return self.found[found]
        try:
            self.found[found] = model._default_manager.get_by_natural_key(*key).pk
            return self.found[found]
        except model.DoesNotExist:
            raise Unresolved(
                f"there is no {model._meta.label_lower} {key_text(key)} in the database or {place}"
            ) from None
        except (TypeError, ValueError, ValidationError, model.MultipleObjectsReturned):
            raise NotAKey(
                f"{key_text(key)} is not a natural key of {model._meta.label_lower}"
            ) from None

    @staticmethod
    def stored(entry):
        """The stored row the entry names by its natural key, or None."""
        if entry.key is None:
            return None
        try:
            return entry.model._default_manager.get_by_natural_key(*entry.key)
        except (entry.model.DoesNotExist, TypeError, ValueError, ValidationError):
            return None

    @staticmethod
    def set(obj, values):
        for name, value in values.items():
            setattr(obj, obj._meta.get_field(name).attname, value)

    @staticmethod
    def set_many(obj, many):
        for name, pks in many.items():
            getattr(obj, name).set(pks)

    @staticmethod
    def validate(obj, exclude=None):
        try:
            obj.full_clean(exclude=exclude)
        except ValidationError as error:
            # "field: message" lines; messages about no one field (a constraint) stand alone.
            return [
                message if name == NON_FIELD_ERRORS else f"{name}: {message}"
                for name, messages in error.message_dict.items()
                for message in messages
            ]
        return []

    @staticmethod
    def save(obj):
        """Save in a savepoint, so that a database error is reported and the transaction stays
        usable (PostgreSQL refuses every query after an error otherwise)."""
        try:
            with transaction.atomic():
                obj.save()
        except (DatabaseError, ValueError, OverflowError) as error:
            return [f"the database refused it: {error}"]
        return []

    def fail(self, entry, errors):
        for error in errors:
            self.report(entry, error)

    def report(self, entry, problem):
        self.problems.append(((self.numbers[entry.path], entry.index), f"{entry.name}: {problem}"))

    # --- After every object ----------------------------------------------------------------

    def record(self):
        """Bookkeeping of changed stored incidents, a revision per changed row, the search
        index and the page cache: what every write path does after writing."""
        changed = set(self.incidents) - self.new_incidents
        Incident.objects.filter(pk__in=changed).update(
            version=F("version") + 1, updated_at=timezone.now()
        )
        for obj, path in self.references.values():
            self.revision(obj, path)
        incidents = Incident.objects.in_bulk(list(self.incidents))
        for pk, path in self.incidents.items():
            self.revision(incidents[pk], path)
        IncidentArticle.objects.forget(self.incidents)
        IncidentArticle.objects.forget_showing([obj for obj, _ in self.references.values()])
        written = set(self.incidents) | self.naming_changed_references()
        if written:
            search.update_index(sorted(written))
        self.counts.add(self.new_incidents)
        self.counts.apply()
        if self.incidents or self.references:
            page_cache.invalidate_all()  # names and incidents on any page may have changed

    def revision(self, obj, path):
        revisions.record([obj], f"Loaded from {Path(path).name}")  # never a server path
        self.summary.revisions += 1

    def naming_changed_references(self):
        """Stored incidents whose search documents show a reference row this run changed."""
        changed = {}
        for (model, pk), _ in self.references.items():
            changed.setdefault(model, []).append(pk)
        pks = set()
        for model, lookup in [
            (Provider, "provider__in"),
            (Service, "services__in"),
            (Region, "regions__in"),
            (Customer, "impacts__customer__in"),
            (Source, "sources__in"),
        ]:
            if changed.get(model):
                found = Incident.objects.filter(**{lookup: changed[model]})
                pks.update(found.values_list("pk", flat=True))
        return pks
