"""No script from an archived page runs on this site's origin: a raw copy is served inert
(CSP sandbox), and the copy's page shows its text, never its markup. Checked in a real browser
with a stored page whose scripts would change the title and set window.x if they ran."""

import pytest

from outages.models import Incident
from tests.factories import IncidentFactory, SourceFactory
from tests.test_archive_pages import archive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Archived test page"
# Every way a page can run script: inline, a same-origin file (another raw copy, which the
# site's own policy, script-src 'self', would allow), an event handler and a javascript: URL.
PAGE = """<!doctype html><html><head><title>{title}</title>
<script>document.title = "inline script ran"; window.x = 1;</script>
<script src="{script}"></script>
</head><body onload="document.title = 'onload ran'; window.x = 3;">
<h1>Test content for the archive</h1>
<p>Recovered at 12:45.</p>
<img src="/no-such-image" onerror="window.x = 4">
<iframe src="javascript:parent.x = 5"></iframe>
</body></html>"""
SCRIPT = 'document.title = "same-origin script ran"; window.x = 2;'


@pytest.fixture
def stored_page(transactional_db):
    source = SourceFactory(url="https://status.example.com/incidents/test-page")
    IncidentFactory(status=Incident.Status.PUBLISHED).sources.add(source)
    script = archive(
        source, SCRIPT, url="https://status.example.com/app.js", content_type="text/javascript"
    )
    body = PAGE.format(title=TITLE, script=f"/archive/{script.pk}/raw")
    return archive(source, body, content_type="text/html; charset=utf-8"), body


def ran(page):
    return page.evaluate("[document.title, typeof window.x]")


def test_the_stored_scripts_would_run_anywhere_else(page, stored_page):
    # The control: without the archive's headers, the page's inline script does run.
    _, body = stored_page
    page.set_content(body)

    assert ran(page) != [TITLE, "undefined"]


def test_no_script_of_a_raw_copy_runs(page, stored_page):
    copy, _ = stored_page

    response = page.goto(f"/archive/{copy.pk}/raw")
    page.wait_for_load_state("load")

    assert response.status == 200
    assert "sandbox" in response.headers["content-security-policy"]
    assert page.locator("h1").inner_text() == "Test content for the archive"
    assert ran(page) == [TITLE, "undefined"]


def test_the_copy_page_shows_the_text_and_runs_none_of_it(page, stored_page):
    copy, _ = stored_page

    page.goto(f"/archive/{copy.pk}/")
    page.wait_for_load_state("load")

    assert "Recovered at 12:45." in page.locator(".archived-text").inner_text()
    title, x = ran(page)
    assert title.startswith("Archived copy of")
    assert x == "undefined"
