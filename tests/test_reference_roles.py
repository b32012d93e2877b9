"""Reference rows and their aliases under the editorial roles: both roles manage aliases, only
publishers change a row that readers see (one a published or withdrawn incident shows), and a
restore brings a row back with its aliases."""

import pytest
import reversion
from django.contrib.auth.models import Group, User
from django.urls import reverse
from reversion.models import Version

from outages import revisions, workflow
from outages.models import Alias, Customer, Incident, Provider, Region, Service, Source
from tests.test_search import admin_form_data

MODELS = [Provider, Service, Region, Customer, Source]


def user_in(group, name):
    user = User.objects.create_user(name, password="a-long-enough-password", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def editor(db):
    return user_in("Editors", "edna")


@pytest.fixture
def publisher(db):
    return user_in("Publishers", "pablo")


def url(obj, view, *args):
    return reverse(f"admin:outages_{obj._meta.model_name}_{view}", args=[obj.pk, *args])


def with_aliases(data, *names):
    """The change form's data with these aliases added as new inline rows."""
    initial = int(data["aliases-INITIAL_FORMS"])
    data["aliases-TOTAL_FORMS"] = str(initial + len(names))
    for number, name in enumerate(names, start=initial):
        data[f"aliases-{number}-name"] = name
    return data


# --- Both roles manage aliases ---------------------------------------------------------------


@pytest.mark.parametrize("group", ["Editors", "Publishers"])
def test_both_roles_hold_the_alias_permissions(db, group):
    codenames = set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))
    assert {"add_alias", "change_alias", "view_alias", "delete_alias"} <= codenames


def test_an_editor_sees_the_alias_inline_and_adds_an_alias(client, editor, provider):
    client.force_login(editor)
    page = client.get(url(provider, "change"))
    assert "aliases-TOTAL_FORMS" in page.content.decode()

    response = client.post(url(provider, "change"), with_aliases(admin_form_data(page), "EC"))

    assert response.status_code == 302, response.context and response.context["errors"]
    assert list(provider.aliases.values_list("name", flat=True)) == ["EC"]


# --- Only publishers change what readers see ------------------------------------------------


@pytest.fixture
def row(request, incident):
    """The reference row of the published `incident` of the model in the test's parameter."""
    return request.param.objects.get()


@pytest.mark.parametrize("row", MODELS, indirect=True)
def test_an_editor_sees_a_row_readers_see_read_only_and_why(client, editor, row):
    client.force_login(editor)

    page = client.get(url(row, "change"))

    html = page.content.decode()
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert 'name="_save"' not in html
    assert "Only publishers can change it." in html
    if hasattr(row, "aliases"):
        assert 'name="aliases-0-name"' not in html  # no alias to be added either


@pytest.mark.parametrize("row", MODELS, indirect=True)
def test_an_editors_change_or_restore_of_a_row_readers_see_is_refused(
    client, admin_client, editor, row
):
    client.force_login(editor)
    data = admin_form_data(admin_client.get(url(row, "change")))
    before = revisions.versions(row).count()
    with reversion.create_revision():
        row.save()
    older = revisions.versions(row).last()

    assert client.post(url(row, "change"), data).status_code == 403
    assert client.post(url(row, "restore", older.pk)).status_code == 403
    assert revisions.versions(row).count() == before + 1


@pytest.mark.parametrize("row", [Provider, Service, Region, Customer], indirect=True)
def test_an_editor_may_not_add_an_alias_to_a_row_readers_see(client, admin_client, editor, row):
    client.force_login(editor)
    data = with_aliases(admin_form_data(admin_client.get(url(row, "change"))), "Another name")

    assert client.post(url(row, "change"), data).status_code == 403
    assert not Alias.objects.exists()


@pytest.mark.parametrize("row", MODELS, indirect=True)
def test_a_publisher_changes_a_row_readers_see(client, publisher, row):
    client.force_login(publisher)
    page = client.get(url(row, "change"))
    assert page.context["has_change_permission"]
    assert "Only publishers can change it." not in page.content.decode()

    assert client.post(url(row, "change"), admin_form_data(page)).status_code == 302


