"""The editorial workflow: roles from the data migration, transitions enforced on the server,
staff preview at the public address, and withdrawal."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from outages import workflow
from outages.models import Incident
from tests.test_search import admin_form_data


@pytest.fixture
def editor(db):
    user = User.objects.create_user("edna", password="a-long-enough-password", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def publisher(db):
    user = User.objects.create_user("pablo", password="a-long-enough-password", is_staff=True)
    user.groups.add(Group.objects.get(name="Publishers"))
    return user


@pytest.fixture
def draft(make_incidents):
    incident = make_incidents(1)[0]
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.DRAFT, published_at=None)
    incident.refresh_from_db()
    return incident


def change_url(incident):
    return reverse("admin:outages_incident_change", args=[incident.pk])


def test_the_data_migration_creates_the_two_roles(db):
    editors = Group.objects.get(name="Editors").permissions.values_list("codename", flat=True)
    publishers = Group.objects.get(name="Publishers").permissions.values_list("codename", flat=True)

    assert "change_incident" in editors and "publish_incident" not in editors
    assert "publish_incident" in publishers and "delete_incident" in publishers


def test_an_editor_can_submit_for_review_but_not_publish(client, editor, draft):
    client.force_login(editor)
    data = admin_form_data(client.get(change_url(draft)))

    client.post(change_url(draft), {**data, "_transition": "submit"})
    draft.refresh_from_db()
    assert draft.status == Incident.Status.REVIEW

    data = admin_form_data(client.get(change_url(draft)))
    response = client.post(change_url(draft), {**data, "_transition": "publish"}, follow=True)

    draft.refresh_from_db()
    assert draft.status == Incident.Status.REVIEW
    assert "Only publishers may publish" in response.content.decode()


def test_an_editors_publish_action_is_refused_on_the_server(client, editor, draft):
    client.force_login(editor)

    response = client.post(
        reverse("admin:outages_incident_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
    )

    draft.refresh_from_db()
    assert draft.status == Incident.Status.DRAFT
    assert response.status_code in (200, 302)


def test_the_change_form_offers_only_the_users_steps(client, editor, publisher, draft):
    client.force_login(editor)
    html = client.get(change_url(draft)).content.decode()
    assert 'value="submit"' in html and 'value="publish"' not in html

    client.force_login(publisher)
    html = client.get(change_url(draft)).content.decode()
    assert 'value="publish"' in html


def test_a_publisher_publishes_and_the_record_says_who_and_when(client, publisher, draft):
    client.force_login(publisher)
    data = admin_form_data(client.get(change_url(draft)))

    client.post(change_url(draft), {**data, "_transition": "publish"})

    draft.refresh_from_db()
    assert draft.status == Incident.Status.PUBLISHED
    assert draft.published_by == publisher and draft.published_at is not None
    html = client.get(draft.get_absolute_url()).content.decode()
    assert "Added to this knowledge base on" in html and "Last updated" in html


def test_editors_cannot_change_published_incidents(client, editor, incident):
    client.force_login(editor)

    page = client.get(change_url(incident))
    response = client.post(change_url(incident), admin_form_data(page))

    assert response.status_code == 403
    assert "Only publishers can change" in page.content.decode()


def test_withdrawing_needs_a_reason_and_gives_readers_a_410(client, publisher, incident):
    with pytest.raises(ValidationError):
        workflow.apply(incident, "withdraw", publisher)

    workflow.apply(incident, "withdraw", publisher, reason="The sources were retracted.")

    response = client.get(incident.get_absolute_url())
    assert response.status_code == 410
    assert "The sources were retracted." in response.content.decode()


def test_editors_may_not_withdraw(editor, incident):
    with pytest.raises(PermissionDenied):
        workflow.apply(incident, "withdraw", editor, reason="No.")


def test_a_step_from_the_wrong_state_is_refused(publisher, draft):
    with pytest.raises(ValidationError):
        workflow.apply(draft, "withdraw", publisher, reason="Not published yet.")


@pytest.mark.parametrize("status", ["draft", "review"])
def test_staff_preview_unpublished_incidents_at_their_public_address(
    client, editor, incident, status
):
    Incident.objects.filter(pk=incident.pk).update(status=status)

    assert client.get(incident.get_absolute_url()).status_code == 404
    client.force_login(editor)
    response = client.get(incident.get_absolute_url())

    assert response.status_code == 200
    assert "not public" in response.content.decode()
    assert "no-store" in response.headers["Cache-Control"]


def test_the_public_change_log_lists_changes_after_publication_without_names(
    client, publisher, draft
):
    client.force_login(publisher)
    data = admin_form_data(client.get(change_url(draft)))
    client.post(change_url(draft), {**data, "_transition": "publish"})
    data = admin_form_data(client.get(change_url(draft)))
    client.post(change_url(draft), {**data, "title": "A corrected title"})
    client.logout()

    html = client.get(draft.get_absolute_url()).content.decode()

    log = html[html.index('id="changes"') :]
    assert "Publish" in log
    assert "Changed Title" in log
    assert "pablo" not in log
