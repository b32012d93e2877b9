"""Hostile input at every public door: no query string, path or method a stranger can send makes
a page, feed, export or API answer fail (5xx), and what comes back is well-formed for its type.

Values are written already percent-encoded, so that bytes no browser would send (invalid UTF-8,
encoded lone surrogates, NUL) reach Django as they would from the wire. The test client re-raises
any exception a view lets escape, which fails the test as a 500 would.
"""

import json
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from django.test import Client

from outages.models import Incident

ELB = "aws-elb-us-east-2012-12-24"
ALLOWED = {200, 301, 302, 400, 404, 405, 410}
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'


def encoded(text):
    return quote(text, safe="")


# One value per kind of input a stranger can send, percent-encoded as it arrives on the wire.
# Where one value can carry several variants of its kind (NUL inside a word and a key, every
# undecodable byte sequence), it does; values that stress different code stay apart.
HOSTILE = {
    "empty": "",
    "blank": "%20%20",
    "long": "a" * 10_001,
    "long-unicode": encoded("é" * 5_000),
    "long-words": encoded("elb " * 2_600),
    "nul": "aws.elb%00",
    "controls": "%01%07%08%0B%0C%1B%7F%C2%85" + encoded("a\r\nSet-Cookie: x=1"),
    "format-characters": encoded("\u202ee\u200dl\u200cb\ufeff"),
    "combining": encoded("e\u0301\u0302\u0303\u0304" * 50),
    "emoji": encoded("🔥👩‍💻🏳️‍🌈"),
    "fullwidth": encoded("ａｗｓ"),
    "nonchars": encoded("\ufffe\uffff"),
    "private-use": encoded("\ue000elb\ue001"),  # the search snippets' own markers
    "undecodable": "%ED%A0%80%FF%FE%C0%AE%C0%AF",  # a lone surrogate, invalid, overlong
    "markup": encoded(SCRIPT + ATTRIBUTE),
    "sql": encoded("' OR 1=1 --\"; DROP TABLE outages_incident; --"),
    "search-operators": encoded("NEAR(elb ^ebs title:elb elb:* AND OR NOT &|!"),
    "search-syntax-only": encoded('*(&|! "'),
    "search-negations": encoded("- -- -elb or"),
    "search-stop-words": encoded("the of and"),
    "negative": "-1",
    "zero": "0",
    "huge": "1" + "0" * 30,
    "long-number": "9" * 10_001,
    "float": "1.5",
    "exponent": "1e999999",
    "nan": "NaN",
    "infinity": "-Infinity",
    "non-numeric": "abc",
    "far-date": "9999-12-31",
    "bad-date": "2012-02-30",
    "first-date": "0001-01-01",
    "dots": encoded("aws..us-east-1."),
    "traversal": encoded("../../etc/passwd"),
    "percent": "%25%25",
}

# Every parameter the incident list reads (outages/web/filters.py) and its page. Parameters it
# does not read are sent to every page at once (KITCHEN_SINK, below).
LIST_PARAMETERS = [
    "q",
    "provider",
    "service",
    "region",
    "customer",
    "cause",
    "year",
    "since",
    "until",
    "impact",
    "sort",
    "page",
]

# One parameter per kind the list reads: the others of a kind go through the same form field.
PARAMETER_KINDS = {
    "search": "q",
    "slug": "provider",  # and customer: a choice of row by slug
    "key": "service",  # and region: "<provider>.<slug>", KeyField
    "choice": "sort",  # and cause, impact
    "number": "year",  # a bounded whole number
    "date": "since",  # and until
    "page": "page",
}

