"""The ELB incident's drawn timeline in headless Chromium: it shows, fits the screen, and its
marks lead to their rows in the timeline table. Screenshots go to screenshots/ to be looked at."""

import re
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
ELB = "/incidents/aws-elb-us-east-2012-12-24/"
expect.set_options(timeout=10_000)


@pytest.fixture
def loaded(transactional_db):
    load_shipped()
    call_command("update_search_index", verbosity=0)


def shoot(target, name, full_page=False):
    """A screenshot of one element, of what the screen shows, or of the whole page."""
    SCREENSHOTS.mkdir(exist_ok=True)
    options = {"full_page": True} if full_page else {}
    target.screenshot(path=SCREENSHOTS / f"{name}.png", **options)


def page_overflow(page):
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def meeting(boxes):
    """Pairs of boxes ({x, y, width, height}) that intersect."""
    return [
        (first, second)
        for index, first in enumerate(boxes)
        for second in boxes[index + 1 :]
        if first["x"] < second["x"] + second["width"]
        and second["x"] < first["x"] + first["width"]
        and first["y"] < second["y"] + second["height"]
        and second["y"] < first["y"] + first["height"]
    ]


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("slug", ["aws-elb-us-east-2012-12-24", "aws-kinesis-us-east-1-2020-11-25"])
def test_every_mark_is_labelled_and_no_two_labels_meet(page, loaded, width, slug):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/incidents/{slug}/")

    drawing = page.locator("svg.timeline-drawing:visible")  # the phone's own on a phone
    expect(drawing).to_have_count(1)
    assert ("narrow" in drawing.get_attribute("class")) == (width == 375)
    marks = drawing.locator("a.mark").count()
    labels = drawing.locator("text.mark-label")
    expect(labels).to_have_count(marks)
    # What the browser drew, with its own fonts: the widths estimated by the layout were enough.
    boxes = labels.evaluate_all(
        "nodes => nodes.map(n => { const b = n.getBoundingClientRect();"
        " return {text: n.textContent, x: b.x, y: b.y, width: b.width, height: b.height}; })"
    )
    assert not meeting(boxes)
    ticks = drawing.locator("text.tick").evaluate_all(
        "nodes => nodes.map(n => { const b = n.getBoundingClientRect();"
        " return {text: n.textContent, x: b.x, y: b.y, width: b.width, height: b.height}; })"
    )
    assert not meeting(ticks)


@pytest.mark.parametrize("width", [1280, 375])
def test_the_elb_drawing_shows_every_event_and_never_widens_the_page(page, loaded, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(ELB)

    drawing = page.locator("svg.timeline-drawing:visible")
    expect(drawing).to_be_visible()
    expect(drawing.locator("a.mark")).to_have_count(18)
    expect(drawing.locator("rect.phase")).to_have_count(2)
    expect(drawing).to_contain_text("23 h 41 min to resolve")
    expect(drawing).to_contain_text("end not known")
    # The axis in the source's zone with UTC beneath; customers hit have rows, Prime Video none.
    expect(drawing.locator("text.row-label", has_text="PST")).to_have_count(1)
    expect(drawing.locator("text.row-label", has_text="UTC")).to_have_count(1)
    rows = drawing.locator("text.row-label.customer").all_text_contents()
    assert rows == ["Heroku", "Netflix"]
    expect(page.locator("figure.timeline-figure .not-affected-note")).to_have_text(
        "Not affected: Amazon Prime Video."
    )
    overflow = page_overflow(page)
    assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen"
    box = page.locator(".chart-scroll:visible, .narrow-drawing:visible")
    assert not box.evaluate("box => box.scrollWidth > box.clientWidth"), "nothing scrolls"
    # Text stays readable: each drawing is shown at about the size it was drawn for, so its
    # 11.5-unit labels are 10 px or more (the phone's is drawn 340 units wide, the desk's 960).
    font = drawing.locator("text.mark-label").first.evaluate(
        "n => n.getBoundingClientRect().height"
    )
    assert font >= 10
    shoot(page.locator("figure.timeline-figure"), f"timeline-elb-{width}")
    shoot(page.locator("section.facts"), f"timeline-elb-durations-{width}")
    page.locator("figure.timeline-figure").scroll_into_view_if_needed()
    shoot(page, f"timeline-elb-screen-{width}")
    page.get_by_text("Data behind the drawing").click()
    expect(page.locator("details.chart-data table").first).to_be_visible()
    assert page_overflow(page) <= 0
    shoot(page.locator("details.chart-data"), f"timeline-elb-data-{width}")
    shoot(page, f"timeline-elb-page-{width}", full_page=True)


@pytest.mark.parametrize("width", [1280, 375])
def test_clicking_a_mark_goes_to_its_row_in_the_timeline_table(page, loaded, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(ELB)

    mark = page.locator('svg.timeline-drawing:visible a.mark[href="#event-7"]')
    expect(mark.locator("title")).to_contain_text("25 Dec 2012, 01:02 UTC")
    expect(mark.locator("title")).to_contain_text("5:02 PM PST")
    mark.click()

    expect(page).to_have_url(re.compile("#event-7$"))
    row = page.locator("table.timeline tr#event-7")
    expect(row).to_be_in_viewport()
    expect(row).to_contain_text("5:02 PM PST")
    assert page.evaluate("document.querySelector(':target').id") == "event-7"
    shoot(page, f"timeline-elb-target-{width}")


def test_marks_are_reachable_and_followed_with_the_keyboard(page, loaded):
    page.goto(ELB)

    first = page.locator('svg.timeline-drawing:visible a.mark[href="#event-1"]')
    first.focus()
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#event-1"
    expect(first.locator(".ring")).to_have_css("opacity", "1")  # a visible focus ring
    shoot(page.locator("figure.timeline-figure"), "timeline-elb-focus")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile("#event-1$"))
    expect(page.locator("tr#event-1")).to_be_in_viewport()


def test_the_drawing_follows_dark_mode_and_fits_the_printed_page(page, loaded):
    page.emulate_media(color_scheme="dark")
    page.goto(ELB)
    trigger = page.locator('.wide-drawing a.mark[href="#event-1"] .shape')
    dark = trigger.evaluate("shape => getComputedStyle(shape).fill")
    shoot(page.locator("figure.timeline-figure"), "timeline-elb-dark")

    page.emulate_media(color_scheme="light", media="print")
    light = trigger.evaluate("shape => getComputedStyle(shape).fill")
    assert dark != light  # colours come from the site's variables, not from the SVG
    box = page.locator(".chart-scroll")
    assert box.evaluate("box => box.scrollWidth <= box.clientWidth")  # nothing cut off on paper
    page.set_viewport_size({"width": 375, "height": 900})
    assert box.evaluate("box => box.scrollWidth <= box.clientWidth")
    expect(page.locator(".narrow-drawing")).to_be_hidden()  # paper takes the full drawing
