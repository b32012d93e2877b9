"""History: every admin save is a revision; revisions can be compared and restored, timeline
included; a deleted incident can be recovered by a superuser."""

import pytest
from django.test import Client
from django.urls import reverse
from reversion.models import Version

from outages import revisions
from outages.models import Incident, TimelineEvent
from tests.shipped import load_shipped
from tests.test_search import ROW_PREFIXES, admin_form_data
from tests.test_workflow import change_url, editor, publisher  # noqa: F401 (fixtures)


def save(client, incident, **changes):
    data = admin_form_data(client.get(change_url(incident)))
    data.update(changes)
    response = client.post(change_url(incident), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    return response


@pytest.fixture
def edited(admin_client, incident):
    """An incident saved twice: first as it was, then with a new summary and one event fewer."""
    save(admin_client, incident)
    save(
        admin_client,
        incident,
        summary="A rewritten summary.\n\nWith a second paragraph.",
        **{"events-1-DELETE": "on"},
    )
    return incident


def test_each_admin_save_records_a_revision_with_who_and_what(admin_client, edited, admin_user):
    stored = list(revisions.versions(edited))

    assert len(stored) == 2
    assert stored[0].revision.user == admin_user
    assert "Summary" in revisions.comment_text(stored[0].revision.comment)
    assert "Deleted timeline event" in revisions.comment_text(stored[0].revision.comment)


def test_history_page_lists_revisions_and_compares_two(admin_client, edited):
    history_page = admin_client.get(reverse("admin:outages_incident_history", args=[edited.pk]))
    assert history_page.status_code == 200
    assert 'name="from"' in history_page.content.decode()

    newer, older = revisions.versions(edited)
    url = reverse("admin:outages_incident_compare", args=[edited.pk])
    html = admin_client.get(url, {"from": older.pk, "to": newer.pk}).content.decode()

    assert "Summary" in html
    assert "<ins>With a second paragraph.</ins>" in html
    assert "Removed" in html and "timeline event" in html


def test_compare_with_bad_ids_sends_back_to_history(admin_client, edited):
    url = reverse("admin:outages_incident_compare", args=[edited.pk])

    response = admin_client.get(url, {"from": "x", "to": "999999"})

    assert response.status_code == 200  # the two latest revisions are compared instead


def test_restore_brings_back_old_text_and_old_timeline_as_a_new_revision(admin_client, edited):
    newer, older = revisions.versions(edited)
    old_summary = older.field_dict["summary"]
    assert TimelineEvent.objects.filter(incident=edited).count() == 1

    response = admin_client.post(
        reverse("admin:outages_incident_restore", args=[edited.pk, older.pk])
    )

    assert response.status_code == 302
    edited.refresh_from_db()
    assert edited.summary == old_summary
    assert TimelineEvent.objects.filter(incident=edited).count() == 2
    assert edited.status == Incident.Status.PUBLISHED
    latest = revisions.versions(edited).first()
    assert latest.revision.comment.startswith("Restored the revision of")
    assert revisions.versions(edited).count() == 3


def test_restore_keeps_the_lock_number_moving_forward(admin_client, edited):
    before = Incident.objects.get(pk=edited.pk).version
    older = revisions.versions(edited).last()

    admin_client.post(reverse("admin:outages_incident_restore", args=[edited.pk, older.pk]))

    assert Incident.objects.get(pk=edited.pk).version == before + 1


def test_restore_needs_post_and_change_permission(client, editor, edited):  # noqa: F811
    older = revisions.versions(edited).last()
    url = reverse("admin:outages_incident_restore", args=[edited.pk, older.pk])
    client.force_login(editor)

    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403  # published: publishers only


def test_a_superuser_can_recover_a_deleted_incident_with_its_timeline(admin_client, edited):
    pk = edited.pk
    events = TimelineEvent.objects.filter(incident=edited).count()
    edited.delete()

    recover_list = admin_client.get(reverse("admin:outages_incident_recoverlist"))
    assert edited.title in recover_list.content.decode()

    version = Version.objects.get_deleted(Incident).get(object_id=str(pk))
    url = reverse("admin:outages_incident_recover", args=[version.pk])
    data = admin_form_data(admin_client.get(url))
    response = admin_client.post(url, data)

    assert response.status_code == 302
    recovered = Incident.objects.get(pk=pk)
    assert TimelineEvent.objects.filter(incident=recovered).count() == events


def test_only_superusers_see_deleted_incidents(client, admin_client, publisher, edited):  # noqa: F811
    changelist = reverse("admin:outages_incident_changelist")
    assert "Recover deleted incidents" in admin_client.get(changelist).content.decode()
    client.force_login(publisher)

    assert "Recover deleted incidents" not in client.get(changelist).content.decode()
    assert client.get(reverse("admin:outages_incident_recoverlist")).status_code == 403


def test_markdown_preview_uses_the_public_sanitiser(admin_client, db):
    url = reverse("admin:outages_incident_preview")

    response = admin_client.post(url, {"text": "**bold** <script>alert(1)</script>"})

    html = response.json()["html"]
    assert "<strong>bold</strong>" in html
    assert "<script" not in html
    assert admin_client.get(url).status_code == 405


def test_markdown_preview_is_for_staff_only(client, db):
    response = client.post(reverse("admin:outages_incident_preview"), {"text": "x"})

    assert response.status_code == 302  # to the login page


def test_saving_unchanged_from_a_browser_changes_nothing_readers_see(admin_client, db):
    # Browsers send a textarea's line breaks as CR LF; the stored Markdown has LF.
    load_shipped()
    incident = Incident.objects.get(slug="aws-elb-us-east-2012-12-24")
    page = Client().get(incident.get_absolute_url()).content
    data = admin_form_data(admin_client.get(change_url(incident)))
    crlf = {
        key: value.replace("\n", "\r\n")
        for key, value in data.items()
        if isinstance(value, str) and "\n" in value
    }
    assert "summary" in crlf and any(key.startswith("impacts-") for key in crlf)
    data.update(crlf)

    response = admin_client.post(change_url(incident), data)

    assert response.status_code == 302
    saved = Incident.objects.get(pk=incident.pk)
    assert (saved.summary, saved.updated_at) == (incident.summary, incident.updated_at)
    assert revisions.comment_text(revisions.versions(saved).first().revision.comment) == (
        "No fields changed."
    )
    assert revisions.public_changes(saved) == []
    assert Client().get(incident.get_absolute_url()).content == page


def test_a_revision_keeps_exactly_the_rows_history_compares(db):
    load_shipped()
    incident = max(
        Incident.objects.all(),
        key=lambda row: sum(bool(getattr(row, name).exists()) for name in CHILDREN),
    )
    provider = incident.provider
    provider.aliases.create(name="Another name for it")

    for obj in [incident, provider]:
        revisions.record([obj], "Counted")
        revision = revisions.versions(obj).first().revision
        kept = {version.content_type.model_class() for version in revision.version_set.all()}
        present = {
            model
            for name, model in zip(
                revisions.child_relations(type(obj)), revisions.child_models(type(obj)), strict=True
            )
            if getattr(obj, name).exists()
        }
        assert kept == {type(obj)} | present
        assert present  # each has rows of its own to keep


CHILDREN = ROW_PREFIXES  # the incident's rows: each inline's prefix is its relation
