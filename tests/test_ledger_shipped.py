"""The promise ledger on the shipped data: its counts against hand-computed ones, the dated
states the facts support, filters (and input they cannot read) on the page, JSON and feeds."""

import feedparser
import pytest

# --- The shipped data, counted by hand --------------------------------------------------------

# From the shipped fixtures: 43 promised fixes. Done (kept): ELB 2012 #1 and #2, EBS Oct 2012 #6
# (refunds), S3 2017 #1, network 2021 #1. Promised (open): ELB 2012 #3, network 2021 #2-#4.
# No source links a promise to a later incident, so nothing recurred; the other 34 are unknown.
SHIPPED_TOTALS = {"kept": 5, "open": 4, "abandoned": 0, "recurred": 0, "unknown": 34, "all": 43}
SHIPPED_YEARS = {
    2021: {"all": 4, "kept": 1, "open": 3},
    2020: {"all": 10, "unknown": 10},
    2019: {"all": 7, "unknown": 7},
    2017: {"all": 4, "kept": 1, "unknown": 3},
    2012: {"all": 11, "kept": 3, "open": 1, "unknown": 7},
    2011: {"all": 7, "unknown": 7},
}


@pytest.fixture
def shipped(shipped_data, db):
    return None


def test_the_ledgers_counts_are_the_hand_computed_ones(client, shipped):
    data = client.get("/api/v1/ledger/").json()

    assert data["totals"] == SHIPPED_TOTALS
    years = {
        row["year"]: {key: count for key, count in row.items() if key != "year" and count}
        for row in data["years"]
    }
    assert years == SHIPPED_YEARS
    assert list(years) == sorted(years, reverse=True)
    html = client.get("/ledger/").content.decode()
    assert "What became of 43 promised fixes" in html
    stats = client.get("/statistics/").content.decode()
    assert "<dt>Unknown</dt><dd>34</dd>" in stats
    assert "<dt>Kept (done, as a source states)</dt><dd>5</dd>" in stats


def test_the_elb_promises_carry_the_summarys_date_and_source(client, shipped):
    data = client.get("/api/v1/ledger/aws/?year=2012").json()
    elb = [fix for fix in data["results"] if fix["incident"]["slug"].startswith("aws-elb")]

    assert [fix["status"] for fix in elb] == ["done", "done", "planned"]
    for fix in elb:
        [entry] = fix["history"]
        assert entry["date"] == "2012-12"  # the summary is undated: 29 or 31 Dec 2012
        assert entry["source"] == "https://aws.amazon.com/message/680587/"
        assert fix["took"] is None and fix["links"] == []
    unknown = [fix for fix in data["results"] if fix["status"] == "unknown"]
    assert unknown and all(fix["history"][0]["date"] is None for fix in unknown)


@pytest.mark.parametrize(
    "query, count",
    [
        ("", 43),
        ("?year=2012", 11),
        ("?state=planned", 4),
        ("?state=done&year=2012", 3),
        ("?provider=aws", 36),
        ("?provider=google-cloud", 7),
        ("?state=abandoned", 0),
    ],
)
def test_filters_narrow_the_page_json_and_feed_alike(client, shipped, query, count):
    assert client.get(f"/api/v1/ledger/{query}").json()["count"] == count
    html = client.get(f"/ledger/{query}").content.decode()
    assert html.count('<li class="ledger-fix">') == min(count, 25)
    feed = feedparser.parse(client.get(f"/ledger/feed.atom{query}").content)
    assert not feed.bozo and len(feed.entries) == count


@pytest.mark.parametrize(
    "query, named",
    [
        ("?year=abc", "Year of the incident"),
        ("?year=1800", "Year of the incident"),
        ("?year=%00", "Year of the incident"),
        ("?state=zzz", "Current state"),
        ("?provider=nobody", "Provider"),
        ("?provider=%3Cscript%3E", "Provider"),
    ],
)
def test_a_filter_that_cannot_be_read_is_a_400_naming_it(client, shipped, query, named):
    page = client.get(f"/ledger/{query}")
    assert page.status_code == 400
    assert named in page.content.decode() and "could not be used" in page.content.decode()
    api = client.get(f"/api/v1/ledger/{query}")
    assert api.status_code == 400 and named in api.json()["errors"]
    assert client.get(f"/ledger/feed.rss{query}").status_code == 400


def test_an_unknown_provider_has_no_ledger(client, shipped):
    assert client.get("/ledger/nobody/").status_code == 404
    assert client.get("/api/v1/ledger/nobody/").status_code == 404
    assert client.get("/ledger/nobody/feed.atom").status_code == 404


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_the_feeds_parse_with_one_entry_per_promise(client, shipped, kind):
    feed = feedparser.parse(client.get(f"/ledger/aws/feed.{kind}").content)

    assert not feed.bozo
    assert feed.feed.title == "postmortems: Promised fixes of Amazon Web Services"
    ids = [entry.id for entry in feed.entries]
    assert len(ids) == 36 == len(set(ids))
    assert "ledger:aws-elb-us-east-2012-12-24:3" in ids
    assert all(entry.link.startswith("http://testserver/incidents/") for entry in feed.entries)


def test_the_pages_advertise_their_feeds_and_json(client, shipped):
    html = client.get("/ledger/aws/?state=done").content.decode()
    assert 'href="/ledger/aws/feed.atom?state=done"' in html
    assert 'href="/api/v1/ledger/aws/?state=done"' in html
