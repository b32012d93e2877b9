"""The cascade page and an incident's typed relations in headless Chromium, at a desk's width and
a phone's, light and dark: nothing widens the page, axe-core finds nothing serious, and the
screenshots are saved to look at."""

import pytest
from playwright.sync_api import expect

from outages.models import CustomerImpact, IncidentRelation
from tests.factories import (
    CustomerFactory,
    CustomerImpactFactory,
    IncidentFactory,
    ProviderFactory,
)
from tests.test_accessibility import AXE, SIZES, page_problems
from tests.test_browser import SCREENSHOTS, shoot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (npm ci)"),
]

expect.set_options(timeout=10_000)
Level = CustomerImpact.Level


@pytest.fixture
def cascade(transactional_db):
    """A provider's incident that hit four customers, two of which wrote up outages of their
    own that it caused, and a third organisation it caused an incident at without being named
    among the customers hit."""
    incident = IncidentFactory(
        title="Example Cloud load balancers lose their configuration",
        slug="example-cloud-lb-2020",
        impacts=0,
        events=2,
    )
    source = incident.sources.first()
    for name, level, own_title in [
        ("Streamy Video", Level.OUTAGE, "Streamy Video streaming outage on TV devices"),
        ("Shopfront Platform", Level.DEGRADED, "Shopfront Platform SSL endpoints unavailable"),
        ("Chatter", Level.AFFECTED, ""),
        ("Paperclip Docs", Level.OUTAGE, ""),
        ("Quiet Analytics", None, "Quiet Analytics dashboards delayed for a day"),
    ]:
        organisation = ProviderFactory(name=name)
        if level is not None:
            customer = CustomerFactory(name=name, provider=organisation)
            CustomerImpactFactory(incident=incident, customer=customer, level=level, source=source)
        if own_title:
            own = IncidentFactory(provider=organisation, title=own_title, impacts=0, events=0)
            IncidentRelation.objects.create(
                incident=incident,
                other=own,
                kind=IncidentRelation.Kind.CAUSED,
                note=f"{name}'s own write-up names the load balancer outage as the cause.",
                source=source,
            )
    return incident


def test_the_cascade_and_the_relations_fit_every_screen_and_pass_axe(page, cascade):
    problems = []
    for width, scheme in SIZES:
        page.set_viewport_size({"width": width, "height": 800})
        page.emulate_media(color_scheme=scheme)
        for name, url in [
            ("cascade", f"/incidents/{cascade.slug}/cascade/"),
            ("incident-relations", f"/incidents/{cascade.slug}/#related"),
        ]:
            page.goto(url)
            expect(page.get_by_role("heading", level=1)).to_have_count(1)
            problems += page_problems(page, name, width, scheme)
            shoot(page, f"{name}-{width}-{scheme}")
        related = page.locator("section[aria-labelledby=related]")
        related.screenshot(path=SCREENSHOTS / f"incident-related-{width}-{scheme}.png")
        # The drawing and the table say the same: each caused incident is linked from both.
        page.goto(f"/incidents/{cascade.slug}/cascade/")
        for title in ["Streamy Video streaming outage", "Quiet Analytics dashboards"]:
            expect(page.locator("svg.cascade a", has_text=title)).to_have_count(1)
            expect(page.locator("table.cascade-table a", has_text=title)).to_have_count(1)
    assert not problems, "\n".join(problems)
