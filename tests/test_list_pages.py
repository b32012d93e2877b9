"""The list pages: columns that would repeat what the page is about are left out, every list is in
the order its heading says, every cell names its column for the phone's cards, and names are
written as they are."""

import re

import pytest

from outages import summaries
from outages.models import Incident
from tests.conftest import add_incident
from tests.factories import (
    CustomerFactory,
    ProviderFactory,
    RegionFactory,
    ServiceFactory,
    SourceFactory,
)


def headers(html):
    """Column headers of the first table on the page."""
    head = html.partition("<thead>")[2].partition("</thead>")[0]
    return re.findall(r'<th scope="col">([^<]+)</th>', head)


def rows(html):
    """Each row of the first table: (title, {column label: cell text})."""
    body = html.partition("<tbody>")[2].partition("</tbody>")[0]
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        title = re.search(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', row)[1]
        cells = {
            label: re.sub(r"<[^>]+>", "", text).strip()
            for label, text in re.findall(r'<td[^>]* data-label="([^"]+)">(.*?)</td>', row, re.S)
        }
        found.append((title, cells))
    return found


def linked_names(html, heading_id):
    """The link texts in the section under the heading with this id, in order."""
    section = html.partition(f'id="{heading_id}"')[2].partition("</section>")[0]
    return re.findall(r'<li><a href="[^"]+">([^<]+)</a>', section)


@pytest.fixture
def second_service(incident, provider):
    other = ServiceFactory(provider=provider, name="Block Storage", slug="block-storage")
    incident.services.add(other)
    return other


def test_incident_list_shows_every_column(client, incident):
    html = client.get("/incidents/").content.decode()

    assert headers(html) == [
        "Incident",
        "Started",
        "Duration",
        "Provider",
        "Services",
        "Regions",
        "Customers hit",
    ]


def test_provider_page_leaves_out_the_provider_column(client, incident, provider):
    html = client.get(provider.get_absolute_url()).content.decode()

    assert "Provider" not in headers(html)
    assert "Provider" not in rows(html)[0][1]
    assert "An incident of" not in html


def test_service_page_lists_only_the_other_services(client, incident, service, second_service):
    html = client.get(service.get_absolute_url()).content.decode()

    assert headers(html)[3:5] == ["Other services", "Regions"]
    assert rows(html) == [
        (
            incident.title,
            {
                "Started": "24 Dec 2012",
                "Duration": "23 h 41 min",
                "Other services": second_service.name,
                "Regions": "east-1",
                "Customers hit": "Streamy",
            },
        )
    ]


def test_region_page_lists_only_the_other_regions(client, incident, region, provider):
    incident.regions.add(RegionFactory(provider=provider, code="west-2"))

    html = client.get(region.get_absolute_url()).content.decode()

    assert "Provider" not in headers(html)
    assert rows(html)[0][1]["Other regions"] == "west-2"
    assert "nothing-else" not in html


def test_an_empty_other_regions_cell_is_marked_for_the_phone_cards_to_leave_out(
    client, incident, region
):
    html = client.get(region.get_absolute_url()).content.decode()

    assert '<td class="nothing-else" data-label="Other regions">' in html


def test_service_page_names_the_provider_of_an_incident_of_another_provider(
    client, incident, service
):
    other = ProviderFactory(name="Other Host", slug="other-host")
    Incident.objects.filter(pk=incident.pk).update(provider=other)

    html = client.get(service.get_absolute_url()).content.decode()

    assert f'An incident of <a href="{other.get_absolute_url()}">Other Host</a>' in html


@pytest.mark.parametrize(
    "url",
    ["/", "/incidents/", "/customers/streamy/", "/providers/", "/my-stack/?provider=example-cloud"],
)
def test_every_cell_of_a_list_names_its_column_for_the_phone_cards(client, make_incidents, url):
    make_incidents(2)

    html = client.get(url).content.decode()

    found = rows(html)
    assert found
    for _, cells in found:
        # The row's title is its <th>; every other column's header names one cell.
        assert list(cells) == headers(html)[1:]


def test_provider_page_lists_services_and_regions_by_number_of_incidents(
    client, make_incidents, provider, service
):
    incidents = make_incidents(3)
    few = ServiceFactory(provider=provider, name="Aardvark", slug="aardvark")
    none = ServiceFactory(provider=provider, name="Abacus", slug="abacus", published=True)
    incidents[0].services.add(few)
    busy = RegionFactory(provider=provider, code="zz-busy")
    quiet = RegionFactory(provider=provider, code="aa-quiet")
    for incident in incidents[:2]:
        incident.regions.add(busy)
    incidents[0].regions.add(quiet)
    summaries.rebuild()  # the page reads the kept counts; these links were added around them

    html = client.get(provider.get_absolute_url()).content.decode()

    assert "Services, by number of incidents" in html
    assert linked_names(html, "services-heading") == [service.name, few.name, none.name]
    assert "Regions, by number of incidents" in html
    assert linked_names(html, "regions-heading") == ["east-1", "zz-busy", "aa-quiet"]


def test_home_page_lists_providers_by_number_of_incidents(client, make_incidents):
    make_incidents(1)
    busier = ProviderFactory(name="Zulu Cloud", slug="zulu-cloud")
    for number in (10, 11):
        add_incident(
            busier,
            ServiceFactory(provider=busier),
            RegionFactory(provider=busier),
            CustomerFactory(),
            SourceFactory(),
            number,
        )
    summaries.rebuild()  # the page reads the kept counts; add_incident writes around them

    html = client.get("/").content.decode()

    assert "Providers, by number of incidents" in html
    assert linked_names(html, "by-provider") == ["Zulu Cloud", "Example Cloud"]


@pytest.mark.parametrize(
    ("url", "words"), [("/customers/", "3 customers, A–Z"), ("/providers/", "3 providers, A–Z")]
)
def test_lists_of_names_say_they_are_alphabetical_and_are(
    client, make_incidents, url, words, provider
):
    incident = make_incidents(1)[0]
    for name in ["Zebra Media", "Acme Media"]:
        incident.impacts.create(customer=CustomerFactory(name=name), level="degraded")
        ProviderFactory(name=name.replace("Media", "Cloud"), published=True)

    response = client.get(url)
    names = [str(row) for row in response.context["page"]]

    assert words in response.content.decode()
    assert names == sorted(names)
    assert names[0].startswith("Acme")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/customers/streamy/", "Incidents that hit Streamy as a feed"),
        ("/providers/example-cloud/", "Example Cloud incidents as a feed"),
        (
            "/providers/example-cloud/services/lb/",
            "Example Cloud Load Balancer incidents as a feed",
        ),
        ("/", "All incidents as a feed"),
    ],
)
def test_feed_sentence_writes_names_as_they_are(client, incident, url, words):
    assert words in client.get(url).content.decode()
