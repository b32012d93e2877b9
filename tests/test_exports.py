import re

import pytest
from django.core.management import call_command

from outages.models import ActionItem, Incident, Source, TimelineEvent
from tests.shipped import load_shipped

ELB = "aws-elb-us-east-2012-12-24"
HEADINGS = [
    "## Milestones",
    "## Durations",
    "## Summary",
    "## Timeline",
    "## Customers and how they were hit",
    "## Impact",
    "## Root cause",
    "## Detection",
    "## Response and recovery",
    "## Lessons",
    "## Corrections",
    "## Sources",
]


def download(client, slug):
    response = client.get(f"/incidents/{slug}/postmortem.md")
    assert response.status_code == 200
    return response.content.decode("utf-8")


def section(document, heading):
    """The text under one `## ` heading, up to the next."""
    start = document.index(f"\n{heading}\n") + len(heading) + 2
    end = document.find("\n## ", start)
    return document[start : end if end != -1 else None]


def timeline_rows(document):
    rows = [line for line in section(document, "## Timeline").splitlines() if line.startswith("|")]
    return rows[2:]  # after the header and its --- line


def test_download_is_a_markdown_attachment_named_after_the_incident(client, incident):
    response = client.get("/incidents/incident-1/postmortem.md")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="incident-1.md"'


def test_document_holds_the_whole_postmortem(client, incident, provider, customer, source):
    document = download(client, "incident-1")

    assert document.startswith("# Incident 1\n")
    for heading in HEADINGS:
        assert f"\n{heading}\n" in document
    assert f"\n## What {provider.name} promised\n" in document
    assert (
        "- **Provider:** [Example Cloud](<http://testserver/providers/example-cloud/>)" in document
    )
    assert "- **Root cause:** Operational error" in document
    # Milestones in UTC and in the source's zone; durations in words.
    assert "| Started at | 2012-12-24 20:24 | 24 Dec 2012, 12:24 PM PST |" in document
    assert "| Detected at | not stated by Example Cloud | not stated by Example Cloud |" in document
    assert "- **Time to resolve:** 23 h 41 min." in document
    # Sections are the editors' Markdown, not HTML.
    assert section(document, "## Root cause").strip() == "A *maintenance* process."
    assert section(document, "## Impact").strip() == "*Not recorded.*"
    assert timeline_rows(document) == [
        "| 12:24 PM PST | 2012-12-24 21:24 | Mitigation | Workflows disabled. [1] |",
        "| 12:24 PM PST | 2012-12-24 22:24 | Mitigation | Workflows disabled. [1] |",
    ]
    assert "### [Streamy](<http://testserver/customers/streamy/>)" in document
    assert "How hit: **Down**; through [Load Balancer]" in document
    assert "1. Require approval. (Prevent; status as stated: Done) [1]" in document
    assert "1. **Claimed** by Example Cloud [1]: It was a CDN." in document
    assert "**Established** by Example Cloud [1]: It was a load balancer." in document
    assert (
        section(document, "## Sources")
        .strip()
        .startswith(
            "1. **Summary of the event**. Example Cloud, date unknown. Official postmortem. "
            "<https://example.com/summary>"
        )
    )
    assert "From http://testserver/incidents/incident-1/, last updated " in document


def test_table_cells_escape_pipes_and_newlines(client, incident):
    TimelineEvent.objects.filter(incident=incident, position=1).update(
        description="Traffic | errors\nrose.", time_as_stated="noon | ish", precision="approximate"
    )

    rows = timeline_rows(download(client, "incident-1"))

    assert rows[0] == (
        "| noon \\| ish | about 2012-12-24 21:24 | Mitigation | Traffic \\| errors<br>rose. [1] |"
    )


def test_plain_text_fields_read_as_written(client, incident):
    ActionItem.objects.filter(incident=incident).update(description="- Use *care* [always]")
    incident.summary = "O'Brien & co <b>said</b> so."
    incident.save()

    document = download(client, "incident-1")

    # Escaped as Markdown, so it does not turn into a nested list, emphasis or a link...
    assert "1. \\- Use \\*care\\* \\[always\\] (Prevent" in document
    # ...and never escaped as HTML: the file is Markdown, not a web page.
    assert "O'Brien & co <b>said</b> so." in document


def test_date_only_and_approximate_times_claim_no_more_precision(client, incident):
    TimelineEvent.objects.filter(incident=incident, position=2).update(precision="date")

    rows = timeline_rows(download(client, "incident-1"))

    assert "| 2012-12-24 (date only) |" in rows[1]


def test_a_source_outside_the_incidents_list_is_cited_by_its_address(client, incident):
    other = Source.objects.create(
        title="Elsewhere", publisher="Blog", url="https://blog.example/x", kind="news"
    )
    TimelineEvent.objects.filter(incident=incident, position=1).update(source=other)

    rows = timeline_rows(download(client, "incident-1"))

    assert rows[0].endswith("Workflows disabled. (<https://blog.example/x>) |")


def test_drafts_and_unknown_incidents_are_404(client, incident):
    incident.status = Incident.Status.DRAFT
    incident.save()

    assert client.get("/incidents/incident-1/postmortem.md").status_code == 404
    assert client.get("/incidents/no-such-incident/postmortem.md").status_code == 404


def test_incident_page_links_to_the_download_and_the_json(client, incident):
    html = client.get(incident.get_absolute_url()).content.decode()

    assert 'href="/incidents/incident-1/postmortem.md" download' in html
    assert 'href="/api/v1/incidents/incident-1/" type="application/json"' in html


@pytest.mark.parametrize("count", [1, 5])
def test_query_count_does_not_grow_with_incidents(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    # 1 the incident with its provider, 2 services, 3 regions, 4 sources, 5 timeline events with
    # sources, 6 impacts with customers and sources, 7 impact services, 8 action items with
    # sources, 9 corrections with both sources, 10 its typed relations with the other ends and
    # sources.
    with django_assert_num_queries(10):
        client.get("/incidents/incident-1/postmortem.md")


# --- The shipped fixtures -------------------------------------------------------------------


@pytest.fixture
def loaded(db):
    load_shipped()
    call_command("update_search_index", verbosity=0)


def test_elb_download_has_title_sections_every_event_and_every_source(client, loaded):
    incident = Incident.objects.get(slug=ELB)

    document = download(client, ELB)

    assert document.startswith(f"# {incident.title}\n")
    for heading in [*HEADINGS, "## What Amazon Web Services promised"]:
        assert f"\n{heading}\n" in document
    rows = timeline_rows(document)
    assert len(rows) == incident.events.count()
    assert rows[0].startswith("| 12:24 PM PST on December 24th | 2012-12-24 20:24 | Trigger")
    assert "| Started at | 2012-12-24 20:24 | 24 Dec 2012, 12:24 PM PST |" in document
    sources = section(document, "## Sources")
    numbered = re.findall(r"^(\d+)\. \*\*", sources, flags=re.MULTILINE)
    assert numbered == [str(n) for n in range(1, incident.sources.count() + 1)]
    for source in incident.sources.all():
        assert f"<{source.url}>" in sources
    assert "### [Netflix](<http://testserver/customers/netflix/>)" in document
