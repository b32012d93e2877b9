"""The whole-page cache: readers get stored pages, and a change misses exactly the pages that
show the changed incident."""

import gzip
import socket

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import resolve

from outages import page_cache, workflow
from outages.models import Customer, CustomerImpact, Incident, Provider, Service
from tests.conftest import add_incident
from tests.test_search import admin_form_data


def redis_answers():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


# As settings configure Redis without a front cache: each process keeps a near copy too.
REDIS = {
    "default": {
        "BACKEND": "postmortems.redis_cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/15",
        "OPTIONS": {"near_keys": ["pm:page:", "pm:tag:"]},
    }
}


@pytest.fixture(params=["locmem", "redis"])
def any_cache(request, settings):
    """Run with the default local memory and with Redis, the shared cache of several servers."""
    if request.param == "redis":
        if not redis_answers():
            pytest.fail("Redis does not answer at 127.0.0.1:6379; the shared-cache tests need it.")
        settings.CACHES = REDIS
        cache.clear()
        yield
        cache.clear()
    else:
        yield


@pytest.fixture
def two_providers(make_incidents, provider, service, region, customer, source):
    """Incident 1 at Example Cloud, and incident 2 at Other Cloud hitting another customer."""
    ours = make_incidents(1)[0]
    other = Provider.objects.create(name="Other Cloud", slug="other-cloud")
    theirs = add_incident(
        other,
        Service.objects.create(provider=other, name="Queue", slug="queue"),
        other.regions.create(code="west-2", name="West"),
        Customer.objects.create(name="Shoppy", slug="shoppy"),
        source,
        2,
    )
    return ours, theirs


