"""Figures: uploaded in the admin (checked by their content, resized, metadata stripped),
kept in the incident's history, changed only by those who may change the incident, and served
with headers that let a browser only show them."""

import importlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from reversion.models import Version

from outages.images import MAX_WIDTH
from outages.models import Figure, Incident
from postmortems.environment import media_storage
from tests.test_search import admin_form_data
from tests.test_workflow import (
    change_url,
    editor,  # noqa: F401 - a fixture, taken by the tests below
)

ORIENTATION, MAKE, GPS = 0x0112, 0x010F, 0x8825


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def png_with_metadata(width, height):
    image = Image.new("RGB", (width, height), (200, 40, 40))
    exif = Image.Exif()
    exif[MAKE] = "Secret Camera"
    exif[GPS] = {1: "N", 2: (38.0, 53.0, 0.0)}
    output = io.BytesIO()
    image.save(output, "PNG", exif=exif.tobytes(), pnginfo=text_chunk("Author", "A. Person"))
    return output.getvalue()


def text_chunk(key, value):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info


def figure_form(client, incident, upload, alt="Requests by minute", caption=""):
    data = admin_form_data(client.get(change_url(incident)))
    data.update(
        {
            "figures-TOTAL_FORMS": "1",
            "figures-INITIAL_FORMS": "0",
            "figures-0-position": "1",
            "figures-0-alt_text": alt,
            "figures-0-caption": caption,
            "figures-0-image": upload,
        }
    )
    return data


def upload(name, content):
    return SimpleUploadedFile(name, content, content_type="image/png")


