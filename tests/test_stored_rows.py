"""The incident lists print each row as stored with its incident's article
(outages.web.articles.listed): the list is the same with the rows stored as without, it costs
fewer queries, and a write that changes a row shows in the list at once."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from outages.models import Incident, IncidentArticle
from outages.web import articles
from outages.web.views import for_page
from tests.test_incident_article import REFERENCE_ROWS, admin_save
from tests.test_search import admin_form_data


def listing(client, **query):
    """The incident list as a reader gets it with the page cache empty (so built now)."""
    cache.clear()
    response = client.get("/incidents/", query)
    assert response.status_code == 200
    return response.content.decode()


def store_all():
    """Store every published incident's article, with its row, as readers' first reads do."""
    return articles.fill(for_page)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"q": "incident"},  # a passage in each row, between the stored halves
        {"sort": "customers"},
        {"cause": "operational-error"},
    ],
)
def test_a_list_is_the_same_with_stored_rows_as_without(client, make_incidents, query):
    make_incidents(3)  # services, regions, customers hit (and one only named as not affected)
    rendered = listing(client, **query)

    assert store_all() == 3
    assert listing(client, **query) == rendered


def test_a_row_of_another_build_is_rendered_again(client, make_incidents):
    make_incidents(1)
    rendered = listing(client)
    store_all()
    IncidentArticle.objects.update(build="older", row=["<th>Old</th>", "</tr>"])

    assert listing(client) == rendered


@pytest.mark.parametrize("stored", [False, True])
@pytest.mark.parametrize("count", [1, 30])
def test_list_queries_do_not_grow_and_stored_rows_spare_four(
    client, make_incidents, count, stored, django_assert_num_queries
):
    make_incidents(count)
    if stored:
        store_all()
    # 1 the result set (ids with provider, cause and year of at most results.LIMIT), 2 the
    # page of incidents with providers and their stored rows, 3 the providers' names, 4-7
    # facet counts: services, regions, customers, impact levels; and when a row of the page
    # has no stored article, 8-11 those incidents again with services, regions and customers
    # hit, to render it. Past results.LIMIT, one more on PostgreSQL: the planner's estimate.
    with django_assert_num_queries(7 if stored else 11):
        listing(client)


@pytest.mark.parametrize("stored", [False, True])
@pytest.mark.parametrize("count", [1, 30])
def test_search_queries_do_not_grow_and_stored_rows_spare_four(
    client, make_incidents, customer, count, stored, django_assert_num_queries
):
    make_incidents(count)
    if stored:
        store_all()
    # As the list, with 1 the customer filter's lookup and 2 the snippets of the page's
    # incidents: 9, or 13 when a row has no stored article.
    with django_assert_num_queries(9 if stored else 13):
        listing(client, q="incident", customer=customer.slug)


def test_only_the_rows_without_an_article_are_rendered(client, make_incidents):
    incidents = make_incidents(3)
    store_all()
    IncidentArticle.objects.forget([incidents[0].pk])  # as a write to it does
    Incident.objects.filter(pk=incidents[0].pk).update(title="Changed behind the article")

    html = listing(client)

    assert "Changed behind the article" in html
    assert "Incident 2<" in html and "Incident 3<" in html


def test_an_admin_save_shows_in_the_list_at_once(admin_client, client, make_incidents):
    incident = make_incidents(2)[0]
    store_all()

    admin_save(admin_client, incident, title="A retitled incident")

    # The save stored the new row before it answered (outages.web.storing).
    stored = IncidentArticle.objects.get(incident=incident)
    assert "A retitled incident" in stored.row[0]
    html = listing(client)
    assert "A retitled incident" in html and "Incident 2<" in html


@pytest.mark.parametrize("kind", ["provider", "service", "region", "customer"])
def test_renaming_a_reference_row_shows_in_the_list_at_once(
    admin_client, client, make_incidents, kind
):
    incident = make_incidents(1)[0]
    of, field, value, _ = REFERENCE_ROWS[kind]
    row = of(incident)
    store_all()
    url = reverse(f"admin:outages_{row._meta.model_name}_change", args=[row.pk])
    data = admin_form_data(admin_client.get(url))
    data[field] = value

    assert admin_client.post(url, data).status_code == 302

    assert value in listing(client)
