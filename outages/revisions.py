"""Revisions of incidents and reference rows (stored by django-reversion): recording one, what
changed between two of them, what changed since an editor opened a form, and the public change
log. Restoring one is restoring.py's."""

import difflib
import re
from dataclasses import dataclass, field

import reversion
from django.contrib.contenttypes.models import ContentType
from django.db.models import CASCADE
from django.utils.translation import gettext
from reversion.models import Version

from outages.models import REVISION_OPTIONS, Incident, revision_options

# Derived or bookkeeping fields: a diff of these would only repeat the Markdown or the workflow.
NOT_COMPARED = {"version", "updated_at", "published_at", "published_by", "id", "incident"}


# "Imported from" and a path: a comment may name the folder a file was read from, which is the
# server's business.
IMPORTED_FROM = re.compile(r"^(Imported from )(.*[/\\])([^/\\]+)$")


def record(objects, comment, user=None):
    """One revision holding `objects` and the rows reversion follows from them. Call it inside
    the write's transaction: the revision is rolled back with it."""
    with reversion.create_revision(manage_manually=True, atomic=False):
        reversion.set_user(user)
        reversion.set_comment(comment)
        for obj in objects:
            reversion.add_to_revision(obj)


def versions(obj):
    """The revisions of an incident or a reference row, newest first, with who made them."""
    return Version.objects.get_for_object(obj).select_related("revision__user")


def described(versions):
    """The versions, each with `comment`: what its revision says changed, in words."""
    versions = list(versions)
    for version in versions:
        version.comment = comment_text(version.revision.comment)
    return versions


def comment_text(comment):
    """A revision's comment as history shows it. The admin's are in words already (reversion's
    VersionAdmin stores its change message as the admin's history shows it). An import names
    its file, never the folder it was read from."""
    return IMPORTED_FROM.sub(r"\1\3", comment) or "Edited."


@dataclass
class FieldChange:
    label: str
    before: str
    after: str
    lines: list = field(default_factory=list)  # [(kind, text)] for long text, kind in " -+"


@dataclass
class RowChange:
    kind: str  # "added", "removed", "changed"
    model: str
    label: str
    fields: list


def _display(model, name, value):
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "—"
    try:
        model_field = model._meta.get_field(name)
    except Exception:
        return str(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.many_to_one or model_field.one_to_one:  # stored as the key: name the row
        row = model_field.related_model._base_manager.filter(pk=value).first()
        return str(row) if row is not None else f"#{value} (deleted)"
    return str(value)


def compare_fields(model, before, after):
    changes = []
    for model_field in model._meta.concrete_fields + model._meta.many_to_many:
        name = model_field.name
        if name in NOT_COMPARED or name.endswith("_html") or not model_field.editable:
            continue
        # Versions hold foreign keys by their column (provider_id), links by their name.
        old, new = before.get(model_field.attname), after.get(model_field.attname)
        if old == new:
            continue
        old_text, new_text = _display(model, name, old), _display(model, name, new)
        change = FieldChange(str(model_field.verbose_name).capitalize(), old_text, new_text)
        if "\n" in old_text or "\n" in new_text:  # Markdown: show changed lines
            change.lines = [
                (line[0], line[2:])
                for line in difflib.ndiff(old_text.splitlines(), new_text.splitlines())
                if not line.startswith("?")
            ]
        changes.append(change)
    return changes


def child_relations(model):
    """The names of the rows stored with each revision of `model`: those with revisions of their
    own that are deleted with it (an incident's timeline and the like, a reference row's
    aliases). The models register them with reversion as the rows to follow; an incident's
    relations are its own where stored on it (`relations`), not at their other end."""
    followed = revision_options(model).follow if model in REVISION_OPTIONS else None
    return [
        relation.get_accessor_name()
        for relation in model._meta.related_objects
        if relation.one_to_many
        and relation.on_delete is CASCADE
        and reversion.is_registered(relation.related_model)
        and (followed is None or relation.get_accessor_name() in followed)
    ]


def child_models(model):
    """The models of child_relations(model)."""
    return [model._meta.get_field(name).related_model for name in child_relations(model)]


def stored_children(revision, model, owner_id):
    """{(model, pk): field_dict} of the owner's child rows stored in a revision."""
    rows = {}
    children = child_models(model)
    if not children:
        return rows
    types = ContentType.objects.get_for_models(*children)
    by_type = {content_type.pk: child for child, content_type in types.items()}
    key = model._meta.model_name
    for version in revision.version_set.filter(content_type__in=types.values()):
        data = version.field_dict
        if data.get(key) == owner_id or data.get(f"{key}_id") == owner_id:
            rows[(by_type[version.content_type_id], version.object_id)] = (data, version)
    return rows


def compare(older, newer):
    """Field changes of the row and row changes of its children (for an incident: timeline,
    impacts, action items, corrections) between two of its versions."""
    model = newer.content_type.model_class()
    own_changes = compare_fields(model, older.field_dict, newer.field_dict)
    owner_id = int(newer.object_id)
    before = stored_children(older.revision, model, owner_id)
    after = stored_children(newer.revision, model, owner_id)
    rows = []
    for key in sorted(set(before) | set(after), key=lambda k: (k[0]._meta.verbose_name, k[1])):
        model = key[0]
        name = str(model._meta.verbose_name)
        if key not in before:
            data, version = after[key]
            rows.append(RowChange("added", name, version.object_repr, []))
        elif key not in after:
            data, version = before[key]
            rows.append(RowChange("removed", name, version.object_repr, []))
        else:
            fields = compare_fields(model, before[key][0], after[key][0])
            if fields:
                rows.append(RowChange("changed", name, after[key][1].object_repr, fields))
    return own_changes, rows


def version_loaded(incident, loaded_version):
    """The stored revision an editor's form was opened from, by the incident's lock number."""
    for version in versions(incident):
        if version.field_dict.get("version") == loaded_version:
            return version
    return None


def changes_since(incident, loaded_version):
    """Revisions saved after the one an editor loaded: [(when, who, what)], oldest first."""
    loaded = version_loaded(incident, loaded_version)
    later = versions(incident)
    if loaded is not None:
        later = later.filter(revision__date_created__gt=loaded.revision.date_created)
    return [
        (
            version.revision.date_created,
            version.revision.user,
            comment_text(version.revision.comment),
        )
        for version in reversed(list(later))
    ]


def public_changes(incident):
    """The change log readers see: the revisions saved while the incident was public.

    The oldest revision is where the record began (created or loaded), not a change to it.
    """
    if incident.published_at is None:
        return []
    public = {Incident.Status.PUBLISHED, Incident.Status.WITHDRAWN}
    # The admin records a revision for every save, one with nothing changed too: no change to
    # show readers. Its comment is the admin's own words for it (LogEntry.get_change_message).
    nothing_changed = gettext("No fields changed.")
    return [
        (version.revision.date_created, comment_text(version.revision.comment), version.revision)
        for version in list(versions(incident))[:-1]
        if version.field_dict.get("status") in public
        and comment_text(version.revision.comment) != nothing_changed
    ]
