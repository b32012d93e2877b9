"""The "my stack" page (/my-stack/) and its feeds: incidents involving any chosen provider,
service or region, chosen by query string, with statistics for the selection."""

import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest

from outages.aggregates import SUMMARISE_FROM
from outages.models import Customer, CustomerImpact, Incident, Provider, Region, Service
from outages.text import duration_text

from .conftest import START

ATOM = "{http://www.w3.org/2005/Atom}"
URL = "/my-stack/"
FEEDS = ["/my-stack/feed.atom", "/my-stack/feed.rss"]


@pytest.fixture
def other(db):
    """A second provider with a service and a region, for selections across providers."""
    provider = Provider.objects.create(name="Other Cloud", slug="other-cloud")
    return (
        provider,
        Service.objects.create(provider=provider, name="Object Store", slug="store"),
        Region.objects.create(provider=provider, code="west-2", name="West"),
    )


def published(title, provider, days_ago, services=(), regions=(), **fields):
    incident = Incident.objects.create(
        title=title,
        slug=title.lower().replace(" ", "-"),
        provider=provider,
        started_at=START - timedelta(days=days_ago),
        root_cause_category=Incident.Cause.OTHER,
        status=fields.pop("status", Incident.Status.PUBLISHED),
        **fields,
    )
    incident.services.set(services)
    incident.regions.set(regions)
    return incident


def listed(response):
    """Titles of the incidents in the page's table, in order."""
    html = response.content.decode()
    table = html.partition('<table class="incidents">')[2].partition("</table>")[0]
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', table)


def feed_entries(response):
    """(title, link) of each Atom entry or RSS item, in feed order."""
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    if root.tag == f"{ATOM}feed":
        return [
            (entry.findtext(f"{ATOM}title"), entry.find(f"{ATOM}link").get("href"))
            for entry in root.iter(f"{ATOM}entry")
        ]
    return [(item.findtext("title"), item.findtext("link")) for item in root.iter("item")]


# --- Choosing ------------------------------------------------------------------------------


def published_on_their_own(*rows):
    """Rows readers see though no published incident names them (Provider.objects.visible)."""
    for row in rows:
        type(row).objects.filter(pk=row.pk).update(published=True)


def test_without_a_selection_the_page_explains_and_shows_the_form(client, service, region):
    published_on_their_own(service, region)
    response = client.get(URL)
    html = response.content.decode()

    assert response.status_code == 200
    assert "Nothing is chosen yet" in html
    assert '<form class="stack-form" method="get" action="/my-stack/"' in html
    assert 'name="provider" value="example-cloud"' in html
    assert 'name="service" value="example-cloud.lb"' in html
    assert 'name="region" value="example-cloud.east-1"' in html
    assert "checked" not in html
    assert '<table class="incidents">' not in html
    assert len(re.findall(r"<h1[ >]", html)) == 1


def test_form_ticks_the_chosen_boxes(client, service, region):
    published_on_their_own(service, region)
    html = client.get(URL, {"service": "example-cloud.lb"}).content.decode()

    assert 'value="example-cloud.lb" id="stack-service-example-cloud.lb" checked' in html
    assert 'value="example-cloud.east-1" id="stack-region-example-cloud.east-1">' in html
    assert 'value="example-cloud" id="stack-provider-example-cloud">' in html


def test_incidents_involving_any_chosen_provider_service_or_region_newest_first(
    client, provider, service, region, other
):
    other_provider, store, west = other
    by_provider = published("By provider", provider, 1)
    by_service = published("By service", other_provider, 3, services=[store])
    by_region = published("By region", other_provider, 2, regions=[west])
    published("Unrelated", other_provider, 0)

    response = client.get(
        URL,
        {
            "provider": "example-cloud",
            "service": "other-cloud.store",
            "region": "other-cloud.west-2",
        },
    )

    assert listed(response) == [by_provider.title, by_region.title, by_service.title]


def test_an_incident_matching_several_ways_is_listed_once(client, incident):
    response = client.get(
        URL,
        {
            "provider": "example-cloud",
            "service": "example-cloud.lb",
            "region": "example-cloud.east-1",
        },
    )

    assert listed(response) == [incident.title]
    assert response.context["page"].paginator.count == 1


