"""The importer's reads and writes, many incidents at a time: what is stored, read with a few
queries per thousand incidents; new incidents written with one INSERT per table; revisions
written as django-reversion writes them, for thousands of incidents in one pass.

Nothing here decides anything: importing.py plans each incident (a Change) and calls these.
"""

import json
import queue
import subprocess
import sys
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.encoding import is_protected_type
from reversion.models import Revision, Version
from reversion.revisions import _get_options

from outages.interchange.documents import base_name
from outages.models import (
    ActionItem,
    Alias,
    Correction,
    Customer,
    CustomerImpact,
    Incident,
    Provider,
    Region,
    Service,
    Source,
    TimelineEvent,
    render_markdown_fields,
)
from outages.names import normalise_name
from outages.rendering import render_markdown

# Keys per IN (…) list, so that no query needs more parameters than SQLite allows.
READ_BATCH = 1000
VERSION_BATCH = 1000  # Version rows per INSERT
RELATED = ["services", "regions", "sources"]  # the incident's many-to-many fields
NUMBERED = [TimelineEvent, ActionItem, Correction]  # rows numbered within their incident
# New incidents from which their Markdown is rendered in a second process (Renderer); for fewer,
# starting one costs more than it saves.
RENDER_ELSEWHERE_FROM = 300
RENDER_BATCH = 500  # texts per batch sent to that process
RENDER_TIMEOUT_SECONDS = 120  # for one batch; then the rest is rendered here
RENDERER = (
    "import json, sys\n"
    "from outages.rendering import render_markdown\n"
    "for line in sys.stdin:\n"
    "    print(json.dumps([render_markdown(text) for text in json.loads(line)]), flush=True)\n"
)
PROJECT_DIR = Path(__file__).resolve().parents[2]


def batches(values, size=READ_BATCH):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- Reading what is stored ---------------------------------------------------------------


@dataclass
class Stored:
    """A stored incident with what the importer compares: its links and rows."""

    incident: Incident
    related: dict = field(default_factory=dict)  # "services" etc. -> set of pks
    rows: dict = field(default_factory=dict)  # model -> {position: row}
    impacts: dict = field(default_factory=dict)  # customer pk -> impact
    impact_services: dict = field(default_factory=dict)  # impact pk -> set of service pks


def stored_incidents(slugs):
    """{slug: Stored} of the incidents that exist among these slugs: nine queries per
    thousand incidents, however many rows they have."""
    found = {}
    for batch in batches(slugs):
        entries = {
            incident.pk: Stored(incident) for incident in Incident.objects.filter(slug__in=batch)
        }
        if not entries:
            continue
        for name in RELATED:
            links = linked(Incident, name, list(entries))
            for pk, entry in entries.items():
                entry.related[name] = links.get(pk, set())
        for model in NUMBERED:
            for entry in entries.values():
                entry.rows[model] = {}
            for row in model.objects.filter(incident_id__in=list(entries)).order_by():
                entries[row.incident_id].rows[model][row.position] = row
        impacts = CustomerImpact.objects.filter(incident_id__in=list(entries)).order_by()
        impacts = list(impacts)
        for impact in impacts:
            entries[impact.incident_id].impacts[impact.customer_id] = impact
        for impact_batch in batches(impacts):
            links = linked(CustomerImpact, "services", [impact.pk for impact in impact_batch])
            for impact in impact_batch:
                entries[impact.incident_id].impact_services[impact.pk] = links.get(impact.pk, set())
        for entry in entries.values():
            found[entry.incident.slug] = entry
    return found


def linked(model, name, pks):
    """{pk: set of linked pks} of a many-to-many field, read from its table of links."""
    m2m = model._meta.get_field(name)
    through = m2m.remote_field.through
    source, target = f"{m2m.m2m_field_name()}_id", f"{m2m.m2m_reverse_field_name()}_id"
    links = defaultdict(set)
    for owner, other in through.objects.filter(**{f"{source}__in": pks}).values_list(
        source, target
    ):
        links[owner].add(other)
    return links


def stored_references(keys):
    """{(model, *natural key): row} of the stored reference rows among these keys ({model:
    set of slugs or URLs}, see importing.mentioned), with every service and region of the
    providers named."""
    found = {}
    providers = {}
    for batch in batches(keys[Provider]):
        for provider in Provider.objects.filter(slug__in=batch):
            providers[provider.pk] = provider
            found[(Provider, provider.slug)] = provider
    for model, code in [(Service, "slug"), (Region, "code")]:
        for batch in batches(providers):
            for row in model.objects.filter(provider_id__in=batch).order_by():
                row.provider = providers[row.provider_id]
                found[(model, row.provider.slug, getattr(row, code))] = row
    for model, key in [(Customer, "slug"), (Source, "url")]:
        for batch in batches(keys[model]):
            for row in model.objects.filter(**{f"{key}__in": batch}).order_by():
                found[(model, getattr(row, key))] = row
    return found