# Query strings that combine valid filters with hostile ones, so that the search, facet and
# sorting code runs on real results next to the hostile value.
COMBINED = {
    "repeated-page": "page=1&page=2",
    "repeated-provider": "provider=aws&provider=google-cloud&provider=%00",
    "repeated-q": "q=elb&q=%00&q=netflix",
    "search-bad-sort": "q=elb&sort=%00",
    "search-bad-page": "q=elb&page=-1",
    "search-huge-page": f"q=netflix&sort=relevance&page={'9' * 40}",
    "search-html": f"q=elb+{encoded(SCRIPT)}",
    "search-attribute": f"q=netflix+{encoded(ATTRIBUTE)}",
    "search-markers": f"q={encoded(chr(0xE000) + 'load balancer' + chr(0xE001))}",
    "search-phrase-open": "q=%22load+balancer",
    "every-filter": (
        "q=outage&provider=aws&service=aws.elb&region=aws.us-east-1&customer=netflix"
        "&cause=operational-error&year=2012&since=2012-01-01&until=2012-12-31&impact=outage"
        "&sort=longest&page=1"
    ),
    "every-sort-longest": "sort=longest",
    "every-sort-customers": "sort=customers",
    "every-sort-oldest": "sort=oldest",
    "dates-backwards": "since=2020-01-01&until=2010-01-01",
    "year-bounds": "year=1899",
    "year-fraction": "year=2012.5",
    "key-without-dot": "service=elb&region=us-east-1",
    "key-of-other-provider": "service=google-cloud.elb&region=aws.us-east1",
    "empty-everything": "&".join(f"{name}=" for name in LIST_PARAMETERS),
    "names-only": "q&provider&page",
    "no-names": "=elb&=&&",
    "bare-ampersands": "&&&;;;",
    "semicolons": "q=elb;provider=aws",
}


def check(response):
    """Not a server error, one of the statuses a reader may get, and a well-formed body."""
    status = response.status_code
    assert status < 500
    assert status in ALLOWED, status
    kind = response.get("Content-Type", "")
    body = response.content
    if response.request["REQUEST_METHOD"] == "HEAD":
        assert body == b""
    elif "json" in kind:
        json.loads(body)
    elif "xml" in kind and status == 200:
        ElementTree.fromstring(body)
    elif "html" in kind:
        text = body.decode()
        assert SCRIPT not in text
        assert ATTRIBUTE not in text
    return response


@pytest.fixture
def real_data(shipped_data, db):
    pass


# --- The incident list and everything that reads its query string --------------------------

FILTERED = ["/incidents/", "/incidents/feed.atom", "/incidents/feed.rss", "/api/v1/incidents/"]


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("parameter", PARAMETER_KINDS.values(), ids=PARAMETER_KINDS.keys())
def test_a_hostile_filter_value_never_fails(client, real_data, parameter, value):
    # The page lists what is wrong, with no results; it does not refuse the request.
    page = check(client.get(f"/incidents/?{parameter}={value}"))
    assert page.status_code == 200

    # The API answers 400 for a filter it cannot read, 404 for a page it does not have; JSON
    # either way.
    api = check(client.get(f"/api/v1/incidents/?{parameter}={value}"))
    assert api.status_code in (200, 400, 404)
    assert api["Content-Type"] == "application/json"


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("every", [True, False], ids=["every-parameter", "search-only"])
def test_a_hostile_filter_value_never_breaks_a_feed(client, real_data, every, value):
    # The feeds read the list's query string through the same filters, each of which the form
    # cleans in turn, so one request with the value in every parameter reaches every one. The
    # search runs only when the rest is valid, hence a request with ?q= alone.
    names = LIST_PARAMETERS if every else ["q"]
    query = "&".join(f"{name}={value}" for name in names)
    for url in ["/incidents/feed.atom", "/incidents/feed.rss"]:
        assert check(client.get(f"{url}?{query}")).status_code == 200, url


@pytest.mark.parametrize("query", COMBINED.values(), ids=COMBINED.keys())
@pytest.mark.parametrize("url", FILTERED)
def test_hostile_values_next_to_real_results_never_fail(client, real_data, url, query):
    check(client.get(f"{url}?{query}"))


@pytest.mark.parametrize("parameter", ["provider", "service", "region", "customer", "q"])
def test_a_nul_in_a_filter_is_a_message_on_the_page_and_400_in_the_api(
    client, real_data, parameter
):
    page = check(client.get(f"/incidents/?{parameter}=aws.elb%00"))
    api = check(client.get(f"/api/v1/incidents/?{parameter}=aws.elb%00"))

    assert page.status_code == 200
    assert page.context["errors"]
    assert not page.context["page"].object_list
    assert api.status_code == 400
    assert parameter in api.json()["errors"]


