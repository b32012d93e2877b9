from xml.etree import ElementTree

import pytest

from outages.models import Customer, CustomerImpact, Incident

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def sections(client):
    """The addresses of the sitemaps that /sitemap.xml, an index, lists."""
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{SITEMAP}sitemapindex"
    return [item.findtext(f"{SITEMAP}loc") for item in root.iter(f"{SITEMAP}sitemap")]


def urls(client):
    """{location: lastmod or None} of every URL in every sitemap of the index."""
    found = {}
    for address in sections(client):
        response = client.get(address.removeprefix("http://testserver"))
        assert response.status_code == 200
        root = ElementTree.fromstring(response.content)
        found.update(
            (url.findtext(f"{SITEMAP}loc"), url.findtext(f"{SITEMAP}lastmod"))
            for url in root.iter(f"{SITEMAP}url")
        )
    return found


def test_sitemap_lists_published_incidents_with_lastmod_and_every_public_page(
    client, incident, provider, service, region, customer
):
    found = urls(client)

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

    found = urls(client)

    assert f"http://testserver{shown.get_absolute_url()}" in found
    assert f"http://testserver{draft.get_absolute_url()}" not in found
    assert "http://testserver/customers/hidden/" not in found
    assert "http://testserver/customers/never-named/" not in found


@pytest.mark.parametrize("count", [1, 5])
def test_sitemap_query_count_does_not_grow(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    # The index: the newest change of an incident, and a count of each of the five kinds.
    with django_assert_num_queries(6):
        addresses = sections(client)
    # Each sitemap: a count and a page of rows (the fixed list of list pages needs neither).
    for address in addresses:
        expected = 0 if address.endswith("sitemap-lists.xml") else 2
        with django_assert_num_queries(expected):
            client.get(address.removeprefix("http://testserver"))


def test_sitemaps_come_in_pages_of_a_bounded_size(client, make_incidents, monkeypatch):
    from outages.web import sitemaps

    make_incidents(3)
    monkeypatch.setattr(sitemaps.IncidentSitemap, "limit", 2)

    addresses = sections(client)

    assert "http://testserver/sitemap-incidents.xml" in addresses
    assert "http://testserver/sitemap-incidents.xml?p=2" in addresses
    assert len(urls(client)) >= 3 + 4


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
