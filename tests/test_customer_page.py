import pytest

from outages.models import Customer, CustomerImpact, Incident, Provider
from outages.web import views


def test_customer_page_lists_every_incident_that_hit_it_across_providers(
    client, incident, customer, make_incidents
):
    other_provider = Provider.objects.create(name="Other Cloud", slug="other-cloud")
    other = Incident.objects.create(
        title="Other cloud outage",
        slug="other-outage",
        provider=other_provider,
        root_cause_category=Incident.Cause.SOFTWARE_BUG,
        status=Incident.Status.PUBLISHED,
    )
    CustomerImpact.objects.create(
        incident=other, customer=customer, level=CustomerImpact.Level.DEGRADED, description="Slow."
    )

    html = client.get(customer.get_absolute_url()).content.decode()

    assert f'href="{incident.get_absolute_url()}"' in html
    assert f'href="{other.get_absolute_url()}"' in html
    assert f'href="{other_provider.get_absolute_url()}"' in html
    assert "Degraded" in html and "Down" in html


def test_customer_page_names_other_customers_hit_by_the_same_incidents(client, incident, customer):
    neighbour = Customer.objects.create(name="Neighbour", slug="neighbour")
    CustomerImpact.objects.create(
        incident=incident, customer=neighbour, level=CustomerImpact.Level.OUTAGE, description="x"
    )

    html = client.get(customer.get_absolute_url()).content.decode()

    assert f'href="{neighbour.get_absolute_url()}"' in html


def test_other_customers_of_a_busy_customer_come_from_its_newest_incidents(
    client, make_incidents, customer, monkeypatch
):
    monkeypatch.setattr(views, "NEIGHBOURS_FROM", 1)
    newer, older = sorted(make_incidents(2), key=lambda i: i.started_at, reverse=True)
    recent = Customer.objects.create(name="Recent", slug="recent")
    earlier = Customer.objects.create(name="Earlier", slug="earlier")
    for incident, other in [(newer, recent), (older, earlier)]:
        CustomerImpact.objects.create(
            incident=incident, customer=other, level=CustomerImpact.Level.OUTAGE, description="x"
        )

    html = client.get(customer.get_absolute_url()).content.decode()

    assert f'href="{recent.get_absolute_url()}"' in html
    assert f'href="{earlier.get_absolute_url()}"' not in html
    assert "Counted over the 1 newest incidents that hit" in html
    # Every incident that hit it is still listed, and the list filtered to it is linked.
    assert f'href="{newer.get_absolute_url()}"' in html
    assert f'href="{older.get_absolute_url()}"' in html
    assert f'href="/incidents/?customer={customer.slug}"' in html


def test_the_pages_of_a_busy_customer_reach_its_newest_and_link_to_every_one(
    client, make_incidents, customer, monkeypatch
):
    monkeypatch.setattr(views, "CUSTOMER_LISTED", 1)
    newer, older = sorted(make_incidents(2), key=lambda i: i.started_at, reverse=True)

    html = client.get(customer.get_absolute_url()).content.decode()

    assert f'href="{newer.get_absolute_url()}"' in html
    assert "The pages above reach the 1 newest." in html
    assert f'<a href="/incidents/?customer={customer.slug}">The incident list filtered' in html
    listed = client.get(f"/incidents/?customer={customer.slug}").content.decode()
    assert f'href="{older.get_absolute_url()}"' in listed


def test_customer_that_is_also_a_provider_links_to_its_provider_page(
    client, incident, customer, provider
):
    customer.published = True
    customer.provider = provider
    customer.save()

    html = client.get(customer.get_absolute_url()).content.decode()

    assert f'href="{provider.get_absolute_url()}"' in html


def test_drafts_are_hidden(client, incident, customer):
    Incident.objects.update(status=Incident.Status.DRAFT)

    assert incident.title not in client.get(customer.get_absolute_url()).content.decode()
    assert customer.name not in client.get("/customers/").content.decode()


def test_unknown_customer_is_404(client, db):
    assert client.get("/customers/nobody/").status_code == 404


@pytest.mark.parametrize("count", [1, 30])
def test_query_counts_do_not_grow_with_incidents(
    client, make_incidents, customer, count, django_assert_num_queries
):
    make_incidents(count)
    # 1 customer with its provider, 2 paginator count, 3 a page of incidents with providers,
    # 4 their regions with providers, 5 the customer's impacts with sources, 6 impact services
    # with providers, 7 the strip's incidents that hit it (slug, title, start), 8 other customers
    # hit by the same incidents. Past strips.STRIP_MARKS incidents, one more: the strip's years
    # (kept).
    with django_assert_num_queries(8):
        client.get(customer.get_absolute_url())
    # 1 paginator count, 2 a page of customers with incident counts.
    with django_assert_num_queries(2):
        client.get("/customers/")
