"""No lost updates: two editors open the same incident; the second, stale save is refused with
an explanation, and the first save stays intact."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from outages import workflow
from outages.models import Incident, TimelineEvent
from tests.test_search import admin_form_data
from tests.test_workflow import change_url


@pytest.fixture
def two_editors(db):
    clients = []
    for name in ["ada", "bob"]:
        user = User.objects.create_superuser(name, f"{name}@example.com", "a-long-password-1")
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def test_a_stale_save_of_a_main_field_is_refused_and_the_first_save_kept(two_editors, incident):
    ada, bob = two_editors
    ada_form = admin_form_data(ada.get(change_url(incident)))
    bob_form = admin_form_data(bob.get(change_url(incident)))

    assert ada.post(change_url(incident), {**ada_form, "title": "Ada's title"}).status_code == 302
    response = bob.post(change_url(incident), {**bob_form, "title": "Bob's title"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Someone else saved this incident after you opened it" in html
    assert "Changed Title" in html  # what the other editor changed
    assert "ada" in html
    assert Incident.objects.get(pk=incident.pk).title == "Ada's title"


def test_a_stale_save_through_an_inline_is_refused(two_editors, incident):
    ada, bob = two_editors
    ada_form = admin_form_data(ada.get(change_url(incident)))
    bob_form = admin_form_data(bob.get(change_url(incident)))

    ada_form["events-0-description"] = "Ada's wording of the first event."
    assert ada.post(change_url(incident), ada_form).status_code == 302
    bob_form["events-1-description"] = "Bob's wording of the second event."
    response = bob.post(change_url(incident), bob_form)

    assert response.status_code == 200
    assert "Someone else saved this incident" in response.content.decode()
    descriptions = list(
        TimelineEvent.objects.filter(incident=incident).values_list("description", flat=True)
    )
    assert "Ada's wording of the first event." in descriptions
    assert "Bob's wording of the second event." not in descriptions


def test_after_reloading_the_second_editor_can_save(two_editors, incident):
    ada, bob = two_editors
    bob_form = admin_form_data(bob.get(change_url(incident)))
    ada.post(change_url(incident), {**admin_form_data(ada.get(change_url(incident)))})
    assert bob.post(change_url(incident), bob_form).status_code == 200  # stale

    fresh = admin_form_data(bob.get(change_url(incident)))
    response = bob.post(change_url(incident), {**fresh, "title": "Bob's title"})

    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).title == "Bob's title"


def test_a_save_without_the_version_is_refused(admin_client, incident):
    data = admin_form_data(admin_client.get(change_url(incident)))
    del data["loaded_version"]

    response = admin_client.post(change_url(incident), {**data, "title": "Blind write"})

    assert response.status_code == 200
    assert Incident.objects.get(pk=incident.pk).title == incident.title


def test_a_workflow_step_also_makes_open_forms_stale(admin_client, incident, two_editors):
    ada, _ = two_editors
    form = admin_form_data(ada.get(change_url(incident)))
    user = User.objects.get(username="bob")
    workflow.apply(incident, "withdraw", user, reason="Checking the sources again.")

    response = ada.post(change_url(incident), {**form, "title": "Late edit"})

    assert response.status_code == 200
    assert Incident.objects.get(pk=incident.pk).title == incident.title
