"""An incident's way from draft to public in headless Chromium: an editor adds a timeline event,
previews Markdown and submits for review; a publisher publishes; readers see it only then."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from outages.models import Incident, Provider

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
PASSWORD = "a-long-enough-password"
expect.set_options(timeout=10_000)


def shoot(page, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The real login form still checks the password; a cheap hasher saves ~3 s of PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def draft(transactional_db):
    provider = Provider.objects.create(name="Example Cloud", slug="example-cloud")
    return Incident.objects.create(
        title="Example Cloud load balancer outage",
        slug="example-cloud-lb-2012-12-24",
        provider=provider,
        time_zone="America/Los_Angeles",
        started_at=datetime(2012, 12, 24, 20, 24, tzinfo=UTC),
        resolved_at=datetime(2012, 12, 25, 20, 5, tzinfo=UTC),
        root_cause_category=Incident.Cause.OPERATIONAL_ERROR,
        status=Incident.Status.DRAFT,
        summary="A draft summary.",
    )


def staff_user(name, group):
    user = User.objects.create_user(name, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def log_in(page, username):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_an_editor_drafts_a_publisher_publishes_and_only_then_readers_see_it(
    page, new_context, draft, roles
):
    staff_user("edna", "Editors")
    staff_user("pablo", "Publishers")
    change_url = f"/admin/outages/incident/{draft.pk}/change/"
    public_url = f"/incidents/{draft.slug}/"

    # --- The editor adds a timeline event, previews the summary and submits for review ------
    log_in(page, "edna")
    page.goto(change_url)
    expect(page.locator(".workflow-banner")).to_contain_text("Draft")

    page.get_by_role("button", name="Add another Timeline event").click()
    event = page.locator("#events-0")
    expect(event).to_be_visible()
    event.get_by_label("Position").fill("1")
    event.locator("input[name='events-0-occurred_at_0']").fill("2012-12-24")
    # Typed in the incident's zone, as the source states it.
    event.locator("input[name='events-0-occurred_at_1']").fill("12:24")
    event.get_by_label("Time as stated").fill("12:24 PM PST")
    event.get_by_label("Kind").select_option(label="Trigger")
    event.get_by_label("Description").fill("A maintenance process deleted load balancer state.")

    summary_row = page.locator(".form-row.field-summary")
    summary_row.get_by_role("textbox").fill(
        "The load balancers were **badly** hit.\n\n<script>window.pwned = 1</script>"
    )
    summary_row.get_by_role("button", name="Preview").click()
    preview = summary_row.locator("div.markdown-preview")
    expect(preview.locator("strong")).to_have_text("badly")
    expect(preview).to_contain_text("The load balancers were")
    expect(preview.locator("script")).to_have_count(0)
    assert page.evaluate("window.pwned") is None
    shoot(page, "editing-edna-preview")

    # The workflow buttons are at the top and the bottom of the form: either does.
    page.get_by_role("button", name="Submit for review").last.click()
    messages = page.locator("ul.messagelist li.success")
    expect(messages.filter(has_text="Submit for review: done.")).to_be_visible()
    expect(page.locator(".workflow-banner")).to_contain_text("In review")
    expect(page.locator("ul.errorlist")).to_have_count(0)
    expect(page.get_by_role("button", name="Publish", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Return to draft")).to_have_count(2)
    shoot(page, "editing-edna-submitted")

    # Staff preview the incident at its public address.
    page.goto(public_url)
    expect(page.get_by_role("status")).to_contain_text("In review — not public.")
    shoot(page, "editing-edna-staff-preview")

    # --- Readers cannot see it yet -------------------------------------------------------
    reader = new_context().new_page()
    assert reader.goto(public_url).status == 404

    # --- The publisher publishes ---------------------------------------------------------
    publisher = new_context().new_page()
    log_in(publisher, "pablo")
    publisher.goto(change_url)
    expect(publisher.locator(".workflow-banner")).to_contain_text("In review")
    publisher.get_by_role("button", name="Publish", exact=True).first.click()
    messages = publisher.locator("ul.messagelist li.success")
    expect(messages.filter(has_text="Publish: done.")).to_be_visible()
    expect(publisher.locator(".workflow-banner")).to_contain_text("Published")
    shoot(publisher, "editing-pablo-published")

    draft.refresh_from_db()
    assert draft.status == Incident.Status.PUBLISHED
    assert draft.published_by.username == "pablo"
    assert list(draft.events.values_list("time_as_stated", flat=True)) == ["12:24 PM PST"]

    # --- Readers now see the incident, its new event and the change log -------------------
    response = reader.goto(public_url)
    assert response.status == 200
    expect(reader.get_by_role("heading", level=1)).to_have_text(draft.title)
    expect(reader.get_by_role("status")).to_have_count(0)
    timeline = reader.locator("table.timeline")
    expect(timeline).to_contain_text("A maintenance process deleted load balancer state.")
    expect(timeline).to_contain_text("12:24 PM PST")
    expect(timeline).to_contain_text("20:24 UTC")
    summary = reader.locator("section[aria-labelledby='summary']")
    expect(summary.locator("strong")).to_have_text("badly")
    expect(summary.locator("script")).to_have_count(0)
    assert reader.evaluate("window.pwned") is None
    expect(reader.get_by_role("heading", name="Change log")).to_be_visible()
    shoot(reader, "editing-reader-published")