@pytest.mark.parametrize("status", [Incident.Status.DRAFT, Incident.Status.REVIEW])
def test_an_editor_changes_a_row_only_unpublished_incidents_show(client, editor, incident, status):
    Incident.objects.filter(pk=incident.pk).update(status=status)
    provider = Provider.objects.get()
    client.force_login(editor)
    page = client.get(url(provider, "change"))

    data = with_aliases(admin_form_data(page), "EC")
    data["description"] = "Changed by an editor."
    response = client.post(url(provider, "change"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    provider.refresh_from_db()
    assert provider.description == "Changed by an editor."
    assert list(provider.aliases.values_list("name", flat=True)) == ["EC"]


@pytest.mark.parametrize("status", [Incident.Status.PUBLISHED, Incident.Status.WITHDRAWN])
@pytest.mark.parametrize("model", MODELS)
def test_the_rule_a_row_a_public_incident_shows_is_the_publishers(
    editor, publisher, incident, status, model
):
    Incident.objects.filter(pk=incident.pk).update(status=status)
    row = model.objects.get()

    assert not workflow.can_edit_reference(editor, row)
    assert workflow.can_edit_reference(publisher, row)
    assert workflow.can_edit_reference(editor, None)  # a new row
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.DRAFT)
    assert workflow.can_edit_reference(editor, row)


# --- A restore brings back the row's aliases --------------------------------------------------


def test_restoring_a_row_brings_back_its_aliases_and_leaves_other_rows_alone(
    admin_client, provider, customer
):
    old_alias = Alias.objects.create(name="Old name", provider=provider)
    Alias.objects.create(name="Streamy TV", customer=customer)
    with reversion.create_revision():  # one revision holding two rows, as an import's does
        reversion.add_to_revision(provider)
        reversion.add_to_revision(customer)
    older = revisions.versions(provider).get()
    page = admin_client.get(url(provider, "change"))
    data = with_aliases(admin_form_data(page), "EC", "Example")
    data["description"] = "Changed since."
    data["aliases-0-DELETE"] = "on"  # the old alias removed
    assert admin_client.post(url(provider, "change"), data).status_code == 302
    Customer.objects.filter(pk=customer.pk).update(name="Streamy Inc.")
    Alias.objects.filter(customer=customer).update(name="Streamy Television")
    assert sorted(provider.aliases.values_list("name", flat=True)) == ["EC", "Example"]

    response = admin_client.post(url(provider, "restore", older.pk))

    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.description == ""
    assert list(provider.aliases.values_list("pk", "name")) == [(old_alias.pk, "Old name")]
    assert Customer.objects.get().name == "Streamy Inc."  # in the same revision, untouched
    assert Alias.objects.get(customer=customer).name == "Streamy Television"
    newest = revisions.versions(provider).first()
    assert newest.revision.comment.startswith("Restored the revision of")
    stored = Version.objects.get_for_model(Alias).filter(revision=newest.revision)
    assert [version.object_repr for version in stored] == ["Old name"]


def test_a_service_readers_see_stays_the_publishers_on_a_provider_an_editor_may_change(
    client, editor, publisher, incident
):
    """An incident's services need not be its provider's: the service's own rule holds."""
    other = Provider.objects.create(name="Other Cloud", slug="other-cloud")
    Service.objects.filter(pk=incident.services.get().pk).update(provider=other)
    for user, expected in [(editor, 200), (publisher, 302)]:
        client.force_login(user)
        page = client.get(url(other, "change"))
        assert page.context["has_change_permission"]
        page_data = admin_form_data(page)
        page_data["services-0-name"] = "Renamed load balancer"

        response = client.post(url(other, "change"), page_data)

        assert response.status_code == expected
        if expected == 200:
            assert "Only publishers can change it." in response.content.decode()
            assert Service.objects.get().name == "Load Balancer"
    assert Service.objects.get().name == "Renamed load balancer"


def test_a_restore_refuses_an_alias_another_row_has_taken_since(admin_client, provider):
    alias = Alias.objects.create(name="EC", provider=provider)
    with reversion.create_revision():
        reversion.add_to_revision(provider)
    older = revisions.versions(provider).get()
    alias.delete()
    other = Provider.objects.create(name="Other Cloud", slug="other-cloud")
    Alias.objects.create(name="EC", provider=other)
    Provider.objects.filter(pk=provider.pk).update(description="Changed since.")

    response = admin_client.post(url(provider, "restore", older.pk), follow=True)

    assert "Not restored: “EC” is already an alias of the provider Other Cloud." in (
        response.content.decode()
    )
    provider.refresh_from_db()
    assert provider.description == "Changed since."  # nothing written
    assert revisions.versions(provider).count() == 1


# --- Publishing a row on its own is a publisher's act ----------------------------------------

VISIBLE_MODELS = [Provider, Service, Region, Customer]


@pytest.mark.parametrize("model", VISIBLE_MODELS)
def test_an_editor_may_not_publish_a_row_on_its_own(client, admin_client, editor, draft, model):
    row = model.objects.get()
    client.force_login(editor)
    page = client.get(url(row, "change"))
    assert 'name="published"' not in page.content.decode()  # shown read-only
    data = admin_form_data(admin_client.get(url(row, "change")))
    data["published"] = "on"

    response = client.post(url(row, "change"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert not model.objects.get().published


@pytest.mark.parametrize("model", VISIBLE_MODELS)
def test_a_publisher_publishes_a_row_on_its_own_as_a_revision(client, publisher, draft, model):
    row = model.objects.get()
    client.force_login(publisher)
    data = admin_form_data(client.get(url(row, "change")))
    data["published"] = "on"

    response = client.post(url(row, "change"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert model.objects.visible().filter(pk=row.pk).exists()
    assert revisions.versions(row).first().field_dict["published"] is True
    # What readers see is the publishers' from now on.
    assert not workflow.can_edit_reference(User.objects.get(username="edna"), model.objects.get())


@pytest.fixture
def draft(incident, editor):
    """The conftest incident in draft: its rows are anyone's, and no reader sees them."""
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.DRAFT)
    return incident
