"""Providers, services, regions and customers exist for readers only once a published incident
names them, or a publisher has published the row on its own: before that, every page, feed,
API entry, sitemap row, list and form that would name them behaves as for an unknown slug."""

import pytest
from django.contrib.auth.models import User

from outages import workflow
from outages.models import Customer, Incident, Provider, Region, Service
from tests.conftest import add_incident
from tests.factories import update_incidents

# The addresses of each kind of row, for the conftest rows (example-cloud, lb, east-1, streamy),
# and the same addresses for a slug nothing has.
PAGES = {
    "provider": [
        "/providers/{p}/",
        "/providers/{p}/feed.atom",
        "/providers/{p}/feed.rss",
        "/api/v1/providers/{p}/",
    ],
    "service": [
        "/providers/example-cloud/services/{s}/",
        "/providers/example-cloud/services/{s}/feed.atom",
        "/providers/example-cloud/services/{s}/feed.rss",
        "/api/v1/providers/example-cloud/services/{s}/",
    ],
    "region": [
        "/providers/example-cloud/regions/{r}/",
        "/providers/example-cloud/regions/{r}/feed.atom",
        "/providers/example-cloud/regions/{r}/feed.rss",
        "/api/v1/providers/example-cloud/regions/{r}/",
    ],
    "customer": [
        "/customers/{c}/",
        "/customers/{c}/feed.atom",
        "/customers/{c}/feed.rss",
        "/api/v1/customers/{c}/",
    ],
}
KNOWN = {"p": "example-cloud", "s": "lb", "r": "east-1", "c": "streamy"}
UNKNOWN = {"p": "example-cloud", "s": "no-such", "r": "no-such", "c": "no-such"}
MODELS = {"provider": Provider, "service": Service, "region": Region, "customer": Customer}
# Where lists name each kind of row: (address, the text that names it there).
LISTED = {
    "provider": [
        ("/providers/", 'href="/providers/example-cloud/"'),
        ("/api/v1/providers/", '"slug": "example-cloud"'),
        ("/my-stack/", 'value="example-cloud"'),
    ],
    "service": [
        ("/api/v1/services/", '"slug": "lb"'),
        ("/my-stack/", 'value="example-cloud.lb"'),
    ],
    "region": [
        ("/api/v1/regions/", '"code": "east-1"'),
        ("/my-stack/", 'value="example-cloud.east-1"'),
    ],
    "customer": [
        ("/customers/", 'href="/customers/streamy/"'),
        ("/api/v1/customers/", '"slug": "streamy"'),
    ],
}
# The incident list's filter for each kind, and its feed: an unseen row is "no such name".
FILTERS = {
    "provider": ("provider", "example-cloud", "There is no provider by that name."),
    "service": ("service", "example-cloud.lb", "There is no service by that name."),
    "region": ("region", "example-cloud.east-1", "There is no region by that name."),
    "customer": ("customer", "streamy", "There is no customer by that name."),
}


@pytest.fixture
def draft(provider, service, region, customer, source):
    """An incident in draft, the only one that names the conftest rows."""
    incident = add_incident(provider, service, region, customer, source, 1)
    update_incidents(Incident.objects.filter(pk=incident.pk), status=Incident.Status.DRAFT)
    incident.refresh_from_db()
    return incident


@pytest.fixture
def publisher(db):
    return User.objects.create_user("pat", is_staff=True, is_superuser=True)


def addresses(kind, names=KNOWN):
    return [page.format(**names) for page in PAGES[kind]]


def sitemap_text(client):
    sections = ["providers", "services", "regions", "customers"]
    return "".join(client.get(f"/sitemap-{name}.xml").content.decode() for name in sections)


def as_unknown(client, url, known, unknown):
    """The response to the same address with a slug nothing has, the slug put back."""
    content = client.get(url.replace(known, unknown)).content.decode()
    return content.replace(unknown, known)


