"""The "Cite this" box and a version page on a phone (375 px), light and dark: the permanent
address, the citation and its formats wrap within the screen, the formats open without a
script, and the version page says which version it is. Screenshots are saved to look at."""

import pytest
from playwright.sync_api import expect

from tests.shipped import load_shipped
from tests.test_browser_phone import PHONE, SCHEMES, SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ELB = "/incidents/aws-elb-us-east-2012-12-24/"
# Elements within `selector` reaching past the right edge of the window, each described.
OUT_OF_VIEW = """(selector) => [...document.querySelectorAll(selector + ', ' + selector + ' *')]
    .filter(e => { const r = e.getBoundingClientRect();
                   return r.width > innerWidth || r.right > innerWidth + 0.5; })
    .map(e => e.tagName.toLowerCase() + ' ' + (e.textContent || '').trim().slice(0, 40))"""


def sideways(page, selector):
    return page.evaluate(OUT_OF_VIEW, selector)


@pytest.fixture
def loaded(transactional_db):
    load_shipped()  # a real load of the fixtures: version 1 of each published incident


def test_the_cite_box_fits_a_phone(page, loaded):
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.goto(ELB)
    box = page.locator("section.cite-box")
    expect(box.get_by_role("heading", name="Cite this")).to_be_visible()
    expect(box.get_by_role("link", name=f"{ELB}v/1/")).to_have_count(1)
    for name in ["BibTeX", "CSL-JSON"]:
        box.locator("summary", has_text=name).click()
    expect(box.locator("pre").first).to_contain_text("@misc{aws-elb-us-east-2012-12-24-v1,")
    expect(box.locator("pre").last).to_contain_text('"date-parts"')

    problems = []
    SCREENSHOTS.mkdir(exist_ok=True)
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        problems += sideways(page, "section.cite-box")
        box.screenshot(path=SCREENSHOTS / f"cite-box-{PHONE}-{scheme}.png")

    page.goto(f"{ELB}v/1/")
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.locator(".version-banner")).to_contain_text("The current version.")
    problems += sideways(page, ".version-banner")
    page.screenshot(path=SCREENSHOTS / f"version-{PHONE}.png", full_page=True)
    assert not problems
