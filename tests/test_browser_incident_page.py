"""The ELB incident page in headless Chromium, at a desktop and a phone size, light and dark:
its first screen tells the story (summary, start, durations, who was hit, promised fixes),
nothing scrolls sideways, the contents lead to their headings, and on a phone the page's own
tables are cards. Screenshots go to screenshots/ to be looked at."""

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from outages import text
from outages.models import Incident
from tests.shipped import load_shipped

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
ELB = "aws-elb-us-east-2012-12-24"
SCREENS = [(1280, 800), (375, 740)]
expect.set_options(timeout=10_000)


@pytest.fixture
def loaded(transactional_db):
    load_shipped()
    call_command("update_search_index", verbosity=0)
    return Incident.objects.in_full().get(slug=ELB)


def shoot(page, name, full_page=False):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=full_page)


def on_first_screen(page, locator):
    """Whether the element lies wholly within the viewport before any scrolling."""
    box = locator.bounding_box()
    screen = page.viewport_size
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= screen["width"]
        and box["y"] + box["height"] <= screen["height"]
    )


def assert_no_sideways_scroll(page):
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page is {widths[0] - widths[1]}px too wide"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("width", "height"), SCREENS)
def test_the_first_screen_tells_the_story(page, loaded, width, height, scheme):
    elb = loaded
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=scheme)
    page.goto(elb.get_absolute_url())
    gist = page.locator("section.gist")

    lead = gist.locator(".gist-lead")
    expect(lead).to_contain_text(elb.summary.split("\n\n")[0][:120])
    began = gist.locator(".gist-began dd")
    said = text.when_said(elb.started_at, elb.time_zone)
    expect(began).to_contain_text(f"{said.words} · {said.utc}")
    assert said.words.endswith("PST") and said.utc.endswith("UTC")
    durations = gist.locator(".gist-duration")
    expect(durations).to_have_count(2)
    for row, start, end in [(0, "started_at", "mitigated_at"), (1, "started_at", "resolved_at")]:
        expect(durations.nth(row)).to_contain_text(text.bounds_text(elb.span_bounds(start, end)))
    hit = sorted(impact.customer.name for impact in elb.impacts.all() if impact.was_hit)
    spared = [impact.customer.name for impact in elb.impacts.all() if not impact.was_hit]
    assert hit == ["Heroku", "Netflix"] and spared == ["Amazon Prime Video"]
    chips = gist.locator("a.hit-chip")
    expect(chips).to_have_count(len(hit))
    promises = gist.locator(".gist-promises")
    expect(promises).to_contain_text(f"{elb.action_items.count()} promised fixes")

    shown = [lead, began, durations.nth(0), durations.nth(1), promises]
    shown += [chips.filter(has_text=name) for name in hit]
    for locator in shown:
        assert on_first_screen(page, locator), f"{locator} is not on the first screen"
    for name in spared:
        expect(gist).not_to_contain_text(name)
        for found in page.get_by_text(name).all():
            assert not on_first_screen(page, found), f"{name} is on the first screen"
    assert_no_sideways_scroll(page)
    shoot(page, f"incident-elb-first-screen-{width}-{scheme}")
    if scheme == "light":
        shoot(page, f"incident-elb-full-{width}", full_page=True)


@pytest.mark.parametrize(("width", "height"), SCREENS)
def test_the_contents_lead_to_their_headings(page, loaded, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(loaded.get_absolute_url())
    contents = page.get_by_role("navigation", name="On this page")
    if width < 700:
        expect(contents).to_be_hidden()  # folded in a <details> until asked for
        page.locator("details.contents-narrow summary").click()
    expect(contents).to_be_visible()
    links = contents.get_by_role("link")
    names = links.all_inner_texts()
    assert "Root cause" in names and "Related incidents" in names

    for index in range(len(names)):
        if width < 700 and index:
            page.locator("details.contents-narrow summary").scroll_into_view_if_needed()
        link = links.nth(index)
        anchor = link.get_attribute("href")
        if width < 700 and not link.is_visible():
            page.locator("details.contents-narrow summary").click()
        link.click()
        heading = page.locator(f"h2{anchor}")
        expect(heading).to_have_text(names[index])
        expect(heading).to_be_in_viewport()
        assert page.evaluate("document.querySelector(':target').id") == anchor[1:]
    if width >= 700:
        # Beside the article, the contents stay in view however far the reader goes.
        expect(contents).to_be_in_viewport()
        shoot(page, f"incident-elb-contents-{width}")
    assert_no_sideways_scroll(page)


def test_the_tables_are_cards_on_a_phone(page, loaded):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(loaded.get_absolute_url())
    event = loaded.events.all()[0]

    row = page.locator(f"tr#event-{event.position}")
    row.scroll_into_view_if_needed()
    expect(row).to_contain_text(text.moment_text(event.occurred_at, loaded.time_zone))
    expect(row).to_contain_text(event.source.publisher)
    for table in ["timeline", "impacts", "actions"]:
        first = page.locator(f"table.{table} tbody tr").first
        card = first.bounding_box()
        assert card["x"] >= 0 and card["x"] + card["width"] <= 375, f"{table} card is too wide"
        cells = first.locator("td[data-label]")
        for index in range(cells.count()):
            cell = cells.nth(index)
            label = cell.evaluate("cell => getComputedStyle(cell, '::before').content")
            assert label == f'"{cell.get_attribute("data-label")}"', f"{table}: {label}"
            box = cell.bounding_box()
            # Two short facts may share a line; none is a sliver, none leaves its card.
            assert box["width"] > 0.4 * card["width"], f"{table}: a cell is a sliver"
            assert box["x"] + box["width"] <= card["x"] + card["width"]
    expect(page.locator("table.timeline thead")).not_to_be_in_viewport()
    what = row.locator("td[data-label='What happened']")
    expect(what).to_contain_text(event.description.split()[0])
    page.locator("table.actions").scroll_into_view_if_needed()
    shoot(page, "incident-elb-cards-375")
    assert_no_sideways_scroll(page)


def test_the_tables_fit_their_column_on_a_desktop(page, loaded):
    """A table wider than the article scrolls inside its box, hiding its last columns (the
    story and its source) until the reader scrolls it: on a desktop none may. At 1024 px the
    contents take a share of the window, so the tables there are cards."""
    too_wide = []
    for width in [1024, 1280]:
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(loaded.get_absolute_url())
        for table in ["timeline", "impacts", "actions"]:
            box = page.locator(f"table.{table}").locator("xpath=..")
            inside, outside = box.evaluate("box => [box.scrollWidth, box.clientWidth]")
            if inside > outside:
                too_wide.append(f"{table} at {width}px: {inside - outside}px wider than its box")
    assert too_wide == []