def test_injected_markup_in_a_search_is_shown_escaped(client, real_data):
    response = check(client.get("/incidents/", {"q": f"load balancer or {SCRIPT}"}))

    assert ELB in [incident.slug for incident in response.context["page"]]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.content.decode()


def test_too_many_parameters_is_a_bad_request(client, real_data):
    many = "&".join(f"x{number}=1" for number in range(1_100))

    for url in ["/incidents/", "/incidents/feed.atom", "/api/v1/incidents/", "/my-stack/"]:
        assert check(client.get(f"{url}?{many}")).status_code == 400


# --- Pages of lists: ?page= ----------------------------------------------------------------

# One door per kind of paged list: the incident list's own paginator, the HTML helper over names,
# incidents and a customer's impacts, my stack, and the API's pages as lists and inside a detail.
PAGED = [
    "/incidents/",
    "/providers/",
    "/providers/aws/",
    "/customers/netflix/",
    "/my-stack/?provider=aws&",
    "/api/v1/incidents/",
    "/api/v1/providers/",
    "/api/v1/providers/aws/",
    "/api/v1/customers/netflix/",
]
# One value per kind of page number.
PAGES = {
    "below-the-first": "page=-1",
    "beyond-the-last": f"page={10**30}",
    "float": "page=1.5",
    "whole-float": "page=2.0",
    "exponent": "page=1e3",
    "non-numeric": "page=last",
    "nan": "page=nan",
    "empty": "page=",
    "padded": "page=+1%20",
    "underscored": "page=1_000",
    "other-digits": f"page={encoded('٣')}",
    "nul": "page=1%00",
    "long": f"page={'9' * 10_001}",
    "invalid-utf8": "page=%FF%FE",
    "repeated": "page=1&page=2",
}


@pytest.mark.parametrize("query", PAGES.values(), ids=PAGES.keys())
@pytest.mark.parametrize("url", PAGED)
def test_any_page_number_is_a_page_or_a_404(client, real_data, url, query):
    separator = "" if url.endswith("&") else "?"
    response = check(client.get(f"{url}{separator}{query}"))

    if url.startswith("/api/"):
        assert response.status_code in (200, 404)
        assert "json" in response["Content-Type"]
    else:
        # HTML pages show the nearest real page for any ?page=.
        assert response.status_code == 200


@pytest.mark.parametrize("query", ["p=-1", "p=0", f"p={10**30}", "p=1.5", "p=%00", "p=%FF"])
def test_any_sitemap_page_is_a_sitemap_or_a_404(client, real_data, query):
    assert check(client.get(f"/sitemap.xml?{query}")).status_code in (200, 404)


# --- My stack and its feeds ------------------------------------------------------------------

STACK = ["/my-stack/", "/my-stack/feed.atom", "/my-stack/feed.rss"]


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_stack_key_never_fails(client, real_data, value):
    query = f"provider=aws&service={value}&region=aws.{value}&provider={value}&page={value}"
    for url in STACK:
        assert check(client.get(f"{url}?{query}")).status_code == 200, url


def test_unknown_stack_keys_are_listed_back_shortened_and_printable(client, real_data):
    response = check(client.get(f"/my-stack/?provider=x%00y{'z' * 10_000}&service={SCRIPT}"))

    shown = [value for _, value in response.context["stack"].unknown]
    assert all(len(value) <= 60 and "\x00" not in value for value in shown)


# --- Pages that take no query: the query string is ignored ------------------------------------

