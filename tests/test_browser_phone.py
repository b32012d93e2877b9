"""Every list page in headless Chromium at a phone's width and at desktop widths, light and dark:
nothing scrolls sideways, a phone shows each row as a card with its facts in view, and a desktop
shows every column of the incident list. Screenshots are saved to look at."""

from itertools import product
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.shipped import load_shipped

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
expect.set_options(timeout=10_000)

PHONE = 375
DESKTOPS = [1280, 1440, 1920]
SCHEMES = ["light", "dark"]

# One of each kind of list page: (name for the screenshot, URL). All but the customers, a grid
# of names, hold a list of rows: a table on a desktop, cards on a phone.
LIST_PAGES = [
    ("home", "/"),
    ("incidents", "/incidents/"),
    ("search", "/incidents/?q=netflix"),
    ("provider", "/providers/aws/"),
    ("service", "/providers/aws/services/elb/"),
    ("region", "/providers/aws/regions/us-east-1/"),
    ("customer", "/customers/netflix/"),
    ("customers", "/customers/"),
    ("providers", "/providers/"),
    ("stack", "/my-stack/?provider=aws&service=google-cloud.app-engine"),
]
WITHOUT_ROWS = {"customers"}

# Elements reaching past the right edge of the window (or wider than it), each described.
OVERFLOWING = """() => [...document.body.querySelectorAll('*')]
    .filter(e => { const r = e.getBoundingClientRect();
                   return r.width > innerWidth || r.right > innerWidth + 0.5; })
    .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
              + ' ' + (e.textContent || '').trim().slice(0, 40))"""


@pytest.fixture
def loaded(transactional_db):
    load_shipped()
    call_command("update_search_index", verbosity=0)


def visit(page, url, sizes):
    """Load the page once and yield at each (width, scheme): public pages run no script, so
    their layout follows the window and the colour scheme as they change, as a new load at that
    size would lay it out."""
    for number, (width, scheme) in enumerate(sizes):
        page.set_viewport_size({"width": width, "height": 800})
        page.emulate_media(color_scheme=scheme)
        if not number:
            page.goto(url)
            expect(page.get_by_role("heading", level=1)).to_have_count(1)
        yield width, scheme


def sideways(page, name):
    """Whether the page scrolls sideways (its own extra width), or any element pokes out."""
    root = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    wide = page.evaluate(OVERFLOWING)
    return [f"{name}: {root}px too wide, because of {wide[:5]}"] if root > 0 or wide else []


def shoot(page, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"lists-{name}.png", full_page=True)


# What card_problems() checks of each list, read in one call: one round trip to the browser
# per page instead of several per cell. Visible as Playwright means it: a box with a size and
# not visibility:hidden.
CARDS = """() => {
    const visible = e => { const r = e.getBoundingClientRect();
                           return r.width > 0 && r.height > 0
                                  && getComputedStyle(e).visibility !== 'hidden'; };
    return [...document.querySelectorAll('.list-table table')].map(table => ({
        columns: [...table.querySelectorAll('thead th')].map(th => th.textContent.trim()),
        rows: [...table.querySelectorAll('tbody tr')].map(row => {
            const title = row.querySelector('th[scope=row] a');
            const date = row.querySelector('td[data-label=Started] time');
            return {
                title: title && title.innerText,
                titleVisible: !!title && visible(title),
                display: getComputedStyle(row).display,
                labels: [...row.querySelectorAll('td')].map(c => c.getAttribute('data-label')),
                cells: [...row.querySelectorAll('td:not(.nothing-else)')].map(cell => {
                    const box = cell.getBoundingClientRect();
                    return {label: cell.getAttribute('data-label'), x: box.x, width: box.width,
                            shown: getComputedStyle(cell, '::before').content,
                            visible: visible(cell), text: cell.innerText.trim()};
                }),
                dateVisible: !!date && visible(date),
            };
        }),
    }));
}"""


def card_problems(page, name):
    """Why a card on this page does not show its title, its date and its facts in full view."""
    problems = []
    tables = page.evaluate(CARDS)
    assert len(tables) == (name not in WITHOUT_ROWS), f"{name}: {len(tables)} lists"
    for table in tables:
        columns = table["columns"]
        assert table["rows"], f"{name}: an empty list"
        for row in table["rows"]:
            assert row["title"] is not None, f"{name}: a row without a title link"
            what = f"{name}: {row['title']!r}"
            if row["display"] == "table-row":
                problems.append(f"{what} is a table row, not a card")
            if not row["titleVisible"]:
                problems.append(f"{what}: title not visible")
            if row["labels"] != columns[1:]:
                problems.append(f"{what}: facts {row['labels']}, columns {columns[1:]}")
            # A card leaves out "Other services: —" on a service's page (and so for regions).
            for cell in row["cells"]:
                label = cell["label"]
                if not cell["visible"] or not cell["text"]:
                    problems.append(f"{what}: {label} not shown")
                elif cell["x"] < 0 or cell["x"] + cell["width"] > PHONE:
                    problems.append(f"{what}: {label} outside the screen")
                elif label not in cell["shown"]:
                    problems.append(f"{what}: {label} has no name beside it ({cell['shown']})")
            if "Started" in columns and not row["dateVisible"]:
                problems.append(f"{what}: no date in view")
    return problems


def test_on_a_phone_each_list_row_is_a_card_with_its_facts_and_nothing_scrolls_sideways(
    page, loaded
):
    # Both schemes in one test, so the shipped data loads once.
    problems = []
    for name, url in LIST_PAGES:
        for _, scheme in visit(page, url, product([PHONE], SCHEMES)):
            problems += sideways(page, name) + card_problems(page, name)
            shoot(page, f"{name}-{PHONE}-{scheme}")

    assert not problems, "\n".join(problems)


def test_on_a_desktop_lists_are_tables_that_show_every_column(page, loaded):
    problems = []
    # Every width and scheme in one test, so the shipped data is loaded once.
    for name, url in LIST_PAGES:
        for width, scheme in visit(page, url, product(DESKTOPS, SCHEMES)):
            problems += sideways(page, f"{name} at {width}px, {scheme}")
            for box in page.locator(".list-table .table-scroll").all():
                row = box.locator("tbody tr").first
                if row.evaluate("row => getComputedStyle(row).display") != "table-row":
                    problems.append(f"{name}: a list is cards at {width}px ({scheme})")
                # The last column header lies inside its table's box, which does not scroll.
                last = box.locator("thead th").last
                header, frame = last.bounding_box(), box.bounding_box()
                if header["x"] + header["width"] > min(frame["x"] + frame["width"], width) + 0.5:
                    problems.append(f"{name}: {last.inner_text()!r} is cut off at {width}px")
                if box.evaluate("box => box.scrollWidth - box.clientWidth") > 0:
                    problems.append(f"{name}: the table scrolls sideways in its box at {width}px")
            shoot(page, f"{name}-{width}-{scheme}")

    assert not problems, "\n".join(problems)
