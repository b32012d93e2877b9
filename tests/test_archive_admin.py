"""The editors' view of the source archive: both roles see the copies, their text and what
changed between versions; nobody adds, changes or deletes a copy; a source's page lists its
copies."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from outages.interchange import archive
from outages.models import ArchivedCopy
from tests.test_archive import fetched, page
from tests.test_reference_roles import user_in

LIST = reverse("admin:outages_archivedcopy_changelist")
ROLES = ["Editors", "Publishers"]


def change_url(copy):
    return reverse("admin:outages_archivedcopy_change", args=[copy.pk])


def changes_url(copy):
    return reverse("admin:outages_archivedcopy_changes", args=[copy.pk])


@pytest.fixture
def versions(db, source):
    """Three versions of the test source's page: the second adds a sentence, the third changes
    one line."""
    texts = [
        ["Test outage began at 10:00.", "It ended at 11:00."],
        ["Test outage began at 10:00.", "A test change caused it.", "It ended at 11:00."],
        ["Test outage began at 09:45.", "A test change caused it.", "It ended at 11:00."],
    ]  # fmt: skip
    return [
        archive.store(fetched(page("</p><p>".join(lines)), url=source.url), source=source)
        for lines in texts
    ]


@pytest.fixture(params=ROLES)
def role_client(request, client, db):
    client.force_login(user_in(request.param, f"someone-in-{request.param.lower()}"))
    return client


# --- Who may see -----------------------------------------------------------------------------


@pytest.mark.parametrize("group", ROLES)
def test_both_roles_hold_only_the_view_permission(db, group):
    codenames = set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))
    assert "view_archivedcopy" in codenames
    assert not {"add_archivedcopy", "change_archivedcopy", "delete_archivedcopy"} & codenames


@pytest.mark.parametrize("view", ["list", "change", "changes"])
def test_anonymous_visitors_are_sent_to_sign_in(client, versions, view):
    url = {"list": LIST, "change": change_url(versions[1]), "changes": changes_url(versions[1])}

    response = client.get(url[view])

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_role_may_not_look(client, versions):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("visitor", is_staff=True))

    assert client.get(LIST).status_code == 403
    assert client.get(changes_url(versions[1])).status_code == 403


def test_both_roles_see_the_list_of_copies(role_client, versions):
    response = role_client.get(LIST)

    assert response.status_code == 200
    content = response.content.decode()
    assert content.count("https://example.com/summary") >= 3
    assert "text/html" in content
    assert "Add archived copy" not in content


def test_the_list_can_be_searched_and_filtered_by_url(role_client, versions):
    archive.store(fetched(page(), url="https://status.example.com/other"))

    searched = role_client.get(LIST, {"q": "status.example.com"})
    filtered = role_client.get(LIST, {"url": "https://example.com/summary"})

    assert [copy.url for copy in searched.context["cl"].result_list] == [
        "https://status.example.com/other"
    ]
    assert len(filtered.context["cl"].result_list) == 3


def test_a_copy_s_page_shows_its_text_and_no_way_to_change_it(role_client, versions):
    response = role_client.get(change_url(versions[1]))

    assert response.status_code == 200
    content = response.content.decode()
    assert "A test change caused it." in content
    assert 'class="archived-text"' in content
    assert "token" not in content.split('class="archived-text"')[1]  # the script is not text
    assert "What changed since version 1" in content
    assert 'name="_save"' not in content


# --- Nobody adds, changes or deletes ---------------------------------------------------------


@pytest.fixture(params=[*ROLES, "superuser"])
def anyone(request, client, admin_user):
    if request.param == "superuser":
        client.force_login(admin_user)
    else:
        client.force_login(user_in(request.param, "someone"))
    return client


def test_nobody_can_add_a_copy(anyone, db):
    assert anyone.get(reverse("admin:outages_archivedcopy_add")).status_code == 403
    assert anyone.post(reverse("admin:outages_archivedcopy_add"), {}).status_code == 403


def test_nobody_can_change_a_copy(anyone, versions):
    copy = versions[0]

    anyone.post(change_url(copy), {"url": "https://status.example.com/forged", "number": 7})

    copy.refresh_from_db()
    assert (copy.url, copy.number) == ("https://example.com/summary", 1)


def test_nobody_can_delete_a_copy(anyone, versions):
    delete = reverse("admin:outages_archivedcopy_delete", args=[versions[0].pk])

    assert anyone.get(delete).status_code == 403
    assert anyone.post(delete, {"post": "yes"}).status_code == 403
    bulk = anyone.post(
        LIST, {"action": "delete_selected", "_selected_action": [versions[0].pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert ArchivedCopy.objects.count() == 3


# --- What changed ------------------------------------------------------------------------------


def marked(response):
    """(kind, text) of each line of the diff as the page marks it."""
    diff = response.context["lines"]
    return [(kind, line) for kind, line in diff if kind != "same"]


def test_what_changed_compares_with_the_version_before_by_default(role_client, versions):
    response = role_client.get(changes_url(versions[2]))

    assert response.status_code == 200
    assert marked(response) == [
        ("removed", "Test outage began at 10:00."),
        ("added", "Test outage began at 09:45."),
    ]
    content = response.content.decode()
    # Marked by words and symbols, not by colour alone.
    assert '<span class="visually-hidden">Added: </span><ins>Test outage began at 09:45.</ins>' in (
        content
    )
    assert '<span class="visually-hidden">Removed: </span><del>Test outage began at 10:00.' in (
        content
    )
    assert "1 line added in version 3 (marked <strong>+</strong>)" in content
    assert "1 removed from version 2 (marked <strong>−</strong>)" in content
    assert "style=" not in content.split('id="content-main"')[1]


def test_what_changed_from_a_chosen_version(role_client, versions):
    response = role_client.get(changes_url(versions[2]), {"from": "1"})

    assert (response.context["older"], response.context["newer"]) == (versions[0], versions[2])
    assert ("added", "A test change caused it.") in marked(response)


def test_a_later_version_can_be_chosen_too(role_client, versions):
    response = role_client.get(changes_url(versions[0]), {"from": "2"})

    assert (response.context["older"], response.context["newer"]) == (versions[0], versions[1])


@pytest.mark.parametrize("asked", ["9", "x", "3", "-1", "", "²", "1" * 5000])
def test_a_version_that_is_not_there_falls_back_to_the_one_before(role_client, versions, asked):
    response = role_client.get(changes_url(versions[2]), {"from": asked})

    assert response.status_code == 200
    assert response.context["older"] == versions[1]
    assert "There is no other version" in response.content.decode()


def test_the_first_version_has_nothing_before_it(role_client, versions):
    response = role_client.get(changes_url(versions[0]))

    assert response.status_code == 200
    assert "nothing earlier to compare it with" in response.content.decode()


def test_what_changed_of_a_copy_that_is_not_there_is_a_404(role_client, db):
    assert role_client.get("/admin/outages/archivedcopy/999/changes/").status_code == 404
    assert role_client.get("/admin/outages/archivedcopy/x/changes/").status_code == 404


# --- A source's page -------------------------------------------------------------------------


def test_a_source_s_page_lists_its_copies_with_links(role_client, versions, source):
    response = role_client.get(reverse("admin:outages_source_change", args=[source.pk]))

    content = response.content.decode()
    assert "Archived copies of this URL" in content
    for copy in versions:
        assert f'href="{change_url(copy)}"' in content
    assert f'href="{changes_url(versions[0])}"' not in content  # the first has no before
    assert f'href="{changes_url(versions[1])}"' in content
    assert f'href="{changes_url(versions[2])}"' in content


def test_a_source_not_archived_yet_says_how_to_archive_it(role_client, source):
    response = role_client.get(reverse("admin:outages_source_change", args=[source.pk]))

    assert "manage.py archive_sources https://example.com/summary" in response.content.decode()
