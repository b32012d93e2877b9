"""Revisions of incidents and reference rows (stored by django-reversion): what changed between
two of them, what changed since an editor opened a form, restoring one, and the public change
log."""

import difflib
import re
from dataclasses import dataclass, field

import reversion
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from reversion.models import Version
from reversion.revisions import _get_options

from outages import page_cache, search
from outages.models import Incident

# Derived or bookkeeping fields: a diff of these would only repeat the Markdown or the workflow.
NOT_COMPARED = {"version", "updated_at", "published_at", "published_by", "id", "incident"}


# "Imported from" and a path: revisions written before imports named the file by its base name.
IMPORTED_FROM = re.compile(r"^(Imported from )(.*[/\\])([^/\\]+)$")


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
    """Admin change messages are stored as JSON; show them as the admin's history does. An
    import names its file, never the folder it was read from."""
    text = LogEntry(change_message=comment).get_change_message()
    return IMPORTED_FROM.sub(r"\1\3", text) or "Edited."


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


def child_models(model):
    """The rows stored with each revision of `model` (an incident's timeline and the like);
    none for reference rows."""
    return [model._meta.get_field(name).related_model for name in _get_options(model).follow]


def _children(revision, model, owner_id):
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
    before = _children(older.revision, model, owner_id)
    after = _children(newer.revision, model, owner_id)
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


def restore(obj, version, user):
    """Bring back an incident or a reference row as stored in `version`, as a new revision."""
    if isinstance(obj, Incident):
        return restore_incident(obj, version, user)
    return restore_reference(obj, version, user)


def restored_comment(version):
    """How history and the admin's message name a restore."""
    return f"Restored the revision of {version.revision.date_created:%d %b %Y %H:%M} UTC."


def restore_reference(obj, version, user):
    """Bring back one reference row and its aliases as stored in `version`, and nothing else:
    the revision may hold other rows (an import's holds every row it wrote), so only the row's
    own version and its followed rows' are reverted. Aliases added since are removed. Every
    incident that shows the row is found by search under the restored names, and any cached
    page may show them."""
    model = type(obj)
    with transaction.atomic(), reversion.create_revision():
        model.objects.select_for_update().get(pk=obj.pk)
        revert_checked(version)
        stored = _children(version.revision, model, obj.pk)
        # Remove the current ones first: a stored alias may bear a name one of them has now.
        for name in _get_options(model).follow:
            getattr(obj, name).all().delete()
        for _data, child_version in stored.values():
            revert_checked(child_version)
        restored = model.objects.get(pk=obj.pk)
        reversion.add_to_revision(restored)
        reversion.set_user(user)
        reversion.set_comment(restored_comment(version))
    page_cache.invalidate_all()
    search.update_index_showing([restored])
    return restored


def revert_checked(version):
    """Write a stored row back after the checks any other save runs: since it was stored,
    another row may have taken its slug or name (ValidationError, and nothing is written)."""
    model = version.content_type.model_class()
    # Reference rows and aliases have no many-to-many fields: field_dict is the whole row.
    row = model(**version.field_dict)  # the row as stored, not yet saved
    row._state.adding = not type(row)._base_manager.filter(pk=row.pk).exists()
    row.full_clean()
    version.revert()


def restore_incident(incident, version, user):
    """Bring back the incident and its rows as stored in `version`, as a new revision.

    The workflow state and the lock number stay current: restoring old text must neither
    publish nor unpublish, and must still invalidate forms opened before it.
    """
    with (
        page_cache.changing([incident.pk]),
        transaction.atomic(),
        reversion.create_revision(),
    ):
        current = Incident.objects.select_for_update().get(pk=incident.pk)
        version.revision.revert(delete=True)
        restored = Incident.objects.get(pk=incident.pk)
        for name in ["status", "published_at", "published_by", "withdrawn_reason"]:
            setattr(restored, name, getattr(current, name))
        restored.version = current.version + 1
        restored.updated_at = timezone.now()
        restored.save()
        reversion.add_to_revision(restored)
        reversion.set_user(user)
        reversion.set_comment(restored_comment(version))
    search.update_index([incident.pk])
    return restored


def public_changes(incident):
    """The change log readers see: the revisions saved while the incident was public.

    The oldest revision is where the record began (created or loaded), not a change to it.
    """
    if incident.published_at is None:
        return []
    public = {Incident.Status.PUBLISHED, Incident.Status.WITHDRAWN}
    # The admin records a revision for every save, one with nothing changed too (its change
    # message an empty list): no change to show readers.
    nothing_changed = comment_text("[]")
    return [
        (version.revision.date_created, comment_text(version.revision.comment), version.revision)
        for version in list(versions(incident))[:-1]
        if version.field_dict.get("status") in public
        and comment_text(version.revision.comment) != nothing_changed
    ]
