"""Freezing published versions of incidents: each revision committed while an incident is
published, if it changed what readers see, becomes its next version (IncidentVersion), holding
the article as rendered then.

Every write path records a revision through reversion (the admin, the workflow, import and its
bulk path, fixtures, restore, sync), and reversion announces each one with post_revision_commit,
inside the write's transaction: connected to it (apps.py), this is the one place versions are
made. A draft's revisions make none; a withdrawal makes none (the versions stay, shown with its
notice). The bulk importer holds its revisions back (versions_in_bulk) and makes their versions
at once, unfrozen, and the migration that brought versions made version 1 of every incident
published before them the same way: the article of such a version is frozen the first time it
is shown, from its revision, as restoring it would bring it back (freeze_from_revision)."""

from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, transaction
from django.template import Context
from django.template.loader import get_template
from django.template.loader_tags import BlockNode
from reversion.errors import RevertError
from reversion.models import Revision, Version

from outages import revisions
from outages.models import HELD, Incident, IncidentVersion
from outages.web.views import for_page, incident_context

PAGE = "outages/incident_detail.html"


def on_revision_commit(sender, revision, versions, **kwargs):
    """post_revision_commit: freeze each published incident the revision holds."""
    content_type = ContentType.objects.get_for_model(Incident)
    pks = {int(v.object_id) for v in versions if v.content_type_id == content_type.pk}
    if not pks:
        return
    held = HELD.get()
    if held is not None:
        held.extend((pk, revision) for pk in pks)
        return
    for incident in for_page(Incident.objects.published()).filter(pk__in=pks):
        latest = latest_versions([incident.pk]).get(incident.pk)
        version = next_version(incident, latest, revision)
        if version is not None:
            version.article_html = article_html(incident)
            version.save()


def on_revisions_held(sender, held, **kwargs):
    """revisions_held: the versions of the revisions a bulk write held back, unfrozen, made in
    a few queries (plus what comparing costs, for incidents that had versions)."""
    revision_of = dict(held)  # an incident's last revision in the write
    incidents = Incident.objects.published().filter(pk__in=revision_of).select_related("provider")
    latest = latest_versions(revision_of)
    made = []
    for incident in incidents:
        version = next_version(incident, latest.get(incident.pk), revision_of[incident.pk])
        if version is not None:
            made.append(version)
    IncidentVersion.objects.bulk_create(made, batch_size=1000)


def latest_versions(pks):
    """{incident id: its newest version (number and revision only)} (one query)."""
    found = IncidentVersion.objects.filter(incident__in=list(pks)).only(
        "incident", "number", "revision"
    )
    latest = {}
    for version in found.order_by("incident", "number"):
        latest[version.incident_id] = version
    return latest


def next_version(incident, latest, revision):
    """The incident's next version from `revision`, unsaved and not frozen yet; None when
    nothing readers see changed since `latest` (the admin records a revision for a save that
    changed nothing)."""
    if latest is not None and not changed(incident, latest.revision_id, revision.pk):
        return None
    return IncidentVersion(
        incident=incident,
        number=latest.number + 1 if latest else 1,
        revision=revision,
        published_at=revision.date_created,
        title=incident.title,
        provider_name=incident.provider.name,
    )


def stored_incident(incident, revision_ids):
    """{revision id: the incident's Version in it} (one query)."""
    content_type = ContentType.objects.get_for_model(Incident)
    found = Version.objects.filter(
        revision_id__in=revision_ids, content_type=content_type, object_id=str(incident.pk)
    ).select_related("revision", "content_type")  # what revisions.compare reads of them
    return {version.revision_id: version for version in found}


def changed(incident, older_revision_id, newer_revision_id):
    """Whether the incident as stored in the newer revision differs from the older one in a
    field or a row readers see (revisions.compare); unknown (no older revision) counts."""
    stored = stored_incident(incident, [older_revision_id, newer_revision_id])
    if older_revision_id not in stored or newer_revision_id not in stored:
        return True
    own, rows = revisions.compare(stored[older_revision_id], stored[newer_revision_id])
    return bool(own or rows)


def article_html(incident):
    """The incident page's content (its article and contents column) as readers see it now,
    frozen (incident_context): the page's `content` block, rendered alone from the incident
    loaded by for_page(). The page's head and navigation belong to the site."""
    template = get_template(PAGE).template
    block = next(
        node for node in template.nodelist.get_nodes_by_type(BlockNode) if node.name == "content"
    )
    context = Context(incident_context(incident, frozen=True))
    # As Template.render() sets them up, for the includes within the block.
    with context.render_context.push_state(template), context.bind_template(template):
        return block.nodelist.render(context).strip()


class Discard(Exception):
    """Raised to roll back the rows a revision was brought back into."""


def freeze_from_revision(version):
    """Freeze a version made unfrozen: its article as its revision holds the incident, brought
    back for the render and rolled back after it (or the incident as it stands, when the
    revision is gone or can no longer be read). Names of providers, services and the like are
    those of now."""
    html = None
    revision = version.revision_id and Revision.objects.filter(pk=version.revision_id).first()
    try:
        with transaction.atomic():
            if revision:
                try:
                    with transaction.atomic():
                        revision.revert(delete=True)
                except (RevertError, DatabaseError):
                    # Stored by a model since changed past reading, or a row added since that
                    # another one now protects: shown as the incident stands, never an error.
                    pass
            html = article_html(for_page(Incident.objects).get(pk=version.incident_id))
            raise Discard
    except Discard:
        pass
    IncidentVersion.objects.filter(pk=version.pk).update(article_html=html)
    version.article_html = html
    return version
