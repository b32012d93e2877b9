import pytest

from outages.models import Customer, Incident


def test_provider_page_lists_incidents_services_and_regions(
    client, incident, provider, service, region
):
    html = client.get(provider.get_absolute_url()).content.decode()

    assert f'href="{incident.get_absolute_url()}"' in html
    assert f'href="{service.get_absolute_url()}"' in html
    assert f'href="{region.get_absolute_url()}"' in html


def test_service_page_lists_its_incidents(client, incident, service):
    html = client.get(service.get_absolute_url()).content.decode()

    assert f'href="{incident.get_absolute_url()}"' in html
    assert f'href="{service.provider.get_absolute_url()}"' in html


def test_region_page_lists_its_incidents(client, incident, region):
    html = client.get(region.get_absolute_url()).content.decode()

    assert f'href="{incident.get_absolute_url()}"' in html


def test_provider_that_is_also_a_customer_links_to_its_customer_page(client, incident, provider):
    also = Customer.objects.create(
        name=provider.name, slug="example-customer", provider=provider, published=True
    )

    html = client.get(provider.get_absolute_url()).content.decode()

    assert f'href="{also.get_absolute_url()}"' in html


def test_drafts_are_hidden(client, incident, provider, service, region):
    Incident.objects.update(status=Incident.Status.DRAFT)

    for url in [
        provider.get_absolute_url(),
        service.get_absolute_url(),
        region.get_absolute_url(),
        "/providers/",
    ]:
        assert incident.title not in client.get(url).content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/providers/nope/",
        "/providers/example-cloud/services/nope/",
        "/providers/nope/services/lb/",
        "/providers/example-cloud/regions/nope/",
    ],
)
def test_unknown_slugs_are_404(client, service, region, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("count", [1, 30])
def test_query_counts_do_not_grow_with_incidents(
    client, make_incidents, count, django_assert_num_queries, provider, service, region
):
    make_incidents(count)
    # 1 provider, 2 its number of incidents (kept), 3 the strip's incidents (slug, title,
    # start), 4 incidents with providers, 5 their services, 6 their regions, 7 customers hit,
    # 8 services with counts, 9 regions with counts (kept). Past strips.STRIP_MARKS incidents,
    # one more: the strip's years (kept).
    with django_assert_num_queries(9):
        client.get(provider.get_absolute_url())
    # 1 service (or region) with provider, 2 its number of incidents (kept), 3 the strip's
    # incidents (slug, title, start), 4 incidents, 5-7 their services, regions and customers
    # hit. Past strips.STRIP_MARKS incidents, one more: the strip's years (kept).
    with django_assert_num_queries(7):
        client.get(service.get_absolute_url())
    with django_assert_num_queries(7):
        client.get(region.get_absolute_url())
    # 1 paginator count, 2 a page of providers with incident and service counts.
    with django_assert_num_queries(2):
        client.get("/providers/")


def test_provider_list_counts_each_incident_once(client, incident, provider):
    # Two services on the provider must not double the incident count (two joined relations).
    provider.services.create(name="Second", slug="second", published=True)

    response = client.get("/providers/")

    counted = {p.slug: (p.incident_count, p.service_count) for p in response.context["providers"]}
    assert counted[provider.slug] == (1, 2)
