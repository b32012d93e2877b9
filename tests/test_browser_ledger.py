"""The promise ledger in headless Chromium at a desktop (1280 px) and a phone (375 px) width, in
light and dark mode: no serious or critical axe violations, no sideways scrolling, and a
screenshot of each kept in screenshots/ (ledger-*.png) to be looked at."""

import pytest

from tests.test_accessibility import (
    AXE,
    SCREENSHOTS,
    SIZES,
    check_pages,
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
        problems += check_pages(page, {}, width, scheme, pages=PAGES, prefix="")
    assert not problems, "\n".join(problems)