def test_an_uploaded_png_is_resized_and_its_metadata_stripped(admin_client, incident):
    raw = png_with_metadata(MAX_WIDTH * 2, 900)
    assert b"Secret Camera" in raw and b"A. Person" in raw

    response = admin_client.post(
        change_url(incident), figure_form(admin_client, incident, upload("graph.png", raw))
    )

    assert response.status_code == 302
    figure = Figure.objects.get(incident=incident)
    with figure.image.open("rb") as file:
        stored = file.read()
    image = Image.open(io.BytesIO(stored))
    assert image.format == "PNG"
    assert image.size == (MAX_WIDTH, 450) == (figure.width, figure.height)
    assert not image.getexif()
    assert b"Secret Camera" not in stored and b"A. Person" not in stored
    assert image.info.keys() <= {"dpi"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "diagram.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "SVG is not accepted",
        ),
        ("diagram.png", b'<?xml version="1.0"?>\n<svg><rect/></svg>', "SVG is not accepted"),
        ("notes.png", b"These are plain notes, not an image.", "not a PNG, JPEG, WebP or GIF"),
        ("cut.png", png_with_metadata(40, 40)[:60], "not a PNG, JPEG, WebP or GIF"),
    ],
)
def test_what_is_not_a_raster_image_is_refused_with_a_message(
    admin_client, incident, name, content, message
):
    response = admin_client.post(
        change_url(incident), figure_form(admin_client, incident, upload(name, content))
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Figure.objects.exists()


def test_a_figure_needs_alt_text(admin_client, incident):
    data = figure_form(admin_client, incident, upload("g.png", png_with_metadata(20, 20)), alt="")

    response = admin_client.post(change_url(incident), data)

    assert response.status_code == 200
    assert not Figure.objects.exists()


def test_the_admin_shows_the_markdown_to_paste(admin_client, incident):
    data = figure_form(
        admin_client,
        incident,
        upload("g.png", png_with_metadata(20, 20)),
        alt="Load [per] minute",
        caption="Requests",
    )
    admin_client.post(change_url(incident), data)
    figure = Figure.objects.get()

    html = admin_client.get(change_url(incident)).content.decode()

    expected = f'![Load \\[per\\] minute]({figure.src} "Requests")'
    assert figure.markdown == expected
    assert figure.src.startswith("/media/figures/") and figure.src.endswith(".png")
    assert expected.replace('"', "&quot;") in html


def test_adding_a_figure_records_a_revision_of_the_incident(admin_client, incident):
    admin_client.post(
        change_url(incident),
        figure_form(admin_client, incident, upload("g.png", png_with_metadata(20, 20))),
    )
    figure = Figure.objects.get()

    newest = Version.objects.get_for_object(incident).first()
    stored = Version.objects.get_for_object(figure)
    assert [version.revision for version in stored] == [newest.revision]
    assert stored[0].field_dict["alt_text"] == "Requests by minute"


def test_an_editor_adds_a_figure_to_a_draft_but_not_to_a_published_incident(
    client,
    editor,  # noqa: F811 - the fixture imported above
    make_incidents,
):
    published, draft = make_incidents(2)
    Incident.objects.filter(pk=draft.pk).update(status=Incident.Status.DRAFT)
    client.force_login(editor)
    picture = png_with_metadata(20, 20)

    refused = client.post(
        change_url(published), figure_form(client, published, upload("g.png", picture))
    )
    accepted = client.post(change_url(draft), figure_form(client, draft, upload("g.png", picture)))

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert list(Figure.objects.values_list("incident", flat=True)) == [draft.pk]


@pytest.fixture
def served_figure(admin_client, incident):
    admin_client.post(
        change_url(incident),
        figure_form(admin_client, incident, upload("g.png", png_with_metadata(30, 20))),
    )
    return Figure.objects.get()


def test_a_figure_is_served_as_an_image_with_safe_headers(client, served_figure):
    response = client.get(served_figure.src)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline;")
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    body = b"".join(response.streaming_content)
    response.close()
    assert Image.open(io.BytesIO(body)).size == (30, 20)


def test_the_figures_of_a_draft_are_not_served_to_readers(client, admin_client, served_figure):
    Incident.objects.update(status=Incident.Status.DRAFT)

    assert client.get(served_figure.src).status_code == 404
    response = admin_client.get(served_figure.src)
    response.close()  # the file it streams
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/media/figures/nothing.png", "/media/../settings.py", "/media/"])
def test_unknown_media_addresses_are_not_found(client, served_figure, path):
    assert client.get(path).status_code == 404


def test_the_s3_setting_configures_an_s3_storage(monkeypatch):
    for name, value in {
        "S3_BUCKET": "figures",
        "S3_ENDPOINT_URL": "https://objects.example.net",
        "S3_REGION": "eu-central-1",
        "S3_ACCESS_KEY_ID": "key-id",
        "S3_SECRET_ACCESS_KEY": "secret",
    }.items():
        monkeypatch.setenv(name, value)

    storage = media_storage()

    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == "figures"
    assert storage["OPTIONS"]["endpoint_url"] == "https://objects.example.net"
    assert storage["OPTIONS"]["region_name"] == "eu-central-1"
    assert storage["OPTIONS"]["access_key"] == "key-id"
    assert storage["OPTIONS"]["secret_key"] == "secret"
    assert storage["OPTIONS"]["file_overwrite"] is False


def test_without_a_bucket_figures_are_local_files(monkeypatch):
    monkeypatch.delenv("S3_BUCKET", raising=False)

    assert media_storage() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def gif(frames):
    images = [Image.new("RGB", (20, 20), (60 * index, 0, 0)) for index in range(frames)]
    output = io.BytesIO()
    images[0].save(output, "GIF", save_all=True, append_images=images[1:], duration=100)
    return output.getvalue()


def png_declaring(width, height):
    """A small file whose header claims a huge image (its pixel data is cut short)."""
    image = Image.new("1", (width, height))
    output = io.BytesIO()
    image.save(output, "PNG")
    return output.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (gif(3), "Animated images are not accepted"),
        (png_declaring(10_000, 6_000), "figures may have at most"),
    ],
)
def test_animations_and_huge_images_are_refused_with_a_message(
    admin_client, incident, content, message
):
    response = admin_client.post(
        change_url(incident), figure_form(admin_client, incident, upload("a.gif", content))
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Figure.objects.exists()


def test_a_still_gif_is_stored_as_a_png(admin_client, incident):
    admin_client.post(
        change_url(incident), figure_form(admin_client, incident, upload("a.gif", gif(1)))
    )

    figure = Figure.objects.get()
    assert figure.image.name.endswith(".png")
    with figure.image.open("rb") as file:
        assert Image.open(file).format == "PNG"


def test_the_migration_renders_stored_html_again(incident):
    from django.apps import apps

    migration = importlib.import_module("outages.migrations.0010_figures")
    Incident.objects.filter(pk=incident.pk).update(
        summary="# Graphs\n\n![Error rate](https://example.com/graph.png)",
        summary_html="<p>stale</p>",
    )
    unchanged = Incident.objects.get(pk=incident.pk).root_cause_html

    migration.rerender(apps, None)

    incident.refresh_from_db()
    assert incident.summary_html == "<h3>Graphs</h3>\n<p>Error rate</p>"
    assert incident.root_cause_html == unchanged


def test_an_editor_sees_the_figures_of_a_published_incident_read_only(
    client,
    editor,  # noqa: F811 - the fixture imported above
    incident,
    served_figure,
):
    client.force_login(editor)

    response = client.get(change_url(incident))

    html = response.content.decode()
    assert response.status_code == 200
    assert served_figure.src in html
    assert 'name="figures-0-alt_text"' not in html
