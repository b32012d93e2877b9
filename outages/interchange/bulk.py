"""The importer's writes, many incidents at a time: new incidents with one COPY (INSERT on
SQLite) per table, changed ones as saving them in the admin would, and a revision for each.

Nothing here decides anything: importing.py plans each incident (a Change) and calls these.
"""

import contextlib

from django.db import connections, router
from django.db.models import Prefetch
from django.utils import timezone
from reversion.models import Revision, Version

from outages import kept_counts
from outages.interchange import bulk_revisions, copying, indexing
from outages.interchange.documents import base_name
from outages.interchange.stored import NUMBERED, RELATED, batches
from outages.models import (
    ActionItem,
    ActionItemState,
    Correction,
    Customer,
    CustomerImpact,
    Incident,
    IncidentVersion,
    Region,
    SearchDocument,
    Service,
    Source,
    TimelineEvent,
    render_markdown_fields,
)

# The tables a first import fills by the ten thousand (first_load), their many-to-many tables
# too.
FILLED = [Incident, *NUMBERED, CustomerImpact, SearchDocument, IncidentVersion, Revision, Version]


def nothing_stored():
    """Whether the database holds no incident yet: an import into it is a first load."""
    return not Incident.objects.exists()


def first_load():
    """Within the import's transaction, when the database holds no incident yet (the caller
    has asked): FILLED's foreign keys checked once and their indexes built once, at the end,
    as sample data is written (copying.py): checking each row's keys at COMMIT took several
    seconds per 10,000 incidents."""
    stack = contextlib.ExitStack()
    stack.enter_context(copying.foreign_keys_checked_at_end(FILLED + list(kept_counts.DEFINITIONS)))
    stack.enter_context(copying.indexes_built_at_end(FILLED))
    return stack


def insert_new(changes, send=None):
    """INSERT new incidents with their links and rows, their HTML already derived
    (markdown_process.Renderer): one statement per table (a few for many rows), instead of a
    few dozen per incident when each is saved. `send` (copying.insert): each table's COPY is
    given to it, once the rows have their ids."""
    now = timezone.now()
    incidents = [change.incident for change in changes]
    for incident in incidents:
        incident.updated_at = now
    insert(Incident, incidents, render=False, send=send)
    for name in RELATED:
        pairs = [(change.incident, change.related[name]) for change in changes]
        link(Incident, name, pairs, send)
    for model in NUMBERED:
        rows = [row for change in changes for row in change.rows[model][0]]
        insert(model, rows, render=False, send=send)
    impacts = [(impact, services) for change in changes for impact, _, services in change.impacts]
    insert(CustomerImpact, [impact for impact, _ in impacts], render=False, send=send)
    link(CustomerImpact, "services", impacts, send)


def insert(model, rows, render=True, send=None):
    if not connections[router.db_for_write(model)].features.can_return_rows_from_bulk_insert:
        for row in rows:  # no ids back from a bulk INSERT (SQLite before 3.35)
            row.save(force_insert=True)
        return
    if render:  # a bulk write sends no pre_save signal: derive the HTML as saving would
        for row in rows:
            render_markdown_fields(model, row)
    copying.insert(model, rows, send)


def link(model, name, pairs, send=None):
    """Add many-to-many links for new rows: [(row, [linked rows])], duplicates dropped."""
    pairs = [(owner.pk, other.pk) for owner, others in pairs for other in others]
    copying.link(model, name, pairs, send)


def written(change):
    """A new incident as inserted (insert_new), for its search document."""
    return indexing.Written(
        change.incident,
        **{name: change.related[name] for name in RELATED},
        impacts=[impact for impact, _, _ in change.impacts],
        events=change.rows[TimelineEvent][0],
        action_items=change.rows[ActionItem][0],
        corrections=change.rows[Correction][0],
    )


def forget_ids(change):
    """Undo what a rolled-back bulk INSERT left on a new incident's objects, to insert them
    again."""
    rows = [row for model in NUMBERED for row in change.rows[model][0]]
    rows += [impact for impact, _, _ in change.impacts]
    for obj in [change.incident, *rows]:
        obj.pk = None  # so that the next INSERT writes it again
    for row in rows:
        # A link to a row written again (the incident, an action item) is taken again from
        # that row when it is inserted. Emptying the id forgets the row given: keep it.
        for field in row._meta.concrete_fields:
            if field.is_relation and field.is_cached(row):
                related = field.get_cached_value(row)
                if related is not None and related.pk is None:
                    setattr(row, field.attname, None)
                    field.set_cached_value(row, related)


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


