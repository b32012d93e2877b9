"""A figure in headless Chromium: a publisher uploads a graph to an incident, pastes the
Markdown the admin shows into the summary, and readers see the image on the incident page,
under the site's Content-Security-Policy."""

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from outages.models import Figure, Incident
from tests.test_browser_editing import draft, log_in, staff_user  # noqa: F401 (draft: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
expect.set_options(timeout=10_000)


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def incident(draft):  # noqa: F811 - the fixture imported above
    Incident.objects.filter(pk=draft.pk).update(
        status=Incident.Status.PUBLISHED, published_at=datetime(2013, 1, 2, tzinfo=UTC)
    )
    return draft


def graph_png(width=2400, height=1000):
    """A line graph as editors upload them: wider than the site keeps."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(80, 80), (80, height - 80), (width - 80, height - 80)], fill="black", width=6)
    points = [
        (80 + step * (width - 160) // 12, height - 120 - (step % 5) * 150) for step in range(13)
    ]
    draw.line(points, fill=(200, 40, 40), width=10)
    output = io.BytesIO()
    image.save(output, "PNG")
    return output.getvalue()


def test_an_uploaded_figure_referenced_in_the_summary_shows_on_the_incident_page(
    page, incident, roles
):
    staff_user("pablo", "Publishers")
    violations = []
    page.on("console", lambda message: violations.append(message.text))
    log_in(page, "pablo")

    change_url = f"/admin/outages/incident/{incident.pk}/change/"
    page.goto(change_url)
    page.get_by_role("button", name="Add another Figure").click()
    figure = page.locator("#figures-0")
    figure.get_by_label("Position").fill("1")
    figure.get_by_label("Alt text").fill("Error rate by minute: a peak, then a slow fall")
    figure.get_by_label("Caption").fill("Errors per minute")
    figure.get_by_label("Image").set_input_files(
        {"name": "graph.png", "mimeType": "image/png", "buffer": graph_png()}
    )
    page.get_by_role("button", name="Save and continue editing").first.click()
    markdown = page.locator(".figure-markdown")
    expect(markdown).to_have_value(Figure.objects.get().markdown)
    expect(page.locator(".figure-thumbnail")).to_be_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator("#figures-group").screenshot(path=SCREENSHOTS / "figures-admin-inline.png")

    summary = page.locator("#id_summary")
    summary.fill(f"{summary.input_value()}\n\n# Errors\n\n{markdown.input_value()}")
    page.get_by_role("button", name="Save and continue editing").first.click()
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")

    reader = page.context.browser.new_context(base_url=page.url.split("/admin/")[0])
    public = reader.new_page()
    for width, height, scheme in [
        (1280, 800, "light"),
        (1280, 800, "dark"),
        (375, 740, "light"),
        (375, 740, "dark"),
    ]:
        public.set_viewport_size({"width": width, "height": height})
        public.emulate_media(color_scheme=scheme)
        public.goto(incident.get_absolute_url())
        # The editor's "# Errors" sits under the page's section heading (h2), never above it.
        expect(public.get_by_role("heading", name="Errors", level=3)).to_be_visible()
        image = public.get_by_role("img", name="Error rate by minute: a peak, then a slow fall")
        expect(public.locator(".prose figcaption")).to_have_text("Errors per minute")
        expect(image).to_be_visible()
        # Loaded, not a broken icon: the file was served and the policy let it in.
        assert image.evaluate("img => img.complete && img.naturalWidth") == 1600
        image.scroll_into_view_if_needed()
        box = image.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        public.screenshot(
            path=SCREENSHOTS / f"figures-incident-{width}-{scheme}.png", full_page=False
        )
    reader.close()
    assert not [text for text in violations if "Content Security Policy" in text]
