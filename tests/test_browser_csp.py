"""The Content-Security-Policy in a real browser: public pages and the editors' admin screens
(scripts, inlines, the Markdown preview) work with no violation reported."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from playwright.sync_api import expect

from outages.models import Incident
from tests.shipped import load_shipped

PASSWORD = "a-long-enough-password"
ELB = "aws-elb-us-east-2012-12-24"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Init scripts run outside the page's policy, so this listener sees every violation.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}`);
});
"""


@pytest.fixture
def shipped(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_shipped()
    call_command("update_search_index", verbosity=0)
    User.objects.create_superuser("chief", password=PASSWORD)


@pytest.fixture
def watched(page):
    page.add_init_script(RECORD_VIOLATIONS)
    messages = []
    page.on(
        "console",
        lambda message: (
            messages.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page, messages


def violations(page, messages):
    return page.evaluate("window.__violations") + messages


# One of each kind of public page that runs script or draws a chart. Visited in one test, so
# the shipped data is loaded once; every page is checked before the test reports.
PUBLIC_PAGES = [
    "/",
    f"/incidents/{ELB}/",
    "/incidents/?q=load+balancer",
    "/statistics/",
    "/map/",
    "/my-stack/?provider=aws",
    "/customers/netflix/",
]


def test_public_pages_load_without_a_violation(shipped, watched):
    page, messages = watched
    found = {}
    for url in PUBLIC_PAGES:
        seen_before = len(messages)
        response = page.goto(url)
        assert "script-src 'self'" in response.headers["content-security-policy"], url
        page.wait_for_load_state("networkidle")
        if problems := page.evaluate("window.__violations") + messages[seen_before:]:
            found[url] = problems
    assert found == {}


def test_the_admin_works_under_the_policy(shipped, watched):
    page, messages = watched
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("chief")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Incidents and their sources")).to_be_visible()

    incident = Incident.objects.get(slug=ELB)
    page.goto(f"/admin/outages/incident/{incident.pk}/change/")
    page.wait_for_load_state("networkidle")
    # The admin's own scripts: add an inline row, which only JavaScript can do.
    rows = page.locator("#events-group .inline-related:not(.empty-form)")
    before = rows.count()
    page.locator("#events-group .add-row a").click()
    expect(rows).to_have_count(before + 1)
    # The Markdown preview, our own script calling our own endpoint.
    page.get_by_role("button", name="Preview").first.click()
    expect(page.locator(".markdown-preview").first).to_be_visible()
    page.goto("/admin/outages/incident/")
    page.goto("/admin/outages/incident/import/")
    page.wait_for_load_state("networkidle")

    assert violations(page, messages) == []
