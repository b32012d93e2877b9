import pytest

from outages.models import Incident


def test_home_page_says_what_the_site_is_and_shows_ways_in(client, incident, provider):
    html = client.get("/").content.decode()

    assert "knowledge base of cloud outages" in html
    assert f'href="{incident.get_absolute_url()}"' in html
    assert f'href="{provider.get_absolute_url()}"' in html
    assert 'href="/customers/"' in html
    assert 'href="/incidents/"' in html


def test_home_page_hides_drafts(client, incident):
    Incident.objects.update(status=Incident.Status.DRAFT)

    html = client.get("/").content.decode()

    assert incident.title not in html
    assert "No published incidents yet." in html


@pytest.mark.parametrize("count", [1, 30])
def test_query_count_does_not_grow_with_incidents(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    # 1 latest incidents with providers, 2 their services, 3 their regions, 4 customers hit,
    # 5 providers with counts, 6 customers hit more than once, 7 the published total.
    with django_assert_num_queries(7):
        client.get("/")
