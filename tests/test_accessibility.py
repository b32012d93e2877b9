"""axe-core in headless Chromium: no serious or critical accessibility violations on any kind
of public page, at a desktop (1280 px) and a phone (375 px) width, in light and dark mode; and
no page scrolls sideways. A screenshot of each is kept in screenshots/ to be looked at.

axe-core is an npm dev dependency (package.json; `make install` runs `npm ci`). Without it, and
without Chromium (see conftest.py), these tests skip with the reason rather than fail.
"""

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from outages.models import Source
from tests.shipped import load_shipped
from tests.test_archive_pages import versions

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_SOURCE = f"{AXE.read_text()}\n;0" if AXE.exists() else ""
SCREENSHOTS = ROOT / "screenshots"
BLOCKING = {"serious", "critical"}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
if not AXE.exists():
    pytestmark.append(
        pytest.mark.skip(
            reason="axe-core needs npm, which is not installed (install Node.js and npm)"
            if shutil.which("npm") is None
            else f"axe-core is not installed at {AXE.relative_to(ROOT)}: "
            "run `npm ci --no-audit --no-fund` (`make install` does)"
        )
    )

# One of each kind of public page: (name for the screenshot, URL, expected status).
PAGES = [
    ("home", "/", 200),
    ("incidents", "/incidents/", 200),
    ("search", "/incidents/?q=netflix", 200),
    ("filter-error", "/incidents/?provider=nope", 200),
    ("incident-elb", "/incidents/aws-elb-us-east-2012-12-24/", 200),
    ("incident-elb-version-1", "/incidents/aws-elb-us-east-2012-12-24/v/1/", 200),
    ("providers", "/providers/", 200),
    ("provider-aws", "/providers/aws/", 200),
    ("service-elb", "/providers/aws/services/elb/", 200),
    ("region-us-east-1", "/providers/aws/regions/us-east-1/", 200),
    ("customers", "/customers/", 200),
    ("customer-netflix", "/customers/netflix/", 200),
    ("statistics", "/statistics/", 200),
    ("map", "/map/", 200),
    ("my-stack", "/my-stack/?provider=aws", 200),
    ("my-stack-empty", "/my-stack/", 200),
    (
        "my-stack-unknown",
        "/my-stack/?service=aws.elb&region=google-cloud.us-east1&region=nope",
        200,
    ),
    ("not-found", "/no-such-page/", 404),
    # The source archive, from archived_pages below (copies exist only in this test).
    ("archived-copy", "/archive/{copy}/", 200),
    ("archived-changes", "/archive/{copy}/changes/", 200),
]


@pytest.fixture
def shipped(transactional_db):
    load_shipped()
    call_command("update_search_index", verbosity=0)


# Test content in the shape of a provider's page: long lines, a long unbroken address, a list.
ARCHIVED = """<html><body><h1>Test page for the archive</h1>
<p>This is test content, not the provider's words. {change}</p>
<p>https://status.example.com/incidents/a-very-long-address-without-any-space-in-it-at-all-to-wrap</p>
<ul><li>First point of the test page.</li><li>Second point.</li></ul></body></html>"""


@pytest.fixture
def archived_pages(shipped):
    """Two versions of a source of the ELB incident: {"copy": the pk of the second}."""
    source = Source.objects.get(url="https://aws.amazon.com/message/680587/")
    _, second = versions(
        source,
        ARCHIVED.format(change="Recovery took a while."),
        ARCHIVED.format(change="Recovery took until 12:05 PM PST on December 25th, 2012."),
    )
    return {"copy": second.pk}


def describe(name, width, violation):
    nodes = "".join(
        f"\n      {' '.join(map(str, node['target']))}: {node['html'][:160]}"
        for node in violation["nodes"]
    )
    return (
        f"{name} ({width} px) [{violation['impact']}] {violation['id']}: {violation['help']}"
        f" <{violation['helpUrl']}>{nodes}"
    )


# The page's own width, as the browser lays it out: wider than the window means the reader
# scrolls the whole page sideways.
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


# Every width and scheme in one test, so the shipped data loads once (a load and a flush cost
# seconds each, and make test has a time budget).
SIZES = [(1280, "light"), (1280, "dark"), (375, "light"), (375, "dark")]


def test_no_serious_or_critical_axe_violations(page, archived_pages):
    SCREENSHOTS.mkdir(exist_ok=True)
    problems = []
    for width, scheme in SIZES:
        page.set_viewport_size({"width": width, "height": 800})
        page.emulate_media(color_scheme=scheme)
        problems += check_pages(page, archived_pages, width, scheme)

    assert not problems, f"{len(problems)} problems (serious or critical axe violations):\n" + (
        "\n".join(problems)
    )


def check_pages(page, archived_pages, width, scheme, pages=PAGES, prefix="a11y-"):
    problems = []
    for name, url, status in pages:
        url = url.format(**archived_pages)
        response = page.goto(url)
        if response.status != status:
            # Noted, and the page checked all the same, so one run reports every problem.
            problems.append(f"{name} ({width} px): {url} answered {response.status}, not {status}")
        problems += page_problems(page, name, width, scheme)
        page.screenshot(path=SCREENSHOTS / f"{prefix}{name}-{width}-{scheme}.png", full_page=True)
    return problems


def page_problems(page, name, width, scheme):
    """What is wrong with the page open in `page`: it scrolls sideways, or axe-core finds a
    serious or critical violation."""
    problems = []
    if (overflow := page.evaluate(OVERFLOW)) > 0:
        problems.append(f"{name} ({width} px, {scheme}): scrolls sideways by {overflow} px")
    # Evaluated through the DevTools protocol: the site's Content-Security-Policy rightly
    # refuses an injected <script> element, and the check must not weaken the policy.
    page.evaluate(AXE_SOURCE)
    # Every rule runs; only violations are gathered in full (passes cost time on big pages).
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return problems + [
        describe(f"{name} ({scheme})", width, violation)
        for violation in results["violations"]
        if violation["impact"] in BLOCKING
    ]
