"""Reading status-page histories (Statuspage, Google Cloud, Atom/RSS) into ProviderIncidents,
from the recorded files in tests/data/status_pages/, and refusing what is not one of them."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from outages.interchange.status_pages import ParseFailed, parse

DATA = Path(__file__).parent / "data" / "status_pages"
API = "https://status.example.com/api/v2/incidents.json"


def read(name, format, url=""):
    return {one.id: one for one in parse(format, (DATA / name).read_bytes(), url=url)}


def at(text):
    return datetime.fromisoformat(text).astimezone(UTC)


# --- Statuspage --------------------------------------------------------------------------------


def test_statuspage_reads_every_incident_with_updates_oldest_first():
    incidents = read("statuspage-incidents.json", "statuspage", API)

    assert list(incidents) == [
        "tst0001unresolved",
        "tst0002maint",
        "tst0003pmupdate",
        "tst0004postmortem",
    ]
    outage = incidents["tst0004postmortem"]
    assert outage.title == "Test incident: API outage in the test region"
    assert outage.impact == "major"
    assert outage.url == "https://stspg.example.com/t0004"
    assert outage.components == ("Example API", "Example Console")
    assert [update.status for update in outage.updates] == [
        "investigating",
        "identified",
        "monitoring",
        "resolved",
    ]
    assert outage.updates[0].at == at("2026-11-01T10:02:00Z")
    assert outage.updates[0].id == "upd0004a"
    assert outage.began_at == at("2026-11-01T09:45:00Z")
    assert outage.monitoring_at == at("2026-11-01T11:00:00Z")
    assert outage.resolved_at == at("2026-11-01T11:30:00Z")
    assert outage.postmortem.startswith("Test postmortem opening paragraph")
    assert outage.raw["id"] == "tst0004postmortem"


def test_statuspage_postmortem_update_display_time_and_page_link():
    incident = read("statuspage-incidents.json", "statuspage", API)["tst0003pmupdate"]

    # No shortlink: the page's own address for the incident.
    assert incident.url == "https://status.example.com/incidents/tst0003pmupdate"
    assert incident.postmortem.startswith("## Summary\nTest postmortem")
    first = incident.updates[0]
    assert first.text == "Test update: sign-in is slow.\nWe are looking into it."
    assert first.display_at == at("2026-11-05T13:55:00Z")
    assert incident.updates[1].display_at is None  # shown as posted
    # Components named only by the updates count too.
    assert incident.components == ("Example Sign-in",)


def test_statuspage_maintenance_and_unresolved_incidents():
    incidents = read("statuspage-incidents.json", "statuspage", API)

    maintenance = incidents["tst0002maint"]
    assert maintenance.impact == "maintenance"
    assert [update.status for update in maintenance.updates] == [
        "scheduled",
        "in_progress",
        "verifying",
        "completed",
    ]
    unresolved = incidents["tst0001unresolved"]
    assert unresolved.resolved_at is None
    assert unresolved.postmortem == ""
    assert unresolved.updates[0].at == at("2026-11-20T09:00:12.345Z")


def test_statuspage_edited_history_keeps_update_ids():
    before = read("statuspage-incidents.json", "statuspage", API)
    after = read("statuspage-incidents-edited.json", "statuspage", API)

    old = {u.id: u.text for u in before["tst0004postmortem"].updates}
    new = {u.id: u.text for u in after["tst0004postmortem"].updates}
    assert old.keys() == new.keys()
    assert [key for key in old if old[key] != new[key]] == ["upd0004b"]
    assert [u.id for u in after["tst0001unresolved"].updates] == [
        "upd0001a",
        "upd0001b",
        "upd0001c",
    ]


def test_statuspage_without_a_page_address_uses_the_fetched_origin():
    body = b'{"incidents": [{"id": "a1", "name": "T", "created_at": "2026-01-01T00:00:00Z"}]}'

    [incident] = parse("statuspage", body, url="https://status.example.com/api/v2/incidents.json")

    assert incident.url == "https://status.example.com/incidents/a1"
    assert incident.updates == []


# --- Google Cloud ------------------------------------------------------------------------------


def test_gcp_reads_incidents_products_locations_and_the_incident_report():
    incidents = read("gcp-incidents.json", "gcp")

    network = incidents["TestNet2019Jun02"]
    assert network.url == "https://status.cloud.google.com/incidents/TestNet2019Jun02"
    assert network.impact == "high"
    assert network.began_at == at("2019-06-02T19:00:00+00:00")
    assert network.resolved_at == at("2019-06-02T23:00:00+00:00")
    assert network.components == ("Cloud Networking", "Google Compute Engine")
    assert network.locations == ("us-east1", "us-east4")
    # The code in parentheses is kept apart from the name.
    assert network.location_names == {"us-east1": "South Carolina", "us-east4": "Northern Virginia"}
    assert [u.at for u in network.updates] == sorted(u.at for u in network.updates)
    assert network.updates[0].status == "service_outage"
    assert network.updates[2].display_at == at("2019-06-02T23:00:00+00:00")
    assert network.postmortem.startswith("# Incident Report (recorded test text)")
    assert network.markdown


def test_gcp_unfinished_incident_has_no_report_and_links_from_the_page_origin():
    incidents = read("gcp-incidents.json", "gcp", url="https://status.example.com/incidents.json")

    open_one = incidents["TestOpen2026Nov"]
    assert open_one.url == "https://status.example.com/incidents/TestOpen2026Nov"
    assert open_one.resolved_at is None
    assert open_one.postmortem == ""
    assert open_one.impact == "low"


def test_gcp_short_last_update_is_not_a_report():
    body = (
        b'[{"id": "x", "begin": "2026-01-01T00:00:00+00:00", "end": "2026-01-01T01:00:00+00:00",'
        b' "updates": [{"created": "2026-01-01T01:00:00+00:00", "text": "Summary: fixed.",'
        b' "status": "AVAILABLE"}]}]'
    )

    [incident] = parse("gcp", body)

    assert incident.postmortem == ""
    assert incident.updates[0].id  # a stable id made up for it


# --- Feeds -------------------------------------------------------------------------------------


def test_statuspage_atom_history_splits_each_entry_into_its_updates():
    incidents = read("feed-history.atom", "feed")

    e_mail = incidents["https://status.example.com/incidents/tfeed9001"]
    assert e_mail.title == "Test incident: delayed test e-mails"
    assert [(u.status, u.at) for u in e_mail.updates] == [
        ("investigating", at("2026-11-18T09:00:00Z")),
        ("monitoring", at("2026-11-18T10:00:00Z")),
        ("resolved", at("2026-11-18T11:00:00Z")),
    ]
    assert e_mail.updates[0].text == "Test update: test e-mails are delayed."
    assert e_mail.updates[1].text == "Test update: a fix is out.\nWe are watching the queue."
    notice = incidents["https://status.example.com/notices/9002"]
    [update] = notice.updates
    assert update.status == "update"
    assert update.text == "Test notice: test dashboards load slowly.\n\nNo action is needed."
    assert update.at == at("2026-11-19T15:30:00Z")


def test_rss_items_with_one_link_are_one_incident():
    incidents = read("feed-rss.xml", "feed", url="https://status.example.com/feed.rss")

    assert list(incidents) == [
        "https://status.example.com/events/42",
        "https://status.example.com/events/43",  # a relative link made absolute
    ]
    cdn = incidents["https://status.example.com/events/42"]
    assert [(u.text, u.at) for u in cdn.updates] == [
        ("Test text: the test CDN returns errors.", at("2026-11-20T11:00:00Z")),
        ("Test text: the test CDN is back.", at("2026-11-20T13:00:00Z")),
    ]
    assert len(cdn.raw["entries"]) == 2


def test_statuspage_feed_time_after_new_year_is_in_the_next_year():
    body = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<entry><id>i1</id><title>Test</title><link href='https://status.example.com/i/1'/>"
        b"<published>2025-12-31T23:00:00Z</published><updated>2026-01-01T01:00:00Z</updated>"
        b'<content type="html">&lt;p&gt;&lt;small&gt;Jan &lt;var&gt;1&lt;/var&gt;, &lt;var&gt;'
        b"01:00&lt;/var&gt; PST&lt;/small&gt;&lt;br&gt;&lt;strong&gt;Resolved&lt;/strong&gt; - "
        b"Test: done.&lt;/p&gt;</content></entry></feed>"
    )

    [incident] = parse("feed", body)

    assert incident.updates[0].at == at("2026-01-01T09:00:00Z")
    assert incident.updates[0].text == "Test: done."


# --- What is refused ---------------------------------------------------------------------------

INCIDENT = '{"id": "a1", "name": "T", "created_at": "2026-01-01T00:00:00Z"}'


@pytest.mark.parametrize(
    ("format", "body", "message"),
    [
        (
            "statuspage",
            (DATA / "not-json.html").read_bytes(),
            "not a Statuspage incidents.json: it is HTML or XML, not JSON",
        ),
        (
            "statuspage",
            (DATA / "invalid.json").read_bytes(),
            "not a Statuspage incidents.json: "
            "it is not valid JSON (Unterminated string starting at at line 1)",
        ),
        (
            "statuspage",
            b'{"page": {}}',
            "not a Statuspage incidents.json: there is no “incidents” list",
        ),
        ("statuspage", b"[]", "not a Statuspage incidents.json: there is no “incidents” list"),
        ("statuspage", b"\xff\xfe", "not a Statuspage incidents.json: it is not UTF-8 text"),
        (
            "statuspage",
            b'{"incidents": [{"name": "T"}]}',
            "incident 1 of a Statuspage incidents.json has no id",
        ),
        ("statuspage", b'{"incidents": [{"id": "a1"}]}', "incident a1 created_at has no time"),
        (
            "statuspage",
            b'{"incidents": [{"id": "a1", "created_at": "yesterday"}]}',
            "incident a1 created_at: “yesterday” is not a time",
        ),
        (
            "statuspage",
            b'{"incidents": [{"id": "a1", "created_at": "2026-01-01T10:00"}]}',
            "incident a1 created_at: “2026-01-01T10:00” has no UTC offset",
        ),
        (
            "statuspage",
            (
                '{"incidents": [' + INCIDENT[:-1] + ', "incident_updates": [{"id": "u",'
                ' "created_at": "soon"}]}]}'
            ).encode(),
            "incident a1 update 1 created_at: “soon” is not a time",
        ),
        (
            "statuspage",
            b'{"incidents": [' + INCIDENT.encode() + b"]}",
            "incident a1 has no shortlink, and the page's address is not known",
        ),
        (
            "gcp",
            b'{"incidents": []}',
            "not a Google Cloud incidents.json: it is not a list of incidents",
        ),
        (
            "gcp",
            b'[{"begin": "2026-01-01T00:00:00Z"}]',
            "incident 1 of a Google Cloud incidents.json has no id",
        ),
        ("gcp", b'[{"id": "g1"}]', "incident g1 has no time (neither begin nor created)"),
        (
            "gcp",
            b'[{"id": "g1", "begin": "2026-13-01T00:00:00Z"}]',
            "incident g1 begin: “2026-13-01T00:00:00Z” is not a time",
        ),
        (
            "gcp",
            b'[{"id": "g1", "begin": "2026-01-01T00:00:00Z", "updates": [{"text": "x"}]}]',
            "incident g1 update 1 when has no time",
        ),
        ("feed", b"this is no feed at all", "not an Atom or RSS feed"),
        (
            "feed",
            b"<rss version='2.0'><channel><item><title>x</title><link>https://status.example.com/x</link></item></channel></rss>",
            "the feed's entry “x” has no time that can be read",
        ),
        (
            "feed",
            b"<rss version='2.0'><channel><item><pubDate>Fri, 20 Nov 2026 13:00:00 GMT"
            b"</pubDate></item></channel></rss>",
            "entry 1 of the feed has neither a link nor an id",
        ),
        ("yaml", b"", "“yaml” is not a format this knows: statuspage, gcp, feed"),
    ],
)
def test_bad_input_is_refused_with_a_plain_sentence(format, body, message):
    with pytest.raises(ParseFailed) as failure:
        parse(format, body)

    assert str(failure.value).startswith(message)


def test_an_empty_feed_is_no_incidents():
    body = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"

    assert parse("feed", body) == []


def test_two_updates_of_one_status_in_one_minute_are_both_kept():
    stamp = (
        "&lt;p&gt;&lt;small&gt;Jan 2, 10:00 UTC&lt;/small&gt;&lt;br&gt;"
        "&lt;strong&gt;Update&lt;/strong&gt; - {}&lt;/p&gt;"
    )
    body = (
        "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>"
        "<entry><id>i2</id><title>Test</title><link href='https://status.example.com/i/2'/>"
        "<published>2026-01-02T10:00:00Z</published><content type='html'>"
        + stamp.format("Test: second.")
        + stamp.format("Test: first.")
        + "</content></entry></feed>"
    ).encode()

    [incident] = parse("feed", body)

    assert len({update.id for update in incident.updates}) == 2
