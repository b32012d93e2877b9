"""The promise ledger in headless Chromium at a desktop (1280 px) and a phone (375 px) width, in
light and dark mode: no serious or critical axe violations, no sideways scrolling, and a
screenshot of each kept in screenshots/ to be looked at."""

import pytest

from tests.test_accessibility import (
    AXE,
    AXE_SOURCE,
    BLOCKING,
    OVERFLOW,
    SCREENSHOTS,
    SIZES,
    describe,
    shipped,  # noqa: F401 (a fixture)
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
if not AXE.exists():
    pytestmark.append(pytest.mark.skip(reason="axe-core is not installed (see test_accessibility)"))

PAGES = [
    ("ledger", "/ledger/", 200),
    ("ledger-aws-2012", "/ledger/aws/?year=2012", 200),
    ("ledger-filter-error", "/ledger/?year=abc", 400),
]


def test_the_ledger_is_accessible_at_both_widths_in_both_schemes(page, shipped):  # noqa: F811
    SCREENSHOTS.mkdir(exist_ok=True)
    problems = []
    for width, scheme in SIZES:
        page.set_viewport_size({"width": width, "height": 800})
        page.emulate_media(color_scheme=scheme)
        for name, url, status in PAGES:
            response = page.goto(url)
            if response.status != status:
                problems.append(f"{name}: {url} answered {response.status}, not {status}")
            if (overflow := page.evaluate(OVERFLOW)) > 0:
                problems.append(f"{name} ({width} px, {scheme}): scrolls sideways by {overflow} px")
            page.evaluate(AXE_SOURCE)
            results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            problems += [
                describe(f"{name} ({scheme})", width, violation)
                for violation in results["violations"]
                if violation["impact"] in BLOCKING
            ]
            page.screenshot(path=SCREENSHOTS / f"{name}-{width}-{scheme}.png", full_page=True)
    assert not problems, "\n".join(problems)
