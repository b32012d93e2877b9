import pytest
from django.urls import reverse

from outages.models import Incident


def test_incident_page_shows_times_in_source_zone_and_utc(client, incident):
    response = client.get(incident.get_absolute_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert "24 Dec 2012, 12:24 PM PST" in html  # started_at, in the source's zone
    assert "20:24 UTC" in html
    assert '<time datetime="2012-12-24T20:24:00Z">' in html
    assert "23 h 41 min" in html  # time to resolve, derived from the milestones


def test_incident_page_links_provider_services_regions_customers_and_sources(
    client, incident, provider, service, region, customer, source
):
    html = client.get(incident.get_absolute_url()).content.decode()

    for url in [
        provider.get_absolute_url(),
        service.get_absolute_url(),
        region.get_absolute_url(),
        customer.get_absolute_url(),
        source.url,
    ]:
        assert f'href="{url}"' in html


def test_unknown_durations_say_not_known(client, incident):
    incident.mitigated_at = None
    incident.save()

    html = client.get(incident.get_absolute_url()).content.decode()

    assert "not known" in html


def test_related_incidents_share_a_service_region_or_customer(client, make_incidents):
    first, second = make_incidents(2)

    html = client.get(first.get_absolute_url()).content.decode()

    assert f'href="{second.get_absolute_url()}"' in html


def test_drafts_are_hidden_from_readers(client, incident):
    incident.status = Incident.Status.DRAFT
    incident.save()

    assert client.get(incident.get_absolute_url()).status_code == 404
    assert incident.title not in client.get(reverse("outages:incident_list")).content.decode()


def test_unknown_slug_is_404(client, db):
    assert client.get("/incidents/no-such-incident/").status_code == 404


def test_staff_see_an_edit_link_readers_do_not(client, admin_client, incident):
    edit_url = reverse("admin:outages_incident_change", args=[incident.pk])

    assert edit_url not in client.get(incident.get_absolute_url()).content.decode()
    assert edit_url in admin_client.get(incident.get_absolute_url()).content.decode()


@pytest.mark.parametrize("count", [2, 30])
def test_query_count_does_not_grow_with_incidents(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    # 1 incident with provider, 2 its services with providers, 3 its regions with providers,
    # 4 sources, 5 events with sources, 6 impacts with customers and sources, 7 impact services,
    # 8 action items, 9 corrections, 10 related incidents with provider, ranked by how many
    # services, regions and customers hit they share (three subqueries in the one query),
    # 11-13 the related incidents' services, regions and customers hit (their reasons come
    # from these rows, with no query of their own),
    # 14 the public change log (the incident's revisions).
    with django_assert_num_queries(14):
        client.get("/incidents/incident-1/")


def test_query_count_without_related_incidents(client, incident, django_assert_num_queries):
    # As above; with no related incidents their three prefetches are skipped.
    with django_assert_num_queries(11):
        client.get(incident.get_absolute_url())
