"""Search: the same page and results on SQLite (FTS5) and PostgreSQL (tsvector + GIN)."""

import html

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils.html import strip_tags

from outages import search
from outages.models import CustomerImpact, Incident, SearchDocument, TimelineEvent

ELB = "aws-elb-us-east-2012-12-24"


def slugs(response):
    return [incident.slug for incident in response.context["page"]]


def test_header_search_box_is_on_every_page(client, incident):
    for url in ["/", "/incidents/", incident.get_absolute_url(), "/customers/", "/providers/"]:
        html = client.get(url).content.decode()
        assert 'role="search"' in html and 'name="q"' in html, url


def test_search_covers_timeline_customers_sources_and_regions(
    client, incident, customer, source, region
):
    event = incident.events.first()
    event.description = "Operators disabled the *zanzibar* workflow."
    event.save()
    search.update_index([incident.pk])

    for query in ["zanzibar", customer.name, source.title.split()[0], region.code]:
        assert slugs(client.get("/incidents/", {"q": query})) == [incident.slug], query


def test_search_covers_corrections_and_action_items_and_shows_the_passage(client, incident):
    incident.corrections.create(
        position=11,
        claim="A blog said the outage began in the zanzibar data centre.",
        fact="It began in Virginia.",
    )
    incident.corrections.create(position=12, claim="It lasted a week.", fact="It lasted a day.")
    incident.action_items.create(
        position=11,
        description="Build a quokka to watch the load balancers.",
        kind="detect",
        status="planned",
    )
    search.update_index([incident.pk])

    for query, place, passage in [
        ("zanzibar", "corrections", "<mark>zanzibar</mark> data centre"),
        ("lasted day", "corrections", "It <mark>lasted</mark> a <mark>day</mark>"),
        ("quokka", "promised fixes", "a <mark>quokka</mark> to watch"),
    ]:
        response = client.get("/incidents/", {"q": query})
        assert slugs(response) == [incident.slug], query
        (found,) = response.context["page"]
        assert found.snippet.places == [place], query
        assert passage in found.snippet.html, query
        assert passage in response.content.decode(), query


def test_title_weighs_more_than_the_rest(client, make_incidents):
    first, second = make_incidents(2)
    first.summary = "The word quasar appears only here, in the summary."
    first.save()
    second.title = "Quasar outage"
    second.save()
    search.update_index([first.pk, second.pk])

    assert slugs(client.get("/incidents/", {"q": "quasar"})) == [second.slug, first.slug]


def test_drafts_are_never_found(client, make_incidents):
    make_incidents(2)
    Incident.objects.filter(slug="incident-2").update(status=Incident.Status.DRAFT)

    assert slugs(client.get("/incidents/", {"q": "incident"})) == ["incident-1"]


def test_search_combines_with_filters_and_says_when_nothing_matches(
    client, make_incidents, provider
):
    make_incidents(2)

    response = client.get("/incidents/", {"q": "zebra", "provider": provider.slug})
    html = response.content.decode()

    assert slugs(response) == []
    assert "No incidents match" in html
    assert "removing a filter" in html


@pytest.mark.parametrize(
    "query",
    [
        "(((",
        '"unbalanced',
        "a & b | !c <-> d",
        "-",
        "- -",
        "or or or",
        "NOT AND OR NEAR(a b)",
        "title:foo",
        "*",
        "'; DROP TABLE outages_incident; --",
        "x" * 10_000,
        "ünïcödé 漢字 🙂 \u202e",
        "\x01\x02\x1f",
        '"" ""',
        "a" * 300 + ' "b',
    ],
)
def test_any_input_gives_a_page(client, make_incidents, query):
    make_incidents(2)

    response = client.get("/incidents/", {"q": query})

    assert response.status_code == 200


def test_long_queries_are_cut_to_a_searchable_length(make_incidents):
    assert len(search.normalise("word " * 5000)) == search.MAX_QUERY_LENGTH


def test_fts5_translation_quotes_every_word():
    assert search.fts5_query('load "state data" -elb or heroku') == (
        '"load" AND "state data" NOT "elb" OR "heroku"'
    )
    assert search.fts5_query("-only -negative") is None
    assert search.fts5_query('NEAR(a b) "c') == '"NEAR a" AND "b" AND "c"'


def test_admin_edits_of_a_timeline_event_reach_search_and_feeds(admin_client, incident):
    before = incident.updated_at
    url = reverse("admin:outages_incident_change", args=[incident.pk])
    data = admin_form_data(admin_client.get(url))
    data["events-0-description"] = "Engineers found the xylophone misconfigured."

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert slugs(admin_client.get("/incidents/", {"q": "xylophone"})) == [incident.slug]
    incident.refresh_from_db()
    assert incident.updated_at > before


