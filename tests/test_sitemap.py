from xml.etree import ElementTree

import pytest

from outages.models import Customer, CustomerImpact, Incident

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def urls(response):
    """{location: lastmod or None} of every URL in the sitemap."""
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    return {
        url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod")
        for url in root.iter(f"{SITEMAP}url")
    }


def test_sitemap_lists_published_incidents_with_lastmod_and_every_public_page(
    client, incident, provider, service, region, customer
):
    found = urls(client.get("/sitemap.xml"))

    assert found[f"http://testserver{incident.get_absolute_url()}"] == (
        incident.updated_at.date().isoformat()
    )
    for obj in (provider, service, region, customer):
        assert f"http://testserver{obj.get_absolute_url()}" in found
    for path in ("/", "/incidents/", "/providers/", "/customers/"):
        assert f"http://testserver{path}" in found


def test_drafts_and_their_customers_are_absent(client, make_incidents):
    shown, draft = make_incidents(2)
    Incident.objects.filter(pk=draft.pk).update(status=Incident.Status.DRAFT)
    only_in_draft = Customer.objects.create(name="Hidden", slug="hidden")
    CustomerImpact.objects.create(
        incident=draft, customer=only_in_draft, level="outage", description="Down."
    )
    Customer.objects.create(name="Never named", slug="never-named")

    found = urls(client.get("/sitemap.xml"))

    assert f"http://testserver{shown.get_absolute_url()}" in found
    assert f"http://testserver{draft.get_absolute_url()}" not in found
    assert "http://testserver/customers/hidden/" not in found
    assert "http://testserver/customers/never-named/" not in found


@pytest.mark.parametrize("count", [1, 5])
def test_sitemap_query_count_does_not_grow(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    # A count and a page of rows for each of: 1-2 incidents, 3-4 providers,
    # 5-6 services with providers, 7-8 regions with providers, 9-10 customers.
    with django_assert_num_queries(10):
        client.get("/sitemap.xml")


def test_robots_txt_points_at_the_sitemap_and_keeps_out_of_the_admin(client):
    response = client.get("/robots.txt")

    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "User-agent: *" in lines
    assert "Disallow: /admin/" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines


def test_robots_txt_names_the_host_and_scheme_it_was_asked_for(client, settings):
    settings.ALLOWED_HOSTS = ["postmortems.example"]

    response = client.get("/robots.txt", secure=True, headers={"host": "postmortems.example"})

    assert "Sitemap: https://postmortems.example/sitemap.xml" in response.content.decode()
