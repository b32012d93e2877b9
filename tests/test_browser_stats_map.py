"""The statistics page and the customer map in headless Chromium, at a desk's width and a
phone's, light and dark: nothing widens the page, the map's table fits, its shades stay legible,
and the screenshots are saved to look at."""

import pytest
from playwright.sync_api import expect

from tests.test_browser import loaded, shoot  # noqa: F401 - the shipped fixtures, loaded

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("loaded"),
]

expect.set_options(timeout=10_000)
# Every size and scheme in one test of each page, so the shipped data is loaded once for each.
SIZES = [(1280, "light"), (1280, "dark"), (375, "light"), (375, "dark")]

# The contrast ratio of WCAG 2 of two colours as the browser computes them ("rgb(…)", or
# "color(srgb …)" for a color-mix()), read back through a canvas as sRGB bytes.
CONTRAST = """([first, second]) => {
  const channels = (css) => {
    const probe = document.createElement("canvas").getContext("2d");
    probe.fillStyle = css;
    probe.fillRect(0, 0, 1, 1);
    return [...probe.getImageData(0, 0, 1, 1).data].slice(0, 3);
  };
  const luminance = (css) => {
    const [r, g, b] = channels(css).map((v) => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [luminance(first), luminance(second)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def open_at(page, url, width, scheme):
    """Open `url` on a `width` px screen in `scheme`, and check it does not widen the page."""
    page.set_viewport_size({"width": width, "height": 800})
    page.emulate_media(color_scheme=scheme)
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{url} is {overflow}px wider than a {width}px screen ({scheme})"


def contrast(page, first, second):
    return page.evaluate(CONTRAST, [first, second])


def test_statistics_fit_the_screen_and_show_the_few_times_themselves(page):
    for width, scheme in SIZES:
        check_statistics(page, width, scheme)


def check_statistics(page, width, scheme):
    open_at(page, "/statistics/", width, scheme)
    # The shipped incidents are too few for a median: each time is shown, in plain view.
    section = page.locator("section[aria-labelledby=durations-heading]")
    expect(section.locator("p.too-few")).to_be_visible()
    expect(section.locator("table.chart-table tbody tr").first).to_be_visible()
    expect(section.locator("dt", has_text="Median")).to_have_count(0)
    shoot(page, f"statistics-{width}-{scheme}")


def test_the_map_fits_the_screen_with_legible_shades(page):
    for width, scheme in SIZES:
        check_map(page, width, scheme)


def check_map(page, width, scheme):
    open_at(page, "/map/", width, scheme)
    for box in page.locator(".map-scroll").all():
        # The shipped customers' tables fit: no box scrolling inside the page, either way.
        sizes = box.evaluate(
            "box => [box.scrollWidth - box.clientWidth, box.scrollHeight - box.clientHeight]"
        )
        assert sizes == [0, 0], f"the map scrolls inside its box by {sizes} at {width}px"
    paper = page.evaluate("getComputedStyle(document.body).backgroundColor")
    # Every shade is in the legend, with the colour a number takes on it; the map's cells agree.
    for shade in ["heat-1", "heat-2", "heat-3", "heat-4"]:
        swatch = page.locator(f".heat-legend .heat-swatch.{shade}")
        expect(swatch).to_be_visible()
        background, ink = swatch.evaluate(
            "swatch => [getComputedStyle(swatch).backgroundColor, getComputedStyle(swatch).color]"
        )
        for cell in page.locator(f"table.map td.{shade}").all()[:3]:
            assert cell.evaluate(
                "cell => [getComputedStyle(cell).backgroundColor,"
                " getComputedStyle(cell.querySelector('a')).color]"
            ) == [background, ink]
        # The number reads on its shade (WCAG AA for text) ...
        assert contrast(page, background, ink) >= 4.5, (shade, scheme, background, ink)
        if shade == "heat-1":
            # ... and the lightest shade stands apart from the page.
            assert contrast(page, background, paper) >= 1.4, (scheme, background, paper)
    shoot(page, f"map-{width}-{scheme}")