def status_of(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response["X-Page-Cache"]


PAGES = [
    "/",
    "/incidents/",
    "/incidents/?q=maintenance",
    "/incidents/feed.atom",
    "/incidents/incident-1/",
    "/incidents/incident-1/postmortem.md",
    "/providers/",
    "/providers/example-cloud/",
    "/providers/example-cloud/feed.rss",
    "/providers/example-cloud/services/lb/",
    "/providers/example-cloud/regions/east-1/",
    "/customers/",
    "/customers/streamy/",
    "/statistics/",
    "/map/",
    "/my-stack/?provider=example-cloud",
    "/api/v1/incidents/",
    "/api/v1/incidents/incident-1/",
    "/sitemap.xml",
]


@pytest.mark.parametrize("url", PAGES)
def test_a_second_reader_gets_the_stored_page_without_the_database(
    client, make_incidents, django_assert_num_queries, url
):
    make_incidents(2)
    first = client.get(url)
    assert first["X-Page-Cache"] == "miss"

    with django_assert_num_queries(0):
        again = client.get(url)

    assert again["X-Page-Cache"] == "hit"
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert again["ETag"] == first["ETag"]


def test_publishing_misses_the_pages_that_show_the_incident_and_no_others(
    any_cache, client, two_providers
):
    ours, theirs = two_providers
    Incident.objects.filter(pk=ours.pk).update(status=Incident.Status.REVIEW)
    lists = ["/", "/incidents/"]
    # Only the incident in review names these yet, so they do not exist for readers (and a
    # 404 is never stored).
    ours_pages = [
        "/providers/example-cloud/",
        "/providers/example-cloud/services/lb/",
        "/providers/example-cloud/regions/east-1/",
        "/customers/streamy/",
        "/customers/streamy/feed.atom",
    ]
    theirs_pages = [
        "/incidents/incident-2/",
        "/providers/other-cloud/",
        "/providers/other-cloud/services/queue/",
        "/customers/shoppy/",
    ]
    for url in lists + theirs_pages:
        status_of(client, url)
    for url in ours_pages:
        assert client.get(url).status_code == 404, url

    workflow.apply(ours, "publish", superuser())

    for url in lists + ours_pages:
        assert status_of(client, url) == "miss", url
    for url in theirs_pages:
        assert status_of(client, url) == "hit", url
    assert "Incident 1" in client.get("/providers/example-cloud/").content.decode()


def superuser():
    from django.contrib.auth.models import User

    return User.objects.get_or_create(username="boss", is_superuser=True, is_staff=True)[0]


def test_moving_an_incident_misses_the_page_it_left_and_the_page_it_joined(
    any_cache, client, two_providers
):
    ours, theirs = two_providers
    queue = Service.objects.get(slug="queue")
    for url in ["/providers/example-cloud/services/lb/", "/providers/other-cloud/services/queue/"]:
        status_of(client, url)

    with page_cache.changing([ours.pk]):
        ours.services.set([queue])

    left = client.get("/providers/example-cloud/services/lb/")
    joined = client.get("/providers/other-cloud/services/queue/")
    assert (left["X-Page-Cache"], joined["X-Page-Cache"]) == ("miss", "miss")
    assert "Incident 1" not in left.content.decode()
    assert "Incident 1" in joined.content.decode()


def test_a_related_incident_page_misses_when_an_incident_sharing_its_service_is_published(
    client, make_incidents
):
    first, second = make_incidents(2)
    Incident.objects.filter(pk=second.pk).update(status=Incident.Status.REVIEW)
    assert "Incident 2" not in client.get("/incidents/incident-1/").content.decode()

    workflow.apply(second, "publish", superuser())

    page = client.get("/incidents/incident-1/")
    assert page["X-Page-Cache"] == "miss"
    assert "Incident 2" in page.content.decode()


def test_an_admin_save_shows_readers_the_new_text_at_once(admin_client, client, incident):
    url = incident.get_absolute_url()
    status_of(client, url)
    change = f"/admin/outages/incident/{incident.pk}/change/"
    data = admin_form_data(admin_client.get(change))
    data["title"] = "Load balancers lost their state"

    assert admin_client.post(change, data).status_code == 302

    page = client.get(url)
    assert page["X-Page-Cache"] == "miss"
    assert "Load balancers lost their state" in page.content.decode()


def test_renaming_a_provider_misses_every_page(admin_client, client, incident, provider):
    status_of(client, "/customers/streamy/")
    change = f"/admin/outages/provider/{provider.pk}/change/"
    data = {
        "name": "Renamed Cloud",
        "slug": provider.slug,
        "homepage_url": "",
        "description": "",
        "aliases-TOTAL_FORMS": "0",
        "aliases-INITIAL_FORMS": "0",
        "services-TOTAL_FORMS": "0",
        "services-INITIAL_FORMS": "0",
        "regions-TOTAL_FORMS": "0",
        "regions-INITIAL_FORMS": "0",
    }

    response = admin_client.post(change, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get("/customers/streamy/")
    assert page["X-Page-Cache"] == "miss"
    assert "Renamed Cloud" in page.content.decode()


def test_deleting_an_incident_removes_it_from_the_stored_lists(admin_client, client, incident):
    status_of(client, "/incidents/")
    url = f"/admin/outages/incident/{incident.pk}/delete/"

    assert admin_client.post(url, {"post": "yes"}).status_code == 302

    assert "Incident 1" not in client.get("/incidents/").content.decode()


def test_signed_in_editors_are_neither_served_nor_stored(admin_client, client, incident):
    url = incident.get_absolute_url()
    assert "X-Page-Cache" not in admin_client.get(url)
    assert client.get(url)["X-Page-Cache"] == "miss"
    assert "X-Page-Cache" not in admin_client.get(url)


@pytest.mark.parametrize("status", ["draft", "review"])
def test_a_staff_preview_is_never_stored_for_readers(rf, admin_user, incident, status):
    Incident.objects.filter(pk=incident.pk).update(status=status)
    url = incident.get_absolute_url()
    # Even a staff request that somehow came without a session cookie must not store a preview.
    request = rf.get(url)
    request.user = admin_user
    match = resolve(url)
    preview = match.func(request, *match.args, **match.kwargs)
    assert preview.status_code == 200
    assert "no-store" in preview["Cache-Control"]

    assert Client().get(url).status_code == 404


@pytest.mark.parametrize(
    "url, status", [("/incidents/no-such-incident/", 404), ("/api/v1/incidents/?year=abc", 400)]
)
def test_errors_and_missing_pages_are_not_stored(client, incident, url, status):
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == status
        assert response.get("X-Page-Cache") != "hit"


def test_each_host_and_query_string_is_its_own_page(client, make_incidents):
    make_incidents(2)
    assert status_of(client, "/incidents/?sort=oldest") == "miss"
    assert status_of(client, "/incidents/?sort=newest") == "miss"
    assert status_of(client, "/incidents/?sort=oldest") == "hit"
    assert client.get("/incidents/?sort=oldest", HTTP_HOST="localhost")["X-Page-Cache"] == "miss"


def test_stored_pages_tell_browsers_to_revalidate(client, incident):
    response = client.get(incident.get_absolute_url())
    assert "max-age=0" in response["Cache-Control"]


@override_settings(PAGE_CACHE_SECONDS=0)
def test_the_cache_can_be_switched_off(client, incident):
    assert "X-Page-Cache" not in client.get("/incidents/")


def test_an_impact_added_through_changing_misses_the_new_customers_page(client, incident):
    newcomer = Customer.objects.create(name="Newcomer", slug="newcomer", published=True)
    status_of(client, "/customers/newcomer/")

    with page_cache.changing([incident.pk]):
        CustomerImpact.objects.create(
            incident=incident, customer=newcomer, level=CustomerImpact.Level.DEGRADED
        )

    assert "Incident 1" in client.get("/customers/newcomer/").content.decode()


def test_made_up_parameters_are_served_but_never_stored(client, incident):
    for _ in range(2):
        response = client.get("/incidents/?utm_source=x")
        assert response.status_code == 200
        assert "X-Page-Cache" not in response


def test_reader_pages_refuse_writes(client, incident):
    assert client.post("/incidents/").status_code == 405
    assert client.post(incident.get_absolute_url()).status_code == 405
    assert client.head("/incidents/").status_code == 200


def test_hits_are_served_compressed_from_the_store_with_the_same_etag(client, make_incidents):
    make_incidents(3)
    gzip_please = {"accept-encoding": "gzip, deflate"}
    plain = client.get("/incidents/")
    packed_miss = client.get("/incidents/?sort=oldest", headers=gzip_please)
    packed_hit = client.get("/incidents/", headers=gzip_please)

    assert packed_hit["X-Page-Cache"] == "hit"
    assert packed_hit["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed_hit["Vary"]
    assert gzip.decompress(packed_hit.content) == plain.content
    assert packed_hit["ETag"] == "W/" + plain["ETag"]
    assert packed_miss["Content-Encoding"] == "gzip"  # a miss is compressed by the middleware
    assert client.get("/incidents/")["ETag"] == plain["ETag"]
    again = client.get("/incidents/", headers={**gzip_please, "if-none-match": packed_hit["ETag"]})
    assert again.status_code == 304