def record_revisions(changes, user, new=False, order=None, send=None):
    """A revision for each changed incident, "Imported from FILE", holding the incident and the
    rows reversion follows from it, written in bulk (bulk_revisions.py). Changed incidents are
    read back with those rows preloaded, a thousand at a time, so that following them reads
    nothing more; `new` ones (insert_new) are as inserted, their rows in memory
    (rows_inserted, in `order`, reference_order(changes)). `send`: as bulk_revisions.write
    takes it, whose result this returns."""
    related = {}
    if new:
        incidents = {change.incident.pk: change.incident for change in changes}
        related = rows_inserted(changes, order or reference_order(changes))
    else:
        incidents = reload([change.incident.pk for change in changes])
    groups = []
    for change in changes:
        comment = f"Imported from {change.document.base_name}"
        if change.merged:
            comment += " (merged)"
        groups.append((comment, [incidents[change.incident.pk]]))
    return bulk_revisions.write(groups, user, related, send)


def record_reference_revisions(written, user):
    """A revision for each document that created or changed reference rows, "Imported from
    FILE", holding those rows as they now are, written in bulk with their aliases read in one
    query per model."""
    groups = [
        (f"Imported from {base_name(name)}", list(rows.values()))
        for name, rows in written.items()
        if rows
    ]
    bulk_revisions.preload([row for _, rows in groups for row in rows])
    bulk_revisions.write(groups, user)


def reference_order(changes):
    """The reference rows new incidents name (insert_new), in their models' order as the
    database sorts them (indexing.Order): one query per model, for their revisions and their
    search documents."""
    impacts = [entry for change in changes for entry in change.impacts]
    return indexing.reference_order(
        {
            Service: [row for change in changes for row in change.related["services"]]
            + [service for _, _, services in impacts for service in services],
            Region: [row for change in changes for row in change.related["regions"]],
            Source: [row for change in changes for row in change.related["sources"]],
            Customer: [impact.customer for impact, _, _ in impacts],
        }
    )


def rows_inserted(changes, order):
    """What reload() would read back of new incidents just inserted, from the rows inserted
    with them ({id(row): {relation: rows}}, as bulk_revisions.write takes them): each relation
    in its model's order as the database sorts it (`order`, reference_order()), each linked row
    once. What was inserted is what is stored (copying.insert writes each field's value, after
    pre_save, as it is)."""
    related = {}
    for change in changes:
        impacts = [impact for impact, _, _ in change.impacts]
        for impact, _, services in change.impacts:
            related[id(impact)] = {"services": order.ordered(services)}
        events = change.rows[TimelineEvent][0]
        related[id(change.incident)] = {
            **{name: order.ordered(change.related[name]) for name in RELATED},
            "events": sorted(events, key=lambda event: (event.occurred_at, event.position)),
            "impacts": order.ordered(impacts, key=lambda impact: impact.customer),
            "action_items": sorted(change.rows[ActionItem][0], key=lambda row: row.position),
            "corrections": sorted(change.rows[Correction][0], key=lambda row: row.position),
            "figures": [],  # documents give none
            "action_states": sorted(change.rows[ActionItemState][0], key=lambda row: row.position),
            "promise_links": [],  # written once the run's incidents are (ledger_rows.py)
            "relations": [],  # written once every incident is (interchange/relations.py)
        }
    return related


def reload(pks):
    """{pk: incident} with everything reversion follows and stores from it preloaded."""
    impacts = CustomerImpact.objects.select_related("customer").prefetch_related("services")
    found = {}
    for batch in batches(pks):
        for incident in Incident.objects.filter(pk__in=batch).prefetch_related(
            *RELATED,
            "events",
            Prefetch("impacts", queryset=impacts),
            "action_items",
            "corrections",
            "figures",
            "action_states",
            "promise_links",
            "relations",
        ):
            found[incident.pk] = incident
    return found