@dataclass
class Names:
    """Every provider, service, region and customer by the normalised form of its name, its
    slug (or code) and its aliases: {(model, provider slug for services and regions, else None,
    normalised): {id(row): (row, how)}}, how being "name", "slug", "code" or "alias"."""

    rows: dict = field(default_factory=lambda: defaultdict(dict))
    children: dict = field(default_factory=lambda: defaultdict(list))  # provider slug -> rows

    def add(self, model, scope, text, row, how):
        self.rows[(model, scope, normalise_name(text))].setdefault(id(row), (row, how))

    def add_row(self, model, scope, row):
        """A row under its name and its key."""
        key = "code" if model is Region else "slug"
        self.add(model, scope, row.name, row, "name")
        self.add(model, scope, getattr(row, key), row, key)

    def match(self, model, scope, text):
        return list(self.rows.get((model, scope, normalise_name(text)), {}).values())


def stored_names(references):
    """Names of every stored provider, service, region and customer, with their aliases: five
    queries, however many incidents are imported (see Importer.named). A row already among
    `references` ({(model, *natural key): row}, see stored_references) is that same object."""
    names = Names()
    providers, rows = {}, {}
    for provider in Provider.objects.order_by():
        provider = references.get((Provider, provider.slug), provider)
        providers[provider.pk] = rows[(Provider, provider.pk)] = provider
        names.add_row(Provider, None, provider)
    for model, code in [(Service, "slug"), (Region, "code")]:
        for row in model.objects.order_by():
            provider = providers[row.provider_id]
            row = references.get((model, provider.slug, getattr(row, code)), row)
            row.provider = provider
            rows[(model, row.pk)] = row
            names.add_row(model, provider.slug, row)
            names.children[provider.slug].append(row)
    for customer in Customer.objects.order_by():
        customer = references.get((Customer, customer.slug), customer)
        rows[(Customer, customer.pk)] = customer
        names.add_row(Customer, None, customer)
    owners = [(kind, model, f"{kind}_id") for kind, model in Alias.KINDS.items()]
    for alias in Alias.objects.order_by():
        for _, model, attname in owners:
            pk = getattr(alias, attname)
            if pk is not None:
                row = rows[(model, pk)]
                scope = row.provider.slug if model in (Service, Region) else None
                names.add(model, scope, alias.name, row, "alias")
    for (model, *key), row in references.items():  # made earlier in the run, not yet written
        if row.pk is None and model in (Provider, Service, Region, Customer):
            names.add_row(model, key[0] if model in (Service, Region) else None, row)
    return names


# --- Writing --------------------------------------------------------------------------------


