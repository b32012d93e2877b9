"""A reader's path through the site in headless Chromium, with screenshots to look at."""

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.shipped import load_shipped

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
expect.set_options(timeout=10_000)


@pytest.fixture
def loaded(transactional_db):
    load_shipped()
    call_command("update_search_index", verbosity=0)


def shoot(page, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def test_reader_goes_from_home_to_the_elb_incident_to_netflix_and_back(page, loaded):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    shoot(page, "home")

    page.get_by_role("link", name="Incidents", exact=True).click()
    page.get_by_role("link", name="Netflix Christmas Eve 2012").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Elastic Load Balancing")
    timeline = page.locator("table.timeline")
    expect(timeline).to_contain_text("12:24 PM PST")
    expect(timeline).to_contain_text("20:24 UTC")
    shoot(page, "incident-elb")

    page.locator("table.impacts").get_by_role("link", name="Netflix", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Netflix")
    incidents = page.locator("table").first
    expect(incidents.get_by_role("link", name="Netflix Christmas Eve 2012")).to_be_visible()
    expect(incidents.locator("tbody tr")).to_have_count(3)
    shoot(page, "customer-netflix")

    incidents.get_by_role("link", name="Netflix Christmas Eve 2012").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Elastic Load Balancing")


def test_reader_searches_from_the_home_page_and_narrows_with_a_facet(page, loaded):
    page.goto("/")
    page.get_by_role("search", name="Search postmortems").get_by_role("searchbox").fill(
        "load balancer christmas"
    )
    page.get_by_role("search", name="Search postmortems").get_by_role("button").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("load balancer christmas")
    first = page.locator("table.incidents tbody tr").first
    expect(first).to_contain_text("Netflix Christmas Eve 2012")
    expect(first.locator("mark").first).to_be_visible()
    shoot(page, "search-results")

    page.get_by_role("complementary").get_by_role("link", name="Operational error").click()
    expect(page.get_by_text("Filtered by:")).to_be_visible()
    expect(page.locator("table.incidents tbody tr")).to_have_count(1)
    shoot(page, "search-filtered")


@pytest.mark.parametrize("width", [1280, 375])
def test_pages_fit_the_screen(page, loaded, width):
    page.set_viewport_size({"width": width, "height": 800})
    for name, url in [
        ("home", "/"),
        ("incidents", "/incidents/"),
        ("search", "/incidents/?q=netflix&sort=longest"),
        ("filter-errors", "/incidents/?provider=nope&year=abc"),
        ("incident-elb", "/incidents/aws-elb-us-east-2012-12-24/"),
        ("provider-aws", "/providers/aws/"),
        ("service-elb", "/providers/aws/services/elb/"),
        ("region-us-east-1", "/providers/aws/regions/us-east-1/"),
        ("customers", "/customers/"),
        ("customer-netflix", "/customers/netflix/"),
    ]:
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        # Wide tables scroll inside their box; the page itself never scrolls sideways.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url} is {overflow}px wider than a {width}px screen"
        shoot(page, f"{name}-{width}")
