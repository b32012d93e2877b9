"""Typed relations in incident documents: written by the export, read by the import.

An incident's `relations` are the relations stored on it (IncidentRelation.incident), each naming
the other incident by slug, which may be another incident of the same run. They are applied once
every incident of the run is written, so that both ends and both ends' sources exist: the
document is the incident's whole list (none given: none kept), as for its other rows; each
relation is checked by the model's own full_clean(), so a relation refused in the admin is
refused here too, at its row. An incident merged into a stored one (`same_as`) leaves the stored
incident's relations as they are.

An incident whose relations change gets a revision of its own, "Relations imported from FILE",
holding it with its relations as they now are.
"""

from django.core.exceptions import ValidationError

from outages import workflow
from outages.duplicates import batches
from outages.interchange import bulk, bulk_revisions
from outages.interchange.documents import path_text
from outages.models import Incident, IncidentRelation, Source


def relation_data(relation):
    """A relation as its incident's document writes it (the export)."""
    return {
        "kind": relation.kind,
        "other": relation.other.slug,
        "note": relation.note,
        "source": relation.source.url,
    }


def wanted_relations(items):
    """[(document, index, data, [(path, entry)])] of the run's incidents that are not merges."""
    return [
        (document, index, data, [(["incidents", index, "relations", n], entry) for n, entry in
                                 enumerate(data.get("relations", []))])
        for document, index, data in items
        if "same_as" not in data
    ]  # fmt: skip


def check_ends(wanted, stored_slugs):
    """Problems with the other ends, found before anything is written: an unknown slug, the
    incident itself, the same relation twice in the run."""
    in_run = {data["slug"] for _, _, data, _ in wanted}
    problems, seen = [], {}
    for document, _, data, entries in wanted:
        for path, entry in entries:
            other = entry["other"]
            if other == data["slug"]:
                problems.append(
                    document.problem(path + ["other"], "an incident cannot be related to itself")
                )
            elif other not in in_run and other not in stored_slugs:
                problems.append(
                    document.problem(
                        path + ["other"],
                        f"no incident has the slug “{other}”, in this run or stored; import "
                        "that incident first, or with this one",
                    )
                )
            key = (entry["kind"], frozenset([data["slug"], other]))
            if key in seen:
                problems.append(
                    document.problem(
                        path, f"the same relation as {seen[key]} (stored on one end or the other)"
                    )
                )
            seen.setdefault(key, f"{document.name} {path_text(path)}")
    return problems


def stored_slugs_of(wanted):
    """The slugs of stored incidents the run's relations name as their other end."""
    others = {entry["other"] for _, _, _, entries in wanted for _, entry in entries}
    return set(Incident.objects.filter(slug__in=others).values_list("slug", flat=True))


def import_relations(importer, items):
    """Check the relations of the run's incidents (`items`: (document, index, data)); once
    every incident is written and nothing was refused, write them, with a revision for each
    incident whose relations changed. Returns the problems found."""
    wanted = wanted_relations(items)
    problems = check_ends(wanted, stored_slugs_of(wanted))
    if problems or importer.problems or importer.refused_changes:
        return problems
    # Only incidents that give relations or have some stored: most runs have none at all.
    holding = holding_relations(
        [data["slug"] for _, _, data, _ in wanted if not data.get("relations")]
    )
    wanted = [item for item in wanted if item[2].get("relations") or item[2]["slug"] in holding]
    if not wanted:
        return problems
    slugs = {data["slug"] for _, _, data, _ in wanted}
    slugs |= {entry["other"] for _, _, _, entries in wanted for _, entry in entries}
    incidents = {}
    for batch in batches(sorted(slugs)):
        found = Incident.objects.filter(slug__in=batch).only("slug", "title", "status")
        incidents.update({row.slug: row for row in found})
    urls = {entry["source"] for _, _, _, entries in wanted for _, entry in entries}
    sources = {source.url: source for source in Source.objects.filter(url__in=urls)}
    current = stored_relations([incidents[data["slug"]].pk for _, _, data, _ in wanted])
    changing = []
    for document, index, data, entries in wanted:
        incident = incidents[data["slug"]]
        rows = [
            (path, relation_row(incident, incidents[entry["other"]], entry, sources))
            for path, entry in entries
        ]
        before = {key(row) for row in current.get(incident.pk, [])}
        if before == {key(row) for _, row in rows}:
            continue
        if not (importer.publisher or workflow.can_edit(importer.user, incident)):
            problems.append(
                document.problem(
                    ["incidents", index, "relations"],
                    f"only publishers may change the relations of {incident.get_status_display()}"
                    f" incident “{incident.slug}”",
                )
            )
            continue
        changing.append((document, incident, rows))
    if problems:
        return problems
    IncidentRelation.objects.filter(incident__in=[i for _, i, _ in changing]).delete()
    for document, _, rows in changing:
        for path, row in rows:
            problems += saved(document, path, row)
    if problems or not changing:
        return problems
    importer.wrote = True
    record(changing, importer.user)
    return problems


def relation_row(incident, other, entry, sources):
    return IncidentRelation(
        incident=incident,
        other=other,
        kind=entry["kind"],
        note=entry["note"],
        source=sources.get(entry["source"]),
    )


def key(row):
    return (row.kind, row.other_id, row.note, row.source_id)


def holding_relations(slugs):
    """Which of these incidents have relations stored on them, a thousand per query."""
    found = set()
    for batch in batches(slugs):
        stored = IncidentRelation.objects.filter(incident__slug__in=batch)
        found.update(stored.values_list("incident__slug", flat=True))
    return found


def stored_relations(pks):
    """{incident id: its stored relations}, a thousand incidents per query."""
    found = {}
    for batch in batches(pks):
        for row in IncidentRelation.objects.filter(incident__in=batch):
            found.setdefault(row.incident_id, []).append(row)
    return found


def saved(document, path, row):
    """Save one relation after the model's own checks; the problems found, at its row."""
    if row.source_id is None:
        return [
            document.problem(
                path + ["source"],
                "no source has this URL; list it under the sources of this incident or of the "
                "other one",
            )
        ]
    try:
        row.full_clean()
    except ValidationError as error:
        return [
            document.problem(path + ([field] if field != "__all__" else []), message.rstrip("."))
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    row.save()
    return []


def record(changing, user):
    """A revision for each incident whose relations changed, holding it as it now is."""
    reloaded = bulk.reload([incident.pk for _, incident, _ in changing])
    groups = [
        (f"Relations imported from {document.base_name}", [reloaded[incident.pk]])
        for document, incident, _ in changing
    ]
    bulk_revisions.write(groups, user)