class Renderer:
    """The HTML of new incidents' Markdown, as models.render_markdown_fields derives it on
    save. On a large import rendering is a sixth of the work and needs nothing from the
    database, so it is done in a second Python process (only outages.rendering, no Django)
    while this one plans and writes; small imports, or a child that cannot start or fails,
    render here instead. Texts go out in batches, one JSON line each, through two threads,
    so that neither side ever waits on a full pipe."""

    def __init__(self, new_incidents):
        self.queue = []  # (object, HTML attribute, Markdown) not sent yet
        self.jobs = deque()  # (number, sent to the child, queued entries)
        self.sent = 0
        self.child = None
        if new_incidents >= RENDER_ELSEWHERE_FROM:
            self.start()

    def start(self):
        try:
            self.child = subprocess.Popen(
                [sys.executable, "-c", RENDERER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=PROJECT_DIR,
                text=True,
                encoding="ascii",  # json.dumps escapes everything else
            )
        except OSError:
            return
        self.outbox, self.results = queue.SimpleQueue(), queue.SimpleQueue()
        threading.Thread(target=self.write_lines, args=[self.child.stdin], daemon=True).start()
        threading.Thread(target=self.read_lines, args=[self.child.stdout], daemon=True).start()

    def write_lines(self, pipe):
        try:
            with pipe:
                for line in iter(self.outbox.get, None):
                    pipe.write(line)
                    pipe.flush()
        except (OSError, ValueError):
            pass  # the child has gone; read_lines says so

    def read_lines(self, pipe):
        try:
            with pipe:
                for line in pipe:
                    self.results.put(json.loads(line))
        except (OSError, ValueError):
            pass
        self.results.put(None)

    def add(self, change):
        incident = change.incident
        for model, rows in [
            (Incident, [incident]),
            (TimelineEvent, change.rows[TimelineEvent][0]),
            (CustomerImpact, [impact for impact, _, _ in change.impacts]),
        ]:
            for row in rows:
                for name in model.markdown_fields:
                    self.queue.append((row, f"{name}_html", getattr(row, name)))
        if len(self.queue) >= RENDER_BATCH:
            self.send()

    def send(self):
        """Send what is queued; returns a mark for finish()."""
        if self.queue:
            batch, self.queue = self.queue, []
            self.sent += 1
            if self.child is not None:
                self.outbox.put(json.dumps([text for _, _, text in batch]) + "\n")
            self.jobs.append((self.sent, self.child is not None, batch))
        return self.sent

    def finish(self, mark):
        """Set the HTML of everything queued before send() returned `mark`."""
        while self.jobs and self.jobs[0][0] <= mark:
            _, elsewhere, batch = self.jobs.popleft()
            html = self.result() if elsewhere else None
            if html is None or len(html) != len(batch):
                html = [render_markdown(text) for _, _, text in batch]
            for (row, attribute, _), value in zip(batch, html, strict=True):
                setattr(row, attribute, value)

    def result(self):
        if self.child is None:
            return None  # failed before: the rest is rendered here
        try:
            html = self.results.get(timeout=RENDER_TIMEOUT_SECONDS)
        except queue.Empty:
            html = None
        if html is None:
            self.close()
        return html

    def close(self):
        if self.child is None:
            return
        child, self.child = self.child, None
        self.outbox.put(None)
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def insert_new(changes):
    """INSERT new incidents with their links and rows, their HTML already derived (Renderer):
    one statement per table (a few for many rows), where saving them one by one took about
    forty per incident."""
    now = timezone.now()
    incidents = [change.incident for change in changes]
    for incident in incidents:
        incident.updated_at = now
    insert(Incident, incidents, render=False)
    for name in RELATED:
        link(Incident, name, [(change.incident, change.related[name]) for change in changes])
    for model in NUMBERED:
        rows = [row for change in changes for row in change.rows[model][0]]
        insert(model, rows, render=False)
    impacts = [(impact, services) for change in changes for impact, _, services in change.impacts]
    insert(CustomerImpact, [impact for impact, _ in impacts], render=False)
    link(CustomerImpact, "services", impacts)


def insert(model, rows, render=True):
    if not connections[router.db_for_write(model)].features.can_return_rows_from_bulk_insert:
        for row in rows:  # no ids back from a bulk INSERT (SQLite before 3.35)
            row.save(force_insert=True)
        return
    if render:  # bulk_create sends no pre_save signal: derive the HTML as saving would
        for row in rows:
            render_markdown_fields(model, row)
    model.objects.bulk_create(rows)


def link(model, name, pairs):
    """Add many-to-many links for new rows: [(row, [linked rows])], duplicates dropped."""
    m2m = model._meta.get_field(name)
    through = m2m.remote_field.through
    source, target = f"{m2m.m2m_field_name()}_id", f"{m2m.m2m_reverse_field_name()}_id"
    through.objects.bulk_create(
        [
            through(**{source: owner.pk, target: pk})
            for owner, others in pairs
            for pk in dict.fromkeys(other.pk for other in others)
        ]
    )


def forget_ids(change):
    """Undo what a rolled-back bulk INSERT left on a new incident's objects, to insert them
    again."""
    rows = [row for model in NUMBERED for row in change.rows[model][0]]
    rows += [impact for impact, _, _ in change.impacts]
    for obj in [change.incident, *rows]:
        obj.pk = None
        obj._state.adding, obj._state.db = True, None
    for row in rows:
        row.incident_id = None  # taken again from row.incident when it is inserted


def update_stored(change):
    """Write what changed in a stored incident, as saving it in the admin would."""
    incident = change.incident
    if change.save_incident:
        incident.version += 1
        incident.updated_at = timezone.now()
        incident.save()
    else:
        incident.touch()
    for name, wanted in change.related.items():
        getattr(incident, name).set(list(dict.fromkeys(obj.pk for obj in wanted)))
    for model, (new_rows, changed_rows, gone) in change.rows.items():
        if model is TimelineEvent:
            clear_moving_marks(changed_rows, gone)
        for row in changed_rows:
            row.save()
        insert(model, new_rows)
        model.objects.filter(pk__in=[row.pk for row in gone]).delete()
    for impact, fields_changed, services in change.impacts:
        if fields_changed:
            impact.save()
        if services is not None:
            impact.services.set(list(dict.fromkeys(service.pk for service in services)))
    CustomerImpact.objects.filter(pk__in=[impact.pk for impact in change.gone_impacts]).delete()


def clear_moving_marks(changed_rows, gone):
    """A mark may move from one stored event to another (or from a removed one to a new one):
    clear the stored marks of those events first, or the one-event-per-milestone constraint
    refuses the first row saved. One query, and only when a changed or removed event marks a
    milestone."""
    if any(row.marks for row in changed_rows) or any(row.marks for row in gone):
        rows = TimelineEvent.objects.filter(pk__in=[row.pk for row in [*changed_rows, *gone]])
        rows.exclude(marks="").update(marks="")


# --- Revisions ------------------------------------------------------------------------------


def record_revisions(changes, user):
    """A revision for each changed incident, "Imported from FILE", holding the incident and the
    rows reversion follows from it (see reversion.register in models.py): the Version rows
    `reversion.add_to_revision()` would write, made in one pass and written in bulk.

    New incidents are serialised from the objects just inserted; changed ones are read back.
    """
    if not changes:
        return
    db = router.db_for_write(Revision)
    now = timezone.now()
    fresh = reload([change.incident.pk for change in changes if change.action == "updated"])
    attach_rows([change for change in changes if change.action == "created"])
    revisions, entries = [], []
    for change in changes:
        comment = f"Imported from {change.document.base_name}"
        if change.merged:
            comment += " (merged)"
        revision = Revision(date_created=now, user=user, comment=comment)
        revisions.append(revision)
        incident = fresh.get(change.incident.pk, change.incident)
        entries += [(revision, obj) for obj in followed(incident)]
    if connections[db].features.can_return_rows_from_bulk_insert:
        Revision.objects.using(db).bulk_create(revisions)
    else:
        for revision in revisions:
            revision.save(using=db)
    Version.objects.using(db).bulk_create(versions(entries, db), batch_size=VERSION_BATCH)
    # Rows point at their incident and it at them: let them go without the cycle collector.
    for _, obj in entries:
        obj.__dict__.pop("_prefetched_objects_cache", None)


def record_reference_revisions(written, user):
    """A revision for each document that created or changed reference rows, "Imported from
    FILE", holding those rows as they now are."""
    db = router.db_for_write(Revision)
    now = timezone.now()
    entries = []
    for name, rows in written.items():
        if not rows:
            continue
        revision = Revision(date_created=now, user=user, comment=f"Imported from {base_name(name)}")
        revision.save(using=db)
        entries += [(revision, obj) for obj in rows.values()]
    Version.objects.using(db).bulk_create(versions(entries, db), batch_size=VERSION_BATCH)


def reload(pks):
    """{pk: incident} with everything reversion follows from it preloaded."""
    impacts = CustomerImpact.objects.select_related("customer").prefetch_related("services")
    found = {}
    for batch in batches(pks):
        for incident in Incident.objects.filter(pk__in=batch).prefetch_related(
            *RELATED,
            "events",
            Prefetch("impacts", queryset=impacts),
            "action_items",
            "corrections",
        ):
            found[incident.pk] = incident
    return found


def attach_rows(changes):
    """Give just-inserted incidents and impacts their links and rows as if prefetched, the
    links in the order a query would give them, so that serialising them reads no rows."""
    for batch in batches(changes):
        incidents = {change.incident.pk: change for change in batch}
        caches = {pk: {} for pk in incidents}
        for name in RELATED:
            model = Incident._meta.get_field(name).related_model
            rows = {obj.pk: obj for change in batch for obj in change.related[name]}
            order = ordered_links(Incident, name, list(incidents))
            for pk, cache in caches.items():
                cache[name] = prefetched(model, [rows[other] for other in order.get(pk, [])])
        impacts = {
            impact.pk: (impact, services)
            for change in batch
            for impact, _, services in change.impacts
        }
        for impact_batch in batches(impacts):
            order = ordered_links(CustomerImpact, "services", impact_batch)
            for pk in impact_batch:
                impact, services = impacts[pk]
                rows = {service.pk: service for service in services}
                impact._prefetched_objects_cache = {
                    "services": prefetched(Service, [rows[other] for other in order.get(pk, [])])
                }
        for pk, change in incidents.items():
            caches[pk].update(
                events=prefetched(TimelineEvent, change.rows[TimelineEvent][0]),
                impacts=prefetched(CustomerImpact, [impact for impact, _, _ in change.impacts]),
                action_items=prefetched(ActionItem, change.rows[ActionItem][0]),
                corrections=prefetched(Correction, change.rows[Correction][0]),
            )
            change.incident._prefetched_objects_cache = caches[pk]


def prefetched(model, rows):
    """A queryset already holding `rows`, as prefetch_related() leaves one in the cache."""
    queryset = QuerySet(model)
    queryset._result_cache, queryset._prefetch_done = rows, True
    return queryset


def ordered_links(model, name, pks):
    """{pk: [linked pks]} of a many-to-many field, each list in the linked model's default
    ordering, as prefetch_related() would give them (and so as reversion stores them)."""
    m2m = model._meta.get_field(name)
    query_name = m2m.related_query_name()
    rows = m2m.related_model._default_manager.filter(**{f"{query_name}__in": pks})
    order = defaultdict(list)
    for owner, other in rows.values_list(query_name, "pk"):
        order[owner].append(other)
    return order


def followed(obj):
    """The object and the rows reversion follows from it (recursively), each once."""
    found = {}

    def add(obj):
        key = (type(obj), obj.pk)
        if key in found:
            return
        found[key] = obj
        for name in _get_options(type(obj)).follow:
            related = getattr(obj, name)
            if isinstance(related, models.Model):
                add(related)
            elif related is not None:
                for row in related.all():
                    add(row)

    add(obj)
    return found.values()


def versions(entries, db):
    """Version rows for [(revision, obj)], each model's objects serialised in one pass."""
    by_model = defaultdict(list)
    for revision, obj in entries:
        by_model[type(obj)].append((revision, obj))
    result = []
    for model, group in by_model.items():
        options = _get_options(model)
        content_type = ContentType.objects.db_manager(db).get_for_model(
            model, for_concrete_model=options.for_concrete_model
        )
        data = serialised(options, [obj for _, obj in group])
        for (revision, obj), serialized_data in zip(group, data, strict=True):
            result.append(
                Version(
                    revision_id=revision.pk,
                    content_type_id=content_type.pk,
                    object_id=str(getattr(obj, options.object_id_field)),
                    db=router.db_for_write(model, instance=obj),
                    format=options.format,
                    serialized_data=serialized_data,
                    object_repr=str(obj),
                )
            )
    return result


def serialised(options, objs):
    """What serializers.serialize(format, [obj], …) gives for each object, as reversion calls
    it. For JSON, the dictionaries Django's serialiser would build, made directly (see
    plain_dump), then one json.dumps each: a fifth of the time."""
    kwargs = {
        "fields": options.fields,
        "use_natural_foreign_keys": options.use_natural_foreign_keys,
    }
    if options.format != "json":
        return [serializers.serialize(options.format, [obj], **kwargs) for obj in objs]
    dump = None if options.use_natural_foreign_keys else plain_dump(type(objs[0]), options.fields)
    result = []
    for obj in objs:
        data = dump(obj) if dump else None
        if data is None:
            data = serializers.serialize("python", [obj], **kwargs)[0]
        result.append("[" + json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False) + "]")
    return result