EVERY_PAGE = [
    "/",
    "/incidents/",
    f"/incidents/{ELB}/",
    f"/incidents/{ELB}/postmortem.md",
    "/incidents/feed.atom",
    "/incidents/feed.rss",
    "/providers/",
    "/providers/aws/",
    "/providers/aws/feed.atom",
    "/providers/aws/feed.rss",
    "/providers/aws/services/elb/",
    "/providers/aws/services/elb/feed.atom",
    "/providers/aws/services/elb/feed.rss",
    "/providers/aws/regions/us-east-1/",
    "/providers/aws/regions/us-east-1/feed.atom",
    "/providers/aws/regions/us-east-1/feed.rss",
    "/customers/",
    "/customers/netflix/",
    "/customers/netflix/feed.atom",
    "/customers/netflix/feed.rss",
    "/statistics/",
    "/map/",
    "/my-stack/",
    "/my-stack/feed.atom",
    "/my-stack/feed.rss",
    "/api/v1/",
    "/api/v1/incidents/",
    f"/api/v1/incidents/{ELB}/",
    "/api/v1/providers/",
    "/api/v1/providers/aws/",
    "/api/v1/services/",
    "/api/v1/providers/aws/services/elb/",
    "/api/v1/regions/",
    "/api/v1/providers/aws/regions/us-east-1/",
    "/api/v1/customers/",
    "/api/v1/customers/netflix/",
    "/sitemap.xml",
    "/robots.txt",
]
KITCHEN_SINK = "&".join(
    f"{name}{index}={value}" for index, (name, value) in enumerate(HOSTILE.items())
)


@pytest.mark.parametrize("url", EVERY_PAGE)
def test_every_page_answers_200_to_a_plain_get(client, real_data, url):
    assert check(client.get(url)).status_code == 200


@pytest.mark.parametrize("url", EVERY_PAGE)
def test_unknown_hostile_parameters_are_ignored(client, real_data, url):
    address = f"{url}?{KITCHEN_SINK}&%00=%00&%FF%FE=1"
    first = check(client.get(address))
    again = check(client.get(address))  # from the page cache, where the page is cached

    assert first.status_code == again.status_code == 200
    assert first.content == again.content


# --- Odd paths --------------------------------------------------------------------------------

# Each kind of slug in a path, at each kind of door that reads it (a page, a feed, the Markdown
# export, the API); a provider's slug also inside a service's and a region's path.
SLUGGED = {
    "incident": ["/incidents/{}/", "/incidents/{}/postmortem.md", "/api/v1/incidents/{}/"],
    "provider": [
        "/providers/{}/",
        "/providers/{}/feed.atom",
        "/providers/{}/services/elb/",
        "/api/v1/providers/{}/",
        "/api/v1/providers/{}/regions/us-east-1/",
    ],
    "service": [
        "/providers/aws/services/{}/",
        "/providers/aws/services/{}/feed.rss",
        "/api/v1/providers/aws/services/{}/",
    ],
    "region": [
        "/providers/aws/regions/{}/",
        "/providers/aws/regions/{}/feed.atom",
        "/api/v1/providers/aws/regions/{}/",
    ],
    "customer": ["/customers/{}/", "/customers/{}/feed.rss", "/api/v1/customers/{}/"],
}
# One value per kind of odd slug.
SLUGS = {
    "traversal": "../../etc/passwd",
    "encoded-traversal": "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "half-encoded-traversal": "..%2f..%2fetc%2fpasswd",
    "backslashes": "..%5c..%5cwindows",
    "dot": ".",
    "long": "-" * 10_001,
    "non-ascii": encoded("\u202eélb🔥"),
    "undecodable": "%ED%A0%80%FF%FE",
    "nul": "aws%00",
    "space": "aws%20",
    "uppercase": "AWS",
    "sql": encoded("aws' OR 1=1 --"),
    "html": encoded(SCRIPT),
    "double-encoded": "%252e%252e%252f",
}


@pytest.mark.parametrize("slug", SLUGS.values(), ids=SLUGS.keys())
@pytest.mark.parametrize("templates", SLUGGED.values(), ids=SLUGGED.keys())
def test_an_odd_slug_is_a_404(client, real_data, templates, slug):
    for template in templates:
        url = template.format(slug)
        assert check(client.get(url)).status_code == 404, url


@pytest.mark.parametrize("path", ["/incidents", "/api/v1/incidents", "/providers/aws"])
def test_a_missing_slash_is_a_redirect(client, real_data, path):
    assert check(client.get(f"{path}?q=%00")).status_code == 301