def test_a_service_includes_incidents_filed_under_another_provider(client, provider, other):
    # A region or service counts wherever it appears, not only on its own provider's incidents.
    _, store, _ = other
    mixed = published("Filed under example", provider, 1, services=[store])

    assert listed(client.get(URL, {"service": "other-cloud.store"})) == [mixed.title]


def test_drafts_are_never_shown(client, make_incidents, provider, service, region):
    shown, hidden = make_incidents(2)
    Incident.objects.filter(pk=hidden.pk).update(status=Incident.Status.DRAFT)
    secret = Customer.objects.create(name="Secret Customer", slug="secret")
    CustomerImpact.objects.create(
        incident=hidden, customer=secret, level=CustomerImpact.Level.OUTAGE
    )
    params = {"provider": "example-cloud", "service": "example-cloud.lb"}

    response = client.get(URL, params)
    html = response.content.decode()

    assert listed(response) == [shown.title]
    assert hidden.title not in html
    assert "Secret Customer" not in html
    assert response.context["page"].paginator.count == 1
    assert response.context["resolve"]["known"] == 1
    assert [(c.name, c.count) for c in response.context["customers"]] == [("Streamy", 1)]
    for url in FEEDS:
        assert [title for title, _ in feed_entries(client.get(url, params))] == [shown.title]


# --- Statistics ----------------------------------------------------------------------------


def test_statistics_count_total_median_and_customers_hit_most(
    client, make_incidents, provider, customer
):
    first, second, third, unresolved = make_incidents(4)
    # Times to resolve: 2 h, 5 h and 30 h; one unknown.
    for incident, hours in [(first, 2), (second, 5), (third, 30)]:
        Incident.objects.filter(pk=incident.pk).update(
            mitigated_at=None, resolved_at=incident.started_at + timedelta(hours=hours)
        )
    Incident.objects.filter(pk=unresolved.pk).update(mitigated_at=None, resolved_at=None)
    rarely = Customer.objects.create(name="Rarely Hit", slug="rarely")
    CustomerImpact.objects.create(
        incident=first, customer=rarely, level=CustomerImpact.Level.DEGRADED
    )
    spared = Customer.objects.create(name="Spared", slug="spared")
    for incident in (first, second):
        CustomerImpact.objects.create(
            incident=incident, customer=spared, level=CustomerImpact.Level.NOT_AFFECTED
        )

    response = client.get(URL, {"provider": "example-cloud"})
    html = response.content.decode()

    assert response.context["page"].paginator.count == 4
    assert response.context["resolve"] == {
        "imprecise": 0,
        "known": 3,
        "total": timedelta(hours=37),
        "median": None,  # three times are too few for a median
    }
    assert "<strong>1 d 13 h</strong>" in html
    assert "over the 3 incidents whose end is known" in html
    assert "too few to tell" in html and "<strong>5 h</strong>" not in html
    assert f"a median from {SUMMARISE_FROM} known times on" in html
    # Not affected is not hit.
    assert [(c.name, c.count) for c in response.context["customers"]] == [
        ("Streamy", 4),
        ("Rarely Hit", 1),
    ]


def test_the_median_is_given_from_enough_times_to_resolve(client, make_incidents, provider):
    incidents = make_incidents(SUMMARISE_FROM)
    # 1 h, 2 h, ... : the median lies halfway between the middle two.
    for hours, incident in enumerate(incidents, start=1):
        Incident.objects.filter(pk=incident.pk).update(
            mitigated_at=None, resolved_at=incident.started_at + timedelta(hours=hours)
        )
    middle = (SUMMARISE_FROM + 1) / 2

    response = client.get(URL, {"provider": "example-cloud"})

    assert response.context["resolve"]["median"] == timedelta(hours=middle)
    assert f"<strong>{duration_text(timedelta(hours=middle))}</strong>" in response.content.decode()


def test_statistics_say_so_when_no_end_is_known(client, provider):
    published("Still going", provider, 1)

    html = client.get(URL, {"provider": "example-cloud"}).content.decode()

    assert html.count('<span class="unknown">not known</span>') == 2
    assert '<span class="unknown">none reported</span>' in html


