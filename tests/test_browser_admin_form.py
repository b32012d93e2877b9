"""The ELB postmortem's change form in headless Chromium: short enough to work in, with each row
folded to a line; an editor opens one row, edits it, adds another, saves, and readers see both."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from outages.models import Incident
from tests.test_browser_csp import ELB, PASSWORD, shipped  # noqa: F401 - a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "screenshots"
# Unfolded, the form was about 28,700 px tall at 1280 px (18 timeline events and 18 corrections
# stacked); folded it is about 6,000. A quarter of the old height leaves room for a few more
# fields without letting the rows unfold unnoticed.
MOST_PIXELS = 7_500
expect.set_options(timeout=10_000)


def shoot(page, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


@pytest.fixture
def elb(request):
    # The shipped fixtures, indexed, and a superuser "chief" (test_browser_csp's fixture).
    request.getfixturevalue("shipped")
    return Incident.objects.get(slug=ELB)


def log_in(page):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("chief")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def page_size(page):
    return page.evaluate(
        "[document.documentElement.scrollHeight, document.documentElement.scrollWidth,"
        " document.documentElement.clientWidth]"
    )


def test_the_elb_form_is_short_and_a_folded_row_opens_edits_and_saves(page, new_context, elb):
    log_in(page)
    change_url = f"/admin/outages/incident/{elb.pk}/change/"
    page.goto(change_url)

    height, width, viewport = page_size(page)
    print(f"ELB change form at 1280 px: {height} px tall")  # for the record, with -s
    assert height < MOST_PIXELS
    assert width <= viewport  # nothing sticks out sideways
    events = page.locator("#events-group .folded-row:not(.empty-form)")
    expect(events).to_have_count(elb.events.count())
    expect(events.locator("details[open]")).to_have_count(0)
    shoot(page, "admin-form-elb-1280")

    # --- Open one row by its summary line and change its description --------------------------
    first = elb.events.order_by("occurred_at", "position").first()
    row = events.first
    expect(row.locator("summary")).to_contain_text("PST")
    expect(row.locator("summary")).to_contain_text("UTC")
    description = row.locator("textarea[name$='-description']")
    expect(description).to_be_hidden()
    row.locator("summary").click()
    expect(description).to_be_visible()
    expect(row.locator("input[name$='-occurred_at_1']")).to_be_visible()
    edited = f"{first.description} Edited in the folded row."
    description.fill(edited)
    shoot(page, "admin-form-elb-row-open")

    # --- Add a row with Django's own "Add another": it arrives open, with its remove link ---
    page.get_by_role("button", name="Add another Timeline event").click()
    added = page.locator(f"#events-{elb.events.count()}")
    expect(added.locator("details")).to_have_attribute("open", "")
    expect(added.locator(".inline-deletelink")).to_be_visible()
    added.get_by_label("Position").fill("99")
    added.get_by_label("Date").fill("2012-12-24")
    added.get_by_label("Time", exact=True).fill("12:31")  # in the incident's zone: PST
    added.get_by_label("Time as stated").fill("12:31 PM PST")
    added.get_by_label("Kind").select_option(label="Other")
    added.get_by_label("Description").fill("A row added in the browser test.")

    page.get_by_role("button", name="Save and continue editing").first.click()
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    expect(page.locator("ul.errorlist")).to_have_count(0)
    expect(events).to_have_count(elb.events.count())
    expect(page.locator("#events-group")).to_contain_text(
        "24 Dec 2012, 12:31 PM PST · 20:31 UTC · Other"
    )

    # --- Readers see both, at the times the editor meant ------------------------------------------
    reader = new_context().new_page()
    assert reader.goto(f"/incidents/{ELB}/").status == 200
    timeline = reader.locator("table.timeline")
    expect(timeline).to_contain_text("Edited in the folded row.")
    expect(timeline).to_contain_text("A row added in the browser test.")
    added_row = timeline.locator("tr", has_text="A row added in the browser test.")
    expect(added_row).to_contain_text("20:31")
    edited_row = timeline.locator("tr", has_text="Edited in the folded row.")
    expect(edited_row).to_contain_text("12:24 PM PST")  # the edit moved no time
    shoot(reader, "admin-form-elb-public-after-edit")


@pytest.mark.parametrize("width, scheme", [(1280, "dark"), (375, "light")])
def test_the_elb_form_at_other_widths_and_schemes(page, elb, width, scheme):
    page.set_viewport_size({"width": width, "height": 800})
    page.emulate_media(color_scheme=scheme)
    log_in(page)
    page.goto(f"/admin/outages/incident/{elb.pk}/change/")

    page.locator("#events-group .folded-row:not(.empty-form) summary").first.click()
    expect(page.locator("#events-group textarea[name$='-description']").first).to_be_visible()
    height, width_used, viewport = page_size(page)
    assert height < MOST_PIXELS * (2 if width < 600 else 1)
    shoot(page, f"admin-form-elb-{width}-{scheme}")
