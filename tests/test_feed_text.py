"""Names and words in feeds arrive as the text they are, never as markup: every field of every
feed kind, read by a real feed parser (feedparser) and by the standard XML parser with an HTML
parser for the fields readers render as HTML (RSS titles and descriptions, Atom type="html")."""

from html.parser import HTMLParser
from xml.etree import ElementTree

import feedparser
import pytest
import reversion
from django.contrib.auth.models import User

from outages import workflow
from outages.search import update_index
from tests.conftest import add_incident
from tests.factories import (
    CustomerFactory,
    ProviderFactory,
    RegionFactory,
    ServiceFactory,
    SourceFactory,
)

NAME = '<b>Acme</b> & "Co"'
ATOM = "{http://www.w3.org/2005/Atom}"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
# Every feed the site offers, for rows all named NAME: (address, query).
LISTS = [
    ("/incidents/feed", {}),
    ("/incidents/feed", {"q": NAME}),  # the search is reflected in the title and description
    ("/incidents/feed", {"customer": "acme-co", "cause": "operational-error"}),
    ("/providers/acme/feed", {}),
    ("/providers/acme/services/acme-lb/feed", {}),
    ("/providers/acme/regions/acme-1/feed", {}),
    ("/customers/acme-co/feed", {}),
    ("/my-stack/feed", {"service": "acme.acme-lb", "provider": "acme"}),
]
EVERY_FEED = [(f"{url}.{kind}", query) for url, query in LISTS for kind in ("atom", "rss")]
EVERY_FEED.append(("/incidents/incident-1/changes.atom", {}))
IDS = [f"{url}?{'&'.join(query)}" for url, query in EVERY_FEED]


@pytest.fixture
def named(db):
    """A published incident titled NAME, whose provider, service, region, customer and source
    are all named NAME, with a public change log whose withdrawal reason is NAME too."""
    provider = ProviderFactory(name=NAME, slug="acme")
    service = ServiceFactory(provider=provider, name=NAME, slug="acme-lb")
    region = RegionFactory(provider=provider, code="acme-1", name=NAME)
    customer = CustomerFactory(name=NAME, slug="acme-co")
    source = SourceFactory(title=NAME, publisher=NAME)
    incident = add_incident(provider, service, region, customer, source, 1)
    with reversion.create_revision():  # where its record begins, as a load would
        incident.title = NAME
        incident.save()
    publisher = User.objects.create_user("pat", is_staff=True, is_superuser=True)
    workflow.apply(incident, "withdraw", publisher, reason=NAME)
    workflow.apply(incident, "publish", publisher)
    update_index([incident.pk])
    return incident


class Rendered(HTMLParser):
    """What a reader shows for some HTML: its text, and the elements it would build."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.text, self.tags = [], []
        self.feed(html)
        self.close()
        self.text = "".join(self.text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def shown(value, is_html):
    """(text shown, elements built) for a field's value, HTML or plain text."""
    if is_html:
        rendered = Rendered(value)
        return rendered.text, rendered.tags
    return value, []


def check(where, value, is_html):
    """A field that mentions the name shows it whole, as text; nothing builds a <b>."""
    text, tags = shown(value or "", is_html)
    assert "b" not in tags, (where, value)
    if "Acme" in text:
        assert NAME in text, (where, value)
    return NAME in text


def feedparser_fields(parsed):
    """(where, value, whether it is HTML) of every text field feedparser reads."""
    feed = parsed.feed
    for key in ("title", "subtitle"):
        if key in feed:
            yield f"feed.{key}", feed[key], feed[f"{key}_detail"].type == "text/html"
    for number, entry in enumerate(parsed.entries):
        for key in ("title", "summary"):
            if key in entry:
                detail = entry[f"{key}_detail"]
                yield f"entry {number} {key}", entry[key], detail.type == "text/html"
        if "author" in entry:
            yield f"entry {number} author", entry.author, False
        for tag in entry.get("tags", []):
            yield f"entry {number} tag", tag.term, False


def xml_fields(root):
    """The same read with ElementTree: RSS titles and descriptions are HTML, as readers render
    them; in Atom, whatever says type="html"; everything else is plain text."""
    if root.tag == f"{ATOM}feed":
        for element in root.iter():
            if element.tag in (f"{ATOM}title", f"{ATOM}subtitle", f"{ATOM}summary"):
                yield element.tag, element.text, element.get("type") == "html"
            elif element.tag == f"{ATOM}name":
                yield element.tag, element.text, False
            elif element.tag == f"{ATOM}category":
                yield element.tag, element.get("term"), False
        return
    channel = root.find("channel")
    for tag in ("title", "description"):
        yield f"channel {tag}", channel.findtext(tag), True
    for item in channel.iter("item"):
        for tag in ("title", "description"):
            yield f"item {tag}", item.findtext(tag), True
        yield "item dc:creator", item.findtext(DC_CREATOR), False
        for category in item.iter("category"):
            yield "item category", category.text, False


@pytest.mark.parametrize(("url", "query"), EVERY_FEED, ids=IDS)
def test_names_come_back_as_text_from_a_feed_parser(client, named, url, query):
    response = client.get(url, query)
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception

    found = [check(*field) for field in feedparser_fields(parsed)]

    assert any(found)
    if "q" in query:
        return  # what a search of markup finds differs by engine; its title is checked
    assert parsed.entries, "the incident is in every other feed"
    entry = parsed.entries[0]
    assert NAME in shown(entry.title, entry.title_detail.type == "text/html")[0]
    if not url.endswith("changes.atom"):
        assert entry.author == NAME
        assert NAME in [tag.term for tag in entry.tags]


@pytest.mark.parametrize(("url", "query"), EVERY_FEED, ids=IDS)
def test_names_come_back_as_text_from_the_xml_and_html_parsers(client, named, url, query):
    root = ElementTree.fromstring(client.get(url, query).content)

    found = {where for where, value, is_html in xml_fields(root) if check(where, value, is_html)}

    assert found


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_a_search_is_reflected_as_text(client, named, kind):
    parsed = feedparser.parse(client.get(f"/incidents/feed.{kind}", {"q": NAME}).content)

    for key in ("title", "subtitle"):
        detail = parsed.feed[f"{key}_detail"]
        text, tags = shown(parsed.feed[key], detail.type == "text/html")
        assert f"search “{NAME}”" in text
        assert tags == []


def test_a_withdrawal_reason_in_the_changes_feed_is_text(client, named):
    parsed = feedparser.parse(client.get("/incidents/incident-1/changes.atom").content)

    summaries = [shown(entry.summary, True)[0] for entry in parsed.entries]

    assert f"Withdrawn: {NAME}" in summaries