def test_a_selection_with_no_incidents_says_so(client, provider, service):
    published_on_their_own(service)
    response = client.get(URL, {"service": "example-cloud.lb"})

    assert response.status_code == 200
    assert "No published incident involves this choice yet." in response.content.decode()


@pytest.mark.parametrize("count", [1, 30])
def test_query_count_does_not_grow_with_incidents(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    # 1 providers, 2 their services, 3 their regions (the form, and the keys to match),
    # 4 paginator count, 5 start and end times (total and median), 6 customers hit most,
    # 7 a page of incidents with providers, 8 their services, 9 regions, 10 customers hit.
    with django_assert_num_queries(10):
        response = client.get(
            URL,
            {
                "provider": "example-cloud",
                "service": "example-cloud.lb",
                "region": "example-cloud.east-1",
            },
        )
    assert len(listed(response)) == min(count, 20)


def test_query_count_without_a_selection(client, make_incidents, django_assert_num_queries):
    make_incidents(3)
    # 1 providers, 2 their services, 3 their regions: the form only.
    with django_assert_num_queries(3):
        client.get(URL)


def test_pages_keep_the_selection(client, make_incidents):
    make_incidents(25)

    response = client.get(URL, {"provider": "example-cloud", "page": "2"})
    html = response.content.decode()

    assert len(listed(response)) == 5
    assert 'href="?provider=example-cloud&amp;page=1" rel="prev"' in html


# --- Unknown and hostile input -------------------------------------------------------------


def test_unknown_keys_are_listed_and_ignored(client, incident):
    response = client.get(
        URL,
        {
            "provider": ["nope", "example-cloud"],
            "service": ["example-cloud.nope", "lb"],
            "region": "elsewhere.east-1",
        },
    )
    html = response.content.decode()

    assert response.status_code == 200
    assert "4 keys in this address name nothing in the knowledge base" in html
    for parameter, value in [
        ("provider", "nope"),
        ("service", "example-cloud.nope"),
        ("service", "lb"),
        ("region", "elsewhere.east-1"),
    ]:
        assert f"<li>{parameter} <code>{value}</code></li>" in html
    assert listed(response) == [incident.title]
    assert 'href="/my-stack/?provider=example-cloud">Use this address without them' in html


def test_only_unknown_keys_show_nothing_rather_than_everything(client, incident):
    response = client.get(URL, {"provider": "nope"})
    html = response.content.decode()

    assert response.status_code == 200
    assert "One key in this address names nothing" in html
    assert "Nothing is chosen yet" in html
    assert incident.title not in html


def test_blank_values_are_ignored_quietly(client, incident):
    html = client.get(URL, {"provider": ["", "  "]}).content.decode()

    assert "nothing in the knowledge base" not in html
    assert "Nothing is chosen yet" in html


LONG = "x" * 10_000
HOSTILE = {
    "long values": {"provider": LONG, "service": f"example-cloud.{LONG}", "region": LONG},
    "NUL bytes": {"provider": "example\x00cloud", "service": "\x00", "region": "a.\x00b"},
    "500 repeats": {"provider": ["example-cloud"] * 250 + [f"p{n}" for n in range(250)]},
    "markup": {"provider": '<script>alert(1)</script>"', "service": "a.b'><img src=x>"},
    "odd page": {"provider": "example-cloud", "page": ["-1", "9" * 50, "\x00"]},
}


@pytest.mark.parametrize("url", [URL, *FEEDS])
@pytest.mark.parametrize("params", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_never_gives_a_500(client, incident, url, params):
    response = client.get(url, params)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<script>alert" not in body
    assert "\x00" not in body
    if url.endswith((".atom", ".rss")):
        ElementTree.fromstring(response.content)  # still well-formed XML


def test_hostile_input_is_shown_short_and_counted(client, incident):
    params = {"provider": [f"{n}{LONG}" for n in range(500)]}

    html = client.get(URL, params).content.decode()
    notice = html.partition('role="alert"')[2].partition("</div>")[0]

    assert "500 keys in this address name nothing" in html
    shown = re.findall(r"<li>provider <code>([^<]*)</code></li>", notice)
    assert shown == [f"{n}{LONG[: 59 - len(str(n))]}…" for n in range(10)]
    assert "<li>and 490 more</li>" in notice


def test_percent_encoded_nul_and_invalid_utf8_give_200(client, incident):
    for query in ["provider=%00", "service=%ff%fe", "region=example-cloud.%00east-1"]:
        assert client.get(f"{URL}?{query}").status_code == 200
        assert client.get(f"{FEEDS[0]}?{query}").status_code == 200


def test_too_many_parameters_are_refused_with_400(client, db):
    # Django refuses more than DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) parameters outright.
    query = "&".join(["provider=x"] * 1_500)

    assert client.get(f"{URL}?{query}").status_code == 400


# --- Feeds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", FEEDS)
def test_feed_lists_the_selection_newest_first(client, provider, service, other, url):
    other_provider, store, west = other
    newer = published("Newer", other_provider, 1, regions=[west])
    older = published("Older", provider, 5)
    published("Unrelated", other_provider, 0)

    response = client.get(url, {"provider": "example-cloud", "region": "other-cloud.west-2"})

    assert feed_entries(response) == [
        (incident.title, f"http://testserver{incident.get_absolute_url()}")
        for incident in (newer, older)
    ]
    assert "Incidents involving Example Cloud, Other Cloud: west-2" in response.content.decode()


def test_atom_feed_links_to_its_page_and_itself_with_the_canonical_query(client, incident):
    response = client.get(FEEDS[0], {"service": ["nope", "example-cloud.lb"]})
    root = ElementTree.fromstring(response.content)
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}

    assert links == {
        "alternate": "http://testserver/my-stack/?service=example-cloud.lb",
        "self": "http://testserver/my-stack/feed.atom?service=example-cloud.lb",
    }


@pytest.mark.parametrize("url", FEEDS)
def test_feed_whose_keys_are_all_unknown_or_blank_is_empty(client, incident, url):
    assert feed_entries(client.get(url, {"provider": "nope"})) == []
    assert feed_entries(client.get(url, {"service": ""})) == []


@pytest.mark.parametrize("url", FEEDS)
def test_feed_asked_for_nothing_is_all_published_incidents(client, make_incidents, url):
    # What the page without a selection advertises as "all incidents", like /incidents/feed.
    shown, hidden = make_incidents(2)
    Incident.objects.filter(pk=hidden.pk).update(status=Incident.Status.DRAFT)

    response = client.get(url, {"page": "2"})

    assert [title for title, _ in feed_entries(response)] == [shown.title]
    assert "<title>postmortems: All incidents</title>" in response.content.decode()


def test_page_advertises_and_shows_the_feed_of_its_selection(client, incident):
    html = client.get(URL, {"provider": "example-cloud", "page": "1"}).content.decode()

    assert (
        '<link rel="alternate" type="application/atom+xml" title="Incidents in your stack (Atom)" '
        'href="/my-stack/feed.atom?provider=example-cloud">'
    ) in html
    assert 'href="/my-stack/feed.rss?provider=example-cloud"' in html
    assert "<code>http://testserver/my-stack/feed.atom?provider=example-cloud</code>" in html
    assert "<code>http://testserver/my-stack/feed.rss?provider=example-cloud</code>" in html
    assert 'type="application/json"' not in html


def test_page_without_a_selection_advertises_the_feed_of_all_incidents(client, incident):
    html = client.get(URL).content.decode()

    assert (
        '<link rel="alternate" type="application/atom+xml" title="All incidents (Atom)" '
        'href="/my-stack/feed.atom">'
    ) in html


@pytest.mark.parametrize("count", [1, 30])
def test_feed_query_count_does_not_grow_with_incidents(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    # 1 providers, 2 their services, 3 their regions (to match the keys), 4 the first incidents
    # with providers, 5 their services, 6 regions, 7 key timeline events, 8 their sources and
    # 9 the sources' latest archived copies (the drift line).
    with django_assert_num_queries(9):
        response = client.get(FEEDS[0], {"provider": "example-cloud"})
    assert len(feed_entries(response)) == count
