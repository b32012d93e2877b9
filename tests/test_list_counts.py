"""The counts on the provider and customer lists and the API's lists read the kept counts; here
each equals the count asked of the incidents themselves, on the shipped data and after a
withdrawal, so a list can never drift from the pages it links to."""

import pytest
from django.urls import reverse

from outages.models import Customer, CustomerImpact, Incident, Provider, Region, Service
from tests.factories import update_incidents


def live_provider_counts():
    published = Incident.objects.published()
    return {
        provider.slug: (
            published.filter(provider=provider).count(),
            Service.objects.visible().filter(provider=provider).count(),
        )
        for provider in Provider.objects.visible()
    }


def live_customer_counts():
    named = CustomerImpact.objects.filter(incident__in=Incident.objects.published())
    return {
        customer.slug: (
            named.hits().filter(customer=customer).count(),
            named.filter(customer=customer).count(),
        )
        for customer in Customer.objects.visible()
    }


def live_counts(model):
    published = Incident.objects.published()
    relation = {Service: "services", Region: "regions"}[model]
    return {
        row.key: published.filter(**{relation: row}).count()
        for row in model.objects.visible().select_related("provider")
    }


def every_page(client, url, size=None):
    """The rows of every page of a list: the API's (by `next`), or a page's (by ?page=)."""
    rows, number = [], 1
    while True:
        response = client.get(url, {"page": number})
        assert response.status_code == 200
        if size is None:
            data = response.json()
            rows += data["results"]
            if not data["next"]:
                return rows
        else:
            page = response.context[size]
            rows += list(page)
            if not page.has_next():
                return rows
        number += 1


def listed_counts(client):
    providers = every_page(client, reverse("outages:provider_list"), "providers")
    customers = every_page(client, reverse("outages:customer_list"), "customers")
    api_providers = every_page(client, "/api/v1/providers/")
    api_customers = every_page(client, "/api/v1/customers/")
    return {
        "providers": {row.slug: (row.incident_count, row.service_count) for row in providers},
        "api providers": {
            row["slug"]: (row["incident_count"], row["service_count"]) for row in api_providers
        },
        "customers": {row.slug: row.incident_count for row in customers},
        "api customers": {
            row["slug"]: (row["incident_count"], row["named_count"]) for row in api_customers
        },
        "api services": {
            row["key"]: row["incident_count"] for row in every_page(client, "/api/v1/services/")
        },
        "api regions": {
            row["key"]: row["incident_count"] for row in every_page(client, "/api/v1/regions/")
        },
    }


def assert_live(client):
    listed = listed_counts(client)
    providers = live_provider_counts()
    customers = live_customer_counts()
    assert listed["providers"] == providers
    assert listed["api providers"] == providers
    assert listed["customers"] == {slug: hit for slug, (hit, _) in customers.items()}
    assert listed["api customers"] == customers
    assert listed["api services"] == live_counts(Service)
    assert listed["api regions"] == live_counts(Region)


@pytest.fixture
def shipped(shipped_data, db):
    return shipped_data


def test_the_lists_count_what_the_incidents_say(client, shipped):
    assert_live(client)
    assert any(hit for hit, _ in live_provider_counts().values())


def test_a_withdrawal_leaves_every_list_count_live(client, shipped):
    # The incident naming the most customers and services: its withdrawal moves the most counts.
    busiest = max(
        Incident.objects.published(),
        key=lambda incident: (incident.impacts.count(), incident.services.count()),
    )
    before = live_customer_counts()

    update_incidents(Incident.objects.filter(pk=busiest.pk), status=Incident.Status.DRAFT)

    assert live_customer_counts() != before  # the withdrawal changed something to count
    assert_live(client)
