"""The cascade page of an incident: the customers it hit and their own incidents it caused,
drawn and tabled; linked from the incident page when there is something to show."""

import pytest
from django.urls import reverse

from outages.charts.cascade import Branch, Node, cascade_tree
from outages.models import CustomerImpact, Incident, IncidentRelation
from tests.factories import (
    CustomerFactory,
    CustomerImpactFactory,
    IncidentFactory,
    ProviderFactory,
)


def cascade_url(incident):
    return reverse("outages:incident_cascade", args=[incident.slug])


def customer_with_own_incident(provider_incident, name, level=CustomerImpact.Level.OUTAGE):
    """A customer hit by `provider_incident`, which is also a provider whose own incident the
    provider's caused."""
    organisation = ProviderFactory(name=name)
    customer = CustomerFactory(name=name, provider=organisation)
    CustomerImpactFactory(incident=provider_incident, customer=customer, level=level)
    own = IncidentFactory(provider=organisation, title=f"{name} down", impacts=0, events=0)
    own.sources.add(provider_incident.sources.first())
    IncidentRelation.objects.create(
        incident=provider_incident,
        other=own,
        kind=IncidentRelation.Kind.CAUSED,
        note=f"{name} says the provider's outage took it down.",
        source=provider_incident.sources.first(),
    )
    return customer, own


@pytest.fixture
def provider_incident(db):
    return IncidentFactory(title="Load balancers fail", impacts=0, events=0)


def test_the_cascade_shows_customers_hit_and_the_incidents_it_caused(client, provider_incident):
    customer, own = customer_with_own_incident(provider_incident, "Streamy")
    bystander = CustomerFactory(name="Bystander")
    CustomerImpactFactory(
        incident=provider_incident, customer=bystander, level=CustomerImpact.Level.NOT_AFFECTED
    )

    response = client.get(cascade_url(provider_incident))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    chart, table = html.split("<svg", 1)[1].split("</svg>", 1)
    for part in (chart, table):
        assert customer.get_absolute_url() in part and own.get_absolute_url() in part
    assert 'class="node level-outage"' in chart and 'class="node caused"' in chart
    assert "Bystander" not in html  # named as not affected: not hit
    page = client.get(provider_incident.get_absolute_url()).content.decode()
    assert cascade_url(provider_incident) in page


def test_an_incident_with_nothing_to_cascade_links_no_cascade(client, provider_incident):
    page = client.get(provider_incident.get_absolute_url()).content.decode()
    assert cascade_url(provider_incident) not in page
    response = client.get(cascade_url(provider_incident))
    assert response.status_code == 200 and "<svg" not in response.content.decode()


@pytest.mark.parametrize("status", [Incident.Status.DRAFT, Incident.Status.WITHDRAWN])
def test_an_unpublished_incident_has_no_cascade(client, provider_incident, status):
    Incident.objects.filter(pk=provider_incident.pk).update(status=status)
    assert client.get(cascade_url(provider_incident)).status_code == 404


def test_a_caused_incident_of_an_organisation_not_listed_as_hit_gets_its_own_row(
    client, provider_incident
):
    _, own = customer_with_own_incident(provider_incident, "Quietco")
    CustomerImpact.objects.filter(incident=provider_incident).delete()
    html = client.get(cascade_url(provider_incident)).content.decode()
    assert "not named among the customers hit" in html and own.get_absolute_url() in html


def test_the_drawing_escapes_names_and_stays_plain_svg():
    svg = cascade_tree(
        Node("<b>Outage</b>", "/i/"),
        [Branch(Node("A & B", "/c/", "Down", "level-outage"), (Node("Own", "/o/"),))],
        chart_id="cascade",
        title="t",
        desc="d",
    )
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "A &amp; B" in svg
    assert "<script" not in svg and "style=" not in svg


@pytest.mark.parametrize("count", [1, 15])
def test_cascade_queries_stay_flat(client, provider_incident, count, django_assert_num_queries):
    for number in range(count):
        customer_with_own_incident(provider_incident, f"Customer {number}")
    # 1 the incident with its provider, 2 the impacts of customers hit with the customers,
    # 3 its relations with the other ends, their providers and the sources.
    with django_assert_num_queries(3):
        assert client.get(cascade_url(provider_incident)).status_code == 200
