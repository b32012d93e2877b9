"""The incident's admin screens cost the same number of queries however many incidents,
customers and sources the site holds, and the change form however many rows the incident has:
a select listing every row of a table, or a query per row of the form, makes them slow at
100,000 incidents and on long postmortems, and each query is a round trip that a loaded server
pays dearly."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from outages.models import TimelineEvent
from tests.factories import CustomerImpactFactory, IncidentFactory, TimelineEventFactory
from tests.test_search import admin_form_data


def queries_of(client, url, data=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, data) if data is not None else client.get(url)
    assert response.status_code == (302 if data is not None else 200)
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("screen", ["change", "add", "changelist"])
def test_incident_screens_cost_the_same_with_more_incidents(admin_client, incident, screen):
    args = [incident.pk] if screen == "change" else []
    url = reverse(f"admin:outages_incident_{screen}", args=args)
    queries_of(admin_client, url)  # content types and the like, looked up once per process
    few = queries_of(admin_client, url)

    IncidentFactory.create_batch(30)  # each with its own provider, services, customers, sources
    many = queries_of(admin_client, url)

    assert len(many) == len(few), "\n".join(many)


def add_rows(incident, source, count):
    """More timeline events and customer impacts, each citing the source; each impact about a
    customer of its own, with a service."""
    last = incident.events.order_by("-position").first().position
    for number in range(1, count + 1):
        TimelineEventFactory(
            incident=incident,
            position=last + number,
            occurred_at=incident.started_at,
            time_as_stated="",
            kind=TimelineEvent.Kind.MITIGATION,
            source=source,
        )
        impact = CustomerImpactFactory(incident=incident, source=source)
        impact.services.add(*incident.services.all())


def test_the_change_form_costs_the_same_with_more_rows(admin_client, incident, source):
    url = reverse("admin:outages_incident_change", args=[incident.pk])
    queries_of(admin_client, url)
    few = queries_of(admin_client, url)

    add_rows(incident, source, 10)
    many = queries_of(admin_client, url)

    assert len(many) == len(few), "\n".join(many)


def test_a_save_costs_the_same_with_more_incidents(admin_client, incident):
    url = reverse("admin:outages_incident_change", args=[incident.pk])

    def save(title):
        data = admin_form_data(admin_client.get(url))
        return queries_of(admin_client, url, {**data, "title": title})

    save("A first title")
    # Its first published version; the next compares versions, looking up the content types of
    # their rows once per process.
    save("A warming title")
    few = save("A second title")

    IncidentFactory.create_batch(30)
    many = save("A third title")

    assert len(many) == len(few), "\n".join(many)


@pytest.mark.parametrize("value", ["999999", "not-a-number"])
def test_a_row_naming_no_such_source_is_refused_at_the_row(admin_client, incident, value):
    url = reverse("admin:outages_incident_change", args=[incident.pk])
    data = admin_form_data(admin_client.get(url))

    response = admin_client.post(url, {**data, "events-0-source": value})

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors
    assert "Select a valid choice" in str(errors["source"])


def test_a_rows_check_constraints_are_checked_in_one_query(incident, django_assert_num_queries):
    incident.resolved_at = incident.started_at - timedelta(days=1)
    incident.detected_at = None  # unknown: passes, as in the database

    # One query for all eleven checks, inside a savepoint (the test's transaction is open).
    with django_assert_num_queries(3), pytest.raises(ValidationError) as refused:
        incident.validate_constraints()

    assert refused.value.messages == [
        "Constraint “incident_resolved_after_start” is violated.",
        "Constraint “incident_resolved_after_mitigated” is violated.",
    ]
    incident.resolved_at = incident.started_at + timedelta(days=1)
    with django_assert_num_queries(3):
        incident.validate_constraints()
    with django_assert_num_queries(0):
        incident.validate_constraints(
            exclude={"resolved_at", "started_at", "detected_at", "mitigated_at"}
        )
