"""Failed admin logins pause one user name from one client address, and one client address
whatever names it tries; never everyone's logins."""

import pytest
from django.contrib.auth.models import User

PASSWORD = "a-long-enough-password"
CLIENT_A, CLIENT_B = "203.0.113.7", "198.51.100.9"


@pytest.fixture
def behind_proxy(settings):
    # What BEHIND_PROXY=true sets (tests/test_settings.py checks that it does).
    settings.BEHIND_PROXY = True
    settings.PROXY_CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.PROXY_COUNT = 1
    settings.AXES_CLIENT_IP_CALLABLE = "postmortems.client_address.client_address"


@pytest.fixture
def editor(db):
    return User.objects.create_user("edna", password=PASSWORD, is_staff=True)


def log_in(client, password, forwarded_for, username="edna", next_url="/admin/"):
    return client.post(
        f"/admin/login/?next={next_url}",
        {"username": username, "password": password},
        headers={"x-forwarded-for": forwarded_for},
    )


def fail_until_locked(client, settings, forwarded_for):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong", forwarded_for)


def test_failed_logins_lock_the_name_from_that_client(client, settings, behind_proxy, editor):
    fail_until_locked(client, settings, CLIENT_A)

    response = log_in(client, PASSWORD, CLIENT_A)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failed_logins_from_one_client_do_not_lock_another_out(
    client, settings, behind_proxy, editor
):
    # Behind the proxy every request arrives from the proxy's address; only the forwarded
    # header tells the two clients apart.
    fail_until_locked(client, settings, CLIENT_A)

    response = log_in(client, PASSWORD, CLIENT_B)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(editor.pk)


def test_a_forged_forwarded_address_is_not_the_one_locked(client, settings, behind_proxy, editor):
    # The proxy appends the address it saw; what the client wrote before it is not trusted.
    fail_until_locked(client, settings, f"{CLIENT_B}, {CLIENT_A}")

    assert log_in(client, PASSWORD, CLIENT_A).status_code == 429
    assert log_in(client, PASSWORD, CLIENT_B).status_code == 302


def test_without_a_proxy_the_forwarded_header_is_ignored(client, settings, editor):
    # Without BEHIND_PROXY the header is whatever the client wrote: it cannot dodge the lock.
    fail_until_locked(client, settings, CLIENT_A)

    assert log_in(client, PASSWORD, CLIENT_B).status_code == 429


def test_trying_many_names_from_one_client_locks_that_client(
    client, settings, behind_proxy, editor
):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong", CLIENT_A, username=f"guess{attempt}")

    refused = log_in(client, PASSWORD, CLIENT_A)

    # The same lockout page as for one name.
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert log_in(client, PASSWORD, CLIENT_B).status_code == 302


def test_signing_in_between_guesses_does_not_reset_the_client_count(
    client, settings, behind_proxy, editor
):
    # Someone with an account of their own must not clear the address's failures by using it.
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong", CLIENT_A, username=f"guess{attempt}")
    assert log_in(client, PASSWORD, CLIENT_A).status_code == 302
    client.logout()

    log_in(client, "wrong", CLIENT_A, username="one-more-guess")

    assert log_in(client, PASSWORD, CLIENT_A).status_code == 429


@pytest.mark.parametrize(
    "next_url", ["https://attacker.example/", "//attacker.example/", "javascript:alert(1)"]
)
def test_after_login_an_unsafe_next_leads_to_the_admin(client, editor, next_url):
    response = log_in(client, PASSWORD, CLIENT_A, next_url=next_url)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get(response["Location"]).status_code == 200


def test_after_login_without_a_next_the_admin_opens(client, editor):
    response = client.post("/admin/login/", {"username": "edna", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
