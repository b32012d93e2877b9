"""Following a provider, in headless Chromium: a publisher sets up a status page in the admin and
syncs it; the synced incident arrives as a draft with the provider's words and an archived copy
of its source; once it is published, readers see it with its timeline and its archived copy.
The status page is a recorded Statuspage history served by a local HTTP server."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from outages.models import ArchivedCopy, Incident, Provider, StatusPage
from tests.test_browser_editing import PASSWORD, fast_passwords, log_in, shoot  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORDED = Path(__file__).resolve().parent / "data" / "status_pages" / "statuspage-incidents.json"
# The recorded incident with a written postmortem, four updates and two components.
TITLE = "Test incident: API outage in the test region"


def test_a_publisher_follows_a_status_page_and_readers_see_what_they_publish(
    page, new_context, httpserver, fetch_locally, roles
):
    Provider.objects.create(name="Example Cloud (test)", slug="example-cloud")
    user = User.objects.create_user("pablo", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Publishers"))
    httpserver.expect_request("/api/v2/incidents.json").respond_with_data(
        RECORDED.read_bytes(), content_type="application/json", headers={"ETag": '"v1"'}
    )
    feed_url = httpserver.url_for("/api/v2/incidents.json")

    # --- The publisher configures the status page -----------------------------------------
    log_in(page, "pablo")
    page.goto("/admin/outages/statuspage/add/")
    page.locator(".field-provider .select2-selection").click()
    page.locator(".select2-search__field").fill("Example")
    page.locator(".select2-results__option", has_text="Example Cloud (test)").click()
    page.get_by_label("Format").select_option("statuspage")
    page.get_by_label("URL").fill(feed_url)
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    status_page = StatusPage.objects.get()
    assert status_page.last_ok is None

    # --- …and runs a sync ------------------------------------------------------------------
    page.get_by_role("button", name="Sync now").click()
    message = page.locator("ul.messagelist li.success")
    expect(message).to_contain_text("new draft")
    expect(page.locator(".field-outcome")).to_contain_text("OK")
    shoot(page, "following-status-page-synced")
    incident = Incident.objects.get(title=TITLE)
    assert incident.status == Incident.Status.DRAFT
    assert incident.provider_impact == "major"

    # --- The draft holds the provider's words, marked as such, and its archived source ---
    page.goto(f"/admin/outages/incident/{incident.pk}/change/")
    expect(page.locator(".workflow-banner")).to_contain_text("Draft")
    summary = page.locator(".form-row.field-summary").get_by_role("textbox")
    expect(summary).to_have_value(re.compile("provider's own words"))
    shoot(page, "following-draft-in-admin")
    source = incident.sources.get()
    copy = ArchivedCopy.objects.get(url=source.url)
    page.goto(f"/admin/outages/source/{source.pk}/change/")
    page.get_by_role("link", name="version 1").first.click()
    expect(page.locator("body")).to_contain_text("Test update: the API returns errors.")
    shoot(page, "following-archived-source-in-admin")

    # Readers cannot see the draft, nor its archived source.
    reader = new_context().new_page()
    assert reader.goto(f"/incidents/{incident.slug}/").status == 404
    assert reader.goto(f"/archive/{copy.pk}/").status == 404

    # --- The publisher publishes ------------------------------------------------------------
    page.goto(f"/admin/outages/incident/{incident.pk}/change/")
    page.get_by_role("button", name="Publish", exact=True).first.click()
    expect(
        page.locator("ul.messagelist li.success").filter(has_text="Publish: done.")
    ).to_be_visible()

    # --- Readers see it with its timeline and the archived copy of its source ---------------
    assert reader.goto(f"/incidents/{incident.slug}/").status == 200
    expect(reader.get_by_role("heading", level=1)).to_have_text(TITLE)
    timeline = reader.locator("section[aria-labelledby='timeline']")
    expect(timeline).to_contain_text("Test update: the API returns errors.")
    expect(timeline).to_contain_text("Test update: the API is working normally.")
    sources = reader.locator("section[aria-labelledby='sources']")
    expect(sources).to_contain_text("Archived on")
    shoot(reader, "following-reader-incident")
    sources.get_by_role("link", name=re.compile("Archived on")).first.click()
    expect(reader.locator("body")).to_contain_text("Test update: the API returns errors.")
    shoot(reader, "following-reader-archived-copy")
