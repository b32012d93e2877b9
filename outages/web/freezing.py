"""Freezing published versions of incidents: each revision committed while an incident is
published, if it changed what readers see, becomes its next version (IncidentVersion), holding
the article as rendered then. Every write path records a revision through reversion (the admin,
the workflow, import and its bulk path, fixtures, restore, sync), and reversion announces each
one with post_revision_commit, inside the write's transaction: connected to it (apps.py), this
is the one place versions are made. A draft's revisions make none; a withdrawal makes none (the
versions stay, shown with its notice)."""

from django.contrib.contenttypes.models import ContentType
from django.template import Context
from django.template.loader import get_template
from django.template.loader_tags import BlockNode
from reversion.models import Version

from outages import revisions
from outages.models import Incident, IncidentVersion
from outages.web.views import for_page, incident_context

PAGE = "outages/incident_detail.html"


def on_revision_commit(sender, revision, versions, **kwargs):
    """post_revision_commit: freeze each published incident the revision holds."""
    content_type = ContentType.objects.get_for_model(Incident)
    pks = {int(v.object_id) for v in versions if v.content_type_id == content_type.pk}
    if pks:
        for incident in for_page(Incident.objects.published()).filter(pk__in=pks):
            freeze(incident, revision)


def freeze(incident, revision):
    """The incident's next version, made from `revision`; None when nothing readers see changed
    since its latest version (the admin records a revision for a save that changed nothing)."""
    latest = IncidentVersion.objects.filter(incident=incident).order_by("-number").first()
    if latest is not None and not changed(incident, latest.revision_id, revision.pk):
        return None
    return IncidentVersion.objects.create(
        incident=incident,
        number=latest.number + 1 if latest else 1,
        revision=revision,
        published_at=revision.date_created,
        title=incident.title,
        provider_name=incident.provider.name,
        article_html=article_html(incident),
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
    """The incident page's content (its article and contents column) as readers see it now:
    the page's `content` block, rendered alone from the incident loaded by for_page(). The
    page's head and navigation belong to the site, not to the version."""
    template = get_template(PAGE).template
    block = next(
        node for node in template.nodelist.get_nodes_by_type(BlockNode) if node.name == "content"
    )
    context = Context(incident_context(incident))
    # As Template.render() sets them up, for the includes within the block.
    with context.render_context.push_state(template), context.bind_template(template):
        return block.nodelist.render(context).strip()


def freeze_pending(**kwargs):
    """post_migrate: freeze the articles of versions the migrations made (version 1 of each
    incident published before versions existed), from the incident as it stands."""
    pending = IncidentVersion.objects.filter(article_html="").values_list("pk", "incident_id")
    for pk, incident_id in pending:
        incident = for_page(Incident.objects).get(pk=incident_id)
        IncidentVersion.objects.filter(pk=pk).update(article_html=article_html(incident))