def test_renaming_a_customer_in_the_admin_updates_search(admin_client, incident, customer):
    url = reverse("admin:outages_customer_change", args=[customer.pk])
    data = admin_form_data(admin_client.get(url))
    data["name"] = "Quokka Streaming"

    assert admin_client.post(url, data).status_code == 302
    assert slugs(admin_client.get("/incidents/", {"q": "quokka"})) == [incident.slug]


def test_an_unsaved_admin_form_does_not_touch_the_incident(admin_client, incident):
    before = incident.updated_at
    url = reverse("admin:outages_incident_change", args=[incident.pk])

    admin_client.post(url, admin_form_data(admin_client.get(url)))

    incident.refresh_from_db()
    assert incident.updated_at == before


def test_index_rebuild_command_indexes_every_incident(make_incidents):
    make_incidents(3)
    SearchDocument.objects.all().delete()

    call_command("update_search_index", verbosity=0)

    assert SearchDocument.objects.count() == 3


def test_documents_hold_plain_text_not_markup(incident):
    CustomerImpact.objects.filter(incident=incident).update(description="x")
    TimelineEvent.objects.filter(incident=incident).update(description="**bold** <b>tag</b>")
    incident.summary = "Some *emphasis* & [a link](https://example.com)."
    incident.save()
    search.update_index([incident.pk])

    document = SearchDocument.objects.get(pk=incident.pk)
    assert document.summary == "Some emphasis & a link."
    assert "<" not in document.timeline and "*" not in document.timeline


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the GIN index exists on PostgreSQL only"
)
def test_postgresql_uses_a_gin_index_on_the_stored_vector(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'outages_searchdocument'")
        definitions = " ".join(row[0] for row in cursor.fetchall())
    assert "USING gin (vector)" in definitions


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="column storage is PostgreSQL's (migration 0022)"
)
def test_postgresql_keeps_the_vector_in_the_row_and_the_long_texts_out(db, incident):
    """A common word's search tests thousands of vectors; kept in the row (storage "main"),
    each test reads no TOAST chunks. The long texts are what leave the row instead."""
    SearchDocument.objects.filter(pk=incident.pk).delete()
    search.write_documents([SearchDocument(incident=incident, sections="outage " * 3000)])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attstorage FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attname IN ('vector', 'sections')",
            [SearchDocument._meta.db_table],
        )
        assert dict(cursor.fetchall()) == {"vector": "m", "sections": "x"}
    assert Incident.objects.filter(pk=incident.pk, search_document__vector="outage").exists()


# The prefixes of the incident form's rows (its inlines' formsets).
ROW_PREFIXES = [
    "events",
    "impacts",
    "action_items",
    "corrections",
    "action_states",
    "promise_links",
]


def admin_form_data(response):
    """The POST data an editor's browser would send for an admin change form, unchanged."""
    forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        forms.extend(formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            key = form.add_prefix(name)
            if hasattr(field.widget, "widgets") and hasattr(field.widget, "decompress"):
                for index, part in enumerate(field.widget.decompress(value)):
                    data[f"{key}_{index}"] = "" if part is None else str(part)
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(item) for item in value]
            elif value is not None:
                data[key] = value
    return data


@pytest.mark.parametrize(
    "html_text",
    [
        "<p>Plain sentence.</p>",
        "<p>Two\nlines,  spaced   out </p>",
        '<p>It\'s a "quote" -- ok</p>',
        "<p>a &amp; b</p>",
        "<p>&lt;not a tag&gt;</p>",
        "<p><strong>Update:</strong> x</p>",
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>",
        "<p>one</p>\n<p>two</p>",
        "<p></p>",
        "",
        "no tags at all",
        "<ol>\n<li>First step.</li>\n<li>Second step.</li>\n</ol>",
        "<ul>\n<li>\n<p>loose</p>\n</li>\n<li>\n<p>items</p>\n</li>\n</ul>",
        "<ul>\n<li>one &amp; two</li>\n</ul>",
        "<ul>\n<li><em>emphasis</em></li>\n</ul>",
        "<p>a > b</p>\n<ul><li>c</li></ul>",
        "<P>upper case</P>\n<ul><li>c</li></ul>",
        "<p>unclosed <ul",
        "<li>x</li>text<p>",
    ],
)
def test_plain_text_of_a_simple_paragraph_is_what_the_html_parser_gives(html_text):
    parsed = " ".join(html.unescape(strip_tags(html_text)).split())

    assert search.plain.__wrapped__(html_text) == parsed