def seen(client, kind):
    """Whether readers can see the conftest row of `kind`: its addresses all answer, or none."""
    statuses = {client.get(url).status_code for url in addresses(kind)}
    assert len(statuses) == 1, statuses
    return statuses.pop() == 200


@pytest.mark.parametrize("kind", PAGES)
def test_a_row_only_a_draft_names_is_not_found_like_an_unknown_one(client, draft, kind):
    own = {"provider": "p", "service": "s", "region": "r", "customer": "c"}[kind]
    for url, unknown_url in zip(addresses(kind), addresses(kind, UNKNOWN), strict=True):
        response = client.get(url)

        assert response.status_code == 404, url
        unknown = client.get(unknown_url)
        assert unknown.status_code == 404, unknown_url
        if kind != "provider":  # an unknown provider slug is another address altogether
            assert response.content.decode() == as_unknown(client, url, KNOWN[own], UNKNOWN[own]), (
                url
            )


@pytest.mark.parametrize("kind", PAGES)
def test_a_row_only_a_draft_names_is_in_no_list_sitemap_or_filter(client, draft, kind):
    for url, text in LISTED[kind]:
        assert text not in client.get(url).content.decode(), url
    assert KNOWN["c" if kind == "customer" else "p"] not in sitemap_text(client)
    name, value, message = FILTERS[kind]
    assert message in client.get("/incidents/", {name: value}).content.decode()
    assert client.get("/api/v1/incidents/", {name: value}).status_code == 400


@pytest.mark.parametrize("kind", PAGES)
def test_publishing_the_incident_makes_its_rows_public(client, draft, publisher, kind):
    assert not seen(client, kind)

    workflow.apply(draft, "publish", publisher)

    assert seen(client, kind)
    for url, text in LISTED[kind]:
        assert text in client.get(url).content.decode(), url
    assert "/customers/streamy/" in sitemap_text(client)
    assert "/providers/example-cloud/services/lb/" in sitemap_text(client)
    name, value, message = FILTERS[kind]
    assert message not in client.get("/incidents/", {name: value}).content.decode()
    assert client.get("/api/v1/incidents/", {name: value}).status_code == 200


@pytest.mark.parametrize("kind", PAGES)
def test_withdrawing_the_only_incident_hides_its_rows_again(client, draft, publisher, kind):
    workflow.apply(draft, "publish", publisher)
    assert seen(client, kind)

    workflow.apply(draft, "withdraw", publisher, reason="Sources retracted.")

    assert not seen(client, kind)


@pytest.mark.parametrize("kind", PAGES)
def test_a_row_published_on_its_own_is_public_without_incidents(client, draft, kind):
    row = {"provider": draft.provider, "customer": draft.impacts.get().customer}.get(kind)
    row = row or getattr(draft, f"{kind}s").get()
    MODELS[kind].objects.filter(pk=row.pk).update(published=True)

    assert seen(client, kind)
    for url, text in LISTED[kind]:
        assert text in client.get(url).content.decode(), url
    assert row.get_absolute_url() in sitemap_text(client)
    # The page says no published incident involves it, and shows no draft.
    assert "Incident 1" not in client.get(row.get_absolute_url()).content.decode()


@pytest.mark.parametrize("kind", ["service", "region"])
def test_a_public_service_or_region_makes_its_provider_public(client, draft, kind):
    MODELS[kind].objects.update(published=True)

    assert seen(client, "provider")
    assert not seen(client, "customer")


def test_a_crosslink_shows_only_when_the_other_entry_is_public(client, draft, publisher):
    Customer.objects.filter(slug="streamy").update(provider=draft.provider)
    Provider.objects.filter(pk=draft.provider_id).update(published=True)
    provider_page = client.get("/providers/example-cloud/").content.decode()
    assert 'href="/customers/streamy/"' not in provider_page

    workflow.apply(draft, "publish", publisher)

    provider_page = client.get("/providers/example-cloud/").content.decode()
    assert 'href="/customers/streamy/"' in provider_page
    customer_page = client.get("/customers/streamy/").content.decode()
    assert 'href="/providers/example-cloud/"' in customer_page