@pytest.mark.parametrize(
    "path",
    [
        "/incidents/%FF%FE",
        "/incidents/%ED%A0%80",
        "/incidents/aws%00",
        "/providers/%E2%80%AEaws",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2F%2Fevil.example",  # the test client would read "//evil.example" as a host
        "/incidents/%252e%252e%252f",
    ],
)
def test_an_odd_path_without_a_slash_is_a_404_never_a_redirect_away(client, real_data, path):
    response = check(client.get(path))

    assert response.status_code in (301, 404)
    if response.status_code == 301:
        assert response["Location"].startswith("/") and not response["Location"].startswith("//")


@pytest.mark.parametrize(
    ("status", "expected"),
    [(Incident.Status.DRAFT, 404), (Incident.Status.REVIEW, 404), (Incident.Status.WITHDRAWN, 410)],
)
def test_an_unpublished_incident_shows_through_no_door(client, real_data, status, expected):
    Incident.objects.filter(slug=ELB).update(status=status)

    page = check(client.get(f"/incidents/{ELB}/"))
    export = check(client.get(f"/incidents/{ELB}/postmortem.md"))
    api = check(client.get(f"/api/v1/incidents/{ELB}/"))

    assert page.status_code == expected
    assert export.status_code == 404
    assert api.status_code == 404
    for url in ["/incidents/", "/incidents/feed.atom", "/api/v1/incidents/", "/sitemap.xml"]:
        assert ELB not in check(client.get(f"{url}?q=elb")).content.decode()


# --- Methods and headers ----------------------------------------------------------------------


@pytest.mark.parametrize("url", EVERY_PAGE)
def test_head_answers_like_get_without_a_body(client, real_data, url):
    assert check(client.head(url)).status_code == 200


@pytest.mark.parametrize("method", ["post", "options", "delete"])
@pytest.mark.parametrize("url", EVERY_PAGE)
def test_other_methods_never_fail(client, real_data, url, method):
    # The test client skips CSRF checks, so a POST reaches the view (in production an unsafe
    # method without a token is refused 403 first). Views that say which methods they allow
    # answer 405; the plain reader pages answer as to a GET.
    response = check(getattr(client, method)(url, data=f"q={SCRIPT}", content_type="text/plain"))

    assert response.status_code in (200, 405)


@pytest.mark.parametrize("url", EVERY_PAGE)
def test_an_unsafe_method_without_a_csrf_token_is_refused(real_data, url):
    # What production answers: the CSRF check runs before any view.
    response = Client(enforce_csrf_checks=True).post(url, {"q": SCRIPT})

    assert response.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_IF_MODIFIED_SINCE": "not a date"},
        {"HTTP_IF_MODIFIED_SINCE": "Thu, 01 Jan 99999 00:00:00 GMT"},
        {"HTTP_IF_NONE_MATCH": '"' * 1_000},
        {"HTTP_IF_NONE_MATCH": "*, W/, \x00"},
        {"HTTP_ACCEPT_LANGUAGE": "x" * 10_000},
        {"HTTP_ACCEPT": "application/json;q=NaN, */*;q=-1"},
        {"HTTP_X_FORWARDED_FOR": "' OR 1=1 --"},
        {"HTTP_COOKIE": "sessionid=%00; csrftoken=" + "x" * 5_000},
    ],
    ids=lambda headers: next(iter(headers)),
)
@pytest.mark.parametrize(
    "url",
    ["/incidents/", "/incidents/feed.atom", "/api/v1/incidents/", f"/incidents/{ELB}/"],
)
def test_odd_headers_never_fail(client, real_data, url, headers):
    check(client.get(url, **headers))


@pytest.mark.parametrize("host", ["evil.example", "testserver<script>", "testserver@evil.example"])
def test_a_hostile_host_header_is_a_bad_request(client, real_data, host):
    for url in ["/robots.txt", "/sitemap.xml", "/api/v1/", "/incidents/feed.atom"]:
        assert check(client.get(url, HTTP_HOST=host)).status_code == 400