def plain_dump(model, names):
    """A function giving what Django's Python serialiser gives for one object of `model` (the
    same keys in the same order), or None for an object whose links are not preloaded."""
    opts = model._meta.concrete_model._meta
    columns = []
    for model_field in opts.local_fields:
        name = model_field.attname if model_field.remote_field is None else model_field.name
        if model_field.serialize and (names is None or name in names):
            plain_text = type(model_field).value_to_string is models.Field.value_to_string
            columns.append((model_field, model_field.attname, plain_text))
    links = [
        model_field.name
        for model_field in opts.local_many_to_many
        if model_field.serialize
        and (names is None or model_field.attname in names)
        and model_field.remote_field.through._meta.auto_created
    ]
    label, pk = str(opts), opts.pk

    def value(obj, model_field, attname, plain_text):
        # Django's rule: protected types (None, numbers, dates) as they are, else as text.
        value = getattr(obj, attname)
        if is_protected_type(value) or (plain_text and type(value) is str):
            return value
        return model_field.value_to_string(obj)

    def dump(obj):
        fields = {
            model_field.name: value(obj, model_field, *rest) for model_field, *rest in columns
        }
        cache = getattr(obj, "_prefetched_objects_cache", {})
        for name in links:
            if name not in cache:
                return None
            fields[name] = [other.pk for other in cache[name]]
        key = getattr(obj, pk.attname)
        return {"model": label, "pk": key, "fields": fields} if is_protected_type(key) else None

    if any(type(f).value_from_object is not models.Field.value_from_object for f, *_ in columns):
        return None
    if isinstance(pk, models.CompositePrimaryKey):
        return None
    return dump
