"""Restoring a stored revision of an incident or a reference row, as a new revision."""

import reversion
from django.db import transaction
from django.utils import timezone

from outages import page_cache, revisions, search, summaries
from outages.models import Incident, IncidentArticle


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
        stored = revisions.stored_children(version.revision, model, obj.pk)
        # Remove the current ones first: a stored alias may bear a name one of them has now.
        for name in revisions.child_relations(model):
            getattr(obj, name).all().delete()
        for _data, child_version in stored.values():
            revert_checked(child_version)
        restored = model.objects.get(pk=obj.pk)
        reversion.add_to_revision(restored)
        reversion.set_user(user)
        reversion.set_comment(restored_comment(version))
    IncidentArticle.objects.forget_showing([restored])
    page_cache.invalidate_all()
    search.update_index_showing([restored])
    return restored


def revert_checked(version):
    """Write a stored row back after the checks any other save runs: since it was stored,
    another row may have taken its slug or name (ValidationError, and nothing is written)."""
    model = version.content_type.model_class()
    # Reference rows and aliases have no many-to-many fields: field_dict is the whole row.
    stored = version.field_dict
    # The row as it is now, if it still exists, so that the checks know it is not a new one.
    row = model._base_manager.filter(pk=version.object_id).first() or model()
    for name, value in stored.items():
        setattr(row, name, value)  # as stored in the revision, not yet saved
    row.full_clean()
    version.revert()


def restore_incident(incident, version, user):
    """Bring back the incident and its rows as stored in `version`, as a new revision.

    The workflow state and the lock number stay current: restoring old text must neither
    publish nor unpublish, and must still invalidate forms opened before it.
    """
    with (
        page_cache.changing([incident.pk]),
        summaries.changing([incident.pk]),
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
