import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.core.cache import cache
from django.db.models import F, Q
from django.urls import reverse

from outages import excerpts
from outages.apart import apart_text
from outages.models import ActionItem, CustomerImpact, Incident
from outages.models.incidents import published_through
from outages.models.ordering import NEWEST_FIRST
from outages.web import related
from tests.factories import (
    ActionItemFactory,
    CustomerFactory,
    CustomerImpactFactory,
    IncidentFactory,
    RegionFactory,
    ServiceFactory,
)


def test_incident_page_shows_times_in_source_zone_and_utc(client, incident):
    response = client.get(incident.get_absolute_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert "24 Dec 2012, 12:24 PM PST" in html  # started_at, in the source's zone
    assert "20:24 UTC" in html
    assert '<time datetime="2012-12-24T20:24:00Z">' in html
    assert "23 h 41 min" in html  # time to resolve, derived from the milestones


def test_incident_page_links_provider_services_regions_customers_and_sources(
    client, incident, provider, service, region, customer, source
):
    html = client.get(incident.get_absolute_url()).content.decode()

    for url in [
        provider.get_absolute_url(),
        service.get_absolute_url(),
        region.get_absolute_url(),
        customer.get_absolute_url(),
        source.url,
    ]:
        assert f'href="{url}"' in html


def test_unknown_durations_say_not_known(client, incident):
    incident.mitigated_at = None
    incident.save()

    html = client.get(incident.get_absolute_url()).content.decode()

    assert "not known" in html


def test_related_incidents_share_a_service_region_or_customer(client, make_incidents):
    first, second = make_incidents(2)

    html = client.get(first.get_absolute_url()).content.decode()

    assert f'href="{second.get_absolute_url()}"' in html


def test_drafts_are_hidden_from_readers(client, incident):
    incident.status = Incident.Status.DRAFT
    incident.save()

    assert client.get(incident.get_absolute_url()).status_code == 404
    assert incident.title not in client.get(reverse("outages:incident_list")).content.decode()


def test_unknown_slug_is_404(client, db):
    assert client.get("/incidents/no-such-incident/").status_code == 404


def test_staff_see_an_edit_link_readers_do_not(client, admin_client, incident):
    edit_url = reverse("admin:outages_incident_change", args=[incident.pk])

    assert edit_url not in client.get(incident.get_absolute_url()).content.decode()
    assert edit_url in admin_client.get(incident.get_absolute_url()).content.decode()


@pytest.mark.parametrize("count", [2, 30])
def test_query_count_does_not_grow_with_incidents(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    # The first read, with no stored article (tests/test_incident_article.py counts the reads
    # after it): 1 the incident with its provider and stored article (none), 2 the claim on
    # storing it; then, read after the claim, 3 incident with provider, 4 its services with
    # providers, 5 its regions with providers, 6 sources, 7 events with sources, 8 impacts with
    # customers and sources, 9 impact services, 10 action items, 11 corrections with the
    # archived copy a claim was made in, 12 the latest archived copy of each source (the
    # "archived on" links and the drift notice), 13 the action items' history entries with
    # their sources (the article's promises), 14 the related incidents, on either engine
    # (outages.web.related.related_sql): the candidates (the most recent sharing a service, a
    # region, a customer hit) with what is shown of them and their providers' names, and which
    # of its services, regions and customers hit each candidate shares (pairs of ids; ranked
    # and named from these and the incident's own rows), 15 the public change log (its
    # revisions), 16 storing the article, 17 its current version (the "Cite this" box). Both
    # reads of the incident (1 and 3) ask whether any typed relation or promise link names it:
    # none does, so neither is read. Plus 4: the claim and the store each run in a savepoint
    # (SAVEPOINT, RELEASE), so that a write the database refuses leaves the page to be shown
    # (tests/test_incident_article.py).
    with django_assert_num_queries(21):
        client.get("/incidents/incident-1/")


def test_query_count_without_related_incidents(client, incident, django_assert_num_queries):
    # As above: with no candidates, the related incidents' query finds none.
    with django_assert_num_queries(21):
        client.get(incident.get_absolute_url())


# --- The gist, the contents and related incidents --------------------------------------------


def section(html, anchor):
    """The HTML of the <section> labelled by the heading with id `anchor`."""
    return html.split(f'<section aria-labelledby="{anchor}"', 1)[1].split("</section>", 1)[0]


def words(html):
    """The text of some HTML, with a space where a block or list item ends."""
    spaced = re.sub(r"</?(?:dt|dd|div|li|p|h2|ul|ol|section)\b[^>]*>", " ", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", "", spaced)).split())


def test_gist_says_when_how_long_who_why_and_what_was_promised(client, incident, customer):
    bystander = CustomerFactory(name="Bystander")
    CustomerImpactFactory(
        incident=incident, customer=bystander, level=CustomerImpact.Level.NOT_AFFECTED
    )
    ActionItemFactory(incident=incident, position=2, status=ActionItem.Status.UNKNOWN)
    ActionItemFactory(incident=incident, position=3, status=ActionItem.Status.UNKNOWN)

    gist = section(client.get(incident.get_absolute_url()).content.decode(), "in-brief")
    text = words(gist)

    assert incident.summary in text
    assert "Began 24 Dec 2012, 12:24 PM PST · 20:24 UTC" in text
    assert "Time to mitigate 4 h" in text
    assert "Time to resolve 23 h 41 min" in text
    assert f'href="{customer.get_absolute_url()}"' in gist
    assert f"{customer.name} down" in text
    assert bystander.name not in text  # named as not affected: never among the hit
    assert "Root cause Operational error. A maintenance process." in text
    assert "3 promised fixes: 1 done, 2 status unknown" in text


def test_gist_leads_with_the_first_paragraph_only(client, incident):
    incident.summary = "What broke, and when.\n\nThe long story that follows."
    incident.save()

    html = client.get(incident.get_absolute_url()).content.decode()

    assert "What broke, and when." in section(html, "in-brief")
    assert "The long story" not in section(html, "in-brief")
    assert "The long story that follows." in section(html, "summary")


def test_gist_says_when_nothing_is_known(client, incident):
    incident.started_at = incident.mitigated_at = incident.resolved_at = None
    incident.save()
    incident.impacts.update(level=CustomerImpact.Level.NOT_AFFECTED)
    incident.action_items.all().delete()

    text = words(section(client.get(incident.get_absolute_url()).content.decode(), "in-brief"))

    assert "Began not stated by Example Cloud" in text
    assert "Time to resolve not known" in text
    assert "no customer named as hit" in text
    assert "Promised fixes none recorded" in text


def test_knowledge_base_dates_are_labelled_and_follow_the_gist(client, incident):
    html = client.get(incident.get_absolute_url()).content.decode()

    added = html.index("Added to this knowledge base on")
    assert html.index('class="gist-facts"') < added < html.index("Last updated")
    assert "First published" not in html


def test_contents_link_to_every_section_heading(client, incident):
    incident.detection = "Customers noticed first."
    incident.response = "Workflows were switched off."
    incident.save()

    html = client.get(incident.get_absolute_url()).content.decode()
    contents = html.split('aria-label="On this page"')[1].split("</nav>")[0]
    links = re.findall(r'<a href="#([^"]+)">', contents)
    headings = re.findall(r'<h2 id="([^"]+)"', html)

    assert links[:3] == ["summary", "timeline", "customers"]
    assert {"root-cause", "detection", "response-and-recovery"} <= set(links)
    assert "impact" not in links  # an empty section gets no entry and no heading
    assert links[-5:] == ["promises", "corrections", "related", "sources", "changes"]
    assert set(links) <= set(headings)
    assert not re.search(r'id="section-\d', html)


def test_both_contents_lists_are_the_same_and_fold_on_a_phone(client, incident):
    html = client.get(incident.get_absolute_url()).content.decode()
    navs = html.split('aria-label="On this page"')[1:3]
    narrow, wide = [nav.split("<ol>")[1].split("</ol>")[0] for nav in navs]

    assert '<details class="contents contents-narrow">' in html
    assert narrow == wide


def test_related_incidents_say_what_they_share_and_share_most_first(
    client, incident, provider, service, region, customer
):
    other_service = ServiceFactory(provider=provider, name="Queue")
    other_region = RegionFactory(provider=provider, code="west-2")
    # Newer than `incident`, sharing only its region.
    region_only = IncidentFactory(
        title="Region only", status=Incident.Status.PUBLISHED, provider=provider,
        started_at=incident.started_at + timedelta(days=60), impacts=0,
    )  # fmt: skip
    region_only.regions.add(region)
    region_only.services.add(other_service)
    # Older, sharing the service and the customer hit.
    more_shared = IncidentFactory(
        title="More shared", status=Incident.Status.PUBLISHED, provider=provider,
        started_at=incident.started_at - timedelta(days=183), impacts=0,
    )  # fmt: skip
    more_shared.services.add(service)
    more_shared.regions.add(other_region)
    CustomerImpactFactory(
        incident=more_shared, customer=customer, level=CustomerImpact.Level.DEGRADED
    )
    # Names the customer only as not affected, and shares nothing else: not related.
    spared = IncidentFactory(
        title="Spared", status=Incident.Status.PUBLISHED, provider=provider,
        started_at=incident.started_at, impacts=0,
    )  # fmt: skip
    CustomerImpactFactory(
        incident=spared, customer=customer, level=CustomerImpact.Level.NOT_AFFECTED
    )

    related = section(client.get(incident.get_absolute_url()).content.decode(), "related")
    items = [words(f"<a {item}") for item in related.split("<a href=")[1:]]

    assert [item.split(" Example Cloud")[0] for item in items] == ["More shared", "Region only"]
    assert f"Same service: {service.name}" in items[0]
    assert f"Hit the same customer: {customer.name}" in items[0]
    assert "6 months earlier" in items[0]
    assert f"Same region: {region.code}" in items[1]
    assert "Same service" not in items[1] and "customer" not in items[1]
    assert "2 months later" in items[1]
    assert "Spared" not in related


def test_related_incidents_are_only_published_ones(client, incident, provider, service):
    # related_sql() states published() in SQL: a draft or withdrawn incident sharing the
    # service must not be listed.
    for title, status in [("Draft", "DRAFT"), ("Withdrawn", "WITHDRAWN"), ("Public", "PUBLISHED")]:
        other = IncidentFactory(
            title=title, status=getattr(Incident.Status, status), provider=provider, impacts=0
        )
        other.services.add(service)

    related = section(client.get(incident.get_absolute_url()).content.decode(), "related")

    assert "Public" in related
    assert "Draft" not in related and "Withdrawn" not in related


def test_the_rules_related_sql_states_are_the_models_own():
    # related_sql() writes published(), hits() and the pools' order out in SQL, from
    # Incident.Status, CustomerImpact.HIT_LEVELS and "started_at DESC NULLS LAST, slug". If a
    # rule changes, this fails: change it there too.
    assert published_through() == Q(status=Incident.Status.PUBLISHED)
    assert CustomerImpact.hit_condition() == Q(level__in=CustomerImpact.HIT_LEVELS)
    assert NEWEST_FIRST == [F("started_at").desc(nulls_last=True), "slug"]


def test_a_customer_not_affected_gives_no_reason(client, incident, customer, provider):
    both = IncidentFactory(
        title="Both", status=Incident.Status.PUBLISHED, provider=provider, impacts=0,
        started_at=incident.started_at,
    )  # fmt: skip
    both.regions.add(*incident.regions.all())
    CustomerImpactFactory(incident=both, customer=customer, level="not-affected")

    related = words(section(client.get(incident.get_absolute_url()).content.decode(), "related"))

    assert "Both" in related and "the same day" in related
    assert "same customer" not in related


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p><strong>Trigger.</strong> A process ran. Then more.</p>", "Trigger: A process ran."),
        ("<ul><li><strong>Trigger:</strong> a change (2 AM). AWS says so.</li></ul>",
         "Trigger: a change (2 AM)."),
        ("<ul><li><strong>Trigger: an operator error.</strong> Traffic moved.</li></ul>",
         "Trigger: an operator error."),
        ("<p>A bug in U.S. East, e.g. here. Next.</p>", "A bug in U.S. East, e.g. here."),
        ("<p>Power &amp; cooling failed</p><p>Later.</p>", "Power & cooling failed"),
        ("", ""),
    ],
)  # fmt: skip
def test_the_root_cause_sentence_is_the_first_one_with_its_label(html, expected):
    assert excerpts.first_sentence(html) == expected


def test_a_long_first_sentence_is_cut():
    sentence = excerpts.first_sentence("<p>" + "word " * 80 + "end.</p>")

    assert sentence.endswith(" …")
    assert len(sentence.split()) == excerpts.LONGEST_SENTENCE + 1


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0.5, "the same day"), (-12, "12 days earlier"), (178, "6 months later"),
     (-613, "20 months earlier"), (3270, "9 years later"), (-366 * 2, "2 years earlier")],
)  # fmt: skip
def test_how_far_apart_incidents_began(days, expected):
    start = datetime(2012, 12, 24, 20, 24, tzinfo=UTC)

    assert apart_text(start, start + timedelta(days=days)) == expected
    assert apart_text(start, None) == ""


# The shipped ELB incident (its fixtures stay loaded until this module ends: keep these last).


@pytest.fixture
def elb(shipped_data, db, client):
    return client.get("/incidents/aws-elb-us-east-2012-12-24/").content.decode()


def test_elb_gist_names_netflix_and_heroku_as_hit_and_not_prime_video(elb):
    incident = Incident.objects.get(slug="aws-elb-us-east-2012-12-24")
    gist = section(elb, "in-brief")
    hit = {impact.customer.name for impact in incident.impacts.all() if impact.was_hit}
    spared = {impact.customer.name for impact in incident.impacts.all() if not impact.was_hit}

    assert hit == {"Netflix", "Heroku"} and spared == {"Amazon Prime Video"}
    assert re.findall(r'class="hit-chip level-outage" href="[^"]+">(\w+)', gist) == sorted(hit)
    assert "Prime Video" not in gist
    assert "12:24 PM PST" in gist and "20:24 UTC" in gist


def test_elb_gist_counts_the_promises_by_status(elb):
    items = Incident.objects.get(slug="aws-elb-us-east-2012-12-24").action_items.all()
    done = sum(item.status == "done" for item in items)
    planned = sum(item.status == "planned" for item in items)

    assert f"{len(items)} promised fixes: {done} done, {planned} planned" in words(
        section(elb, "in-brief")
    )


def test_elb_related_incidents_share_elb_and_its_customers(elb):
    related = words(section(elb, "related"))

    assert related.index("AWS power outage in US East") < related.index("Amazon S3 outage")
    assert "Same service: Elastic Load Balancing (ELB)" in related
    assert "Hit the same customers: Heroku, Netflix" in related
    assert "Prime Video" not in related


def test_related_incidents_are_ranked_among_the_most_recent_of_each_kind(
    client, incident, provider, service, region, monkeypatch
):
    def sharing(title, days, *, with_service=False):
        other = IncidentFactory(
            title=title, status=Incident.Status.PUBLISHED, provider=provider, impacts=0,
            started_at=incident.started_at + timedelta(days=days),
        )  # fmt: skip
        other.regions.add(region)
        if with_service:
            other.services.add(service)
        return other

    sharing("Older, sharing most", -300, with_service=True)
    sharing("Between", 10)
    sharing("Newest", 20)
    url = incident.get_absolute_url()

    def shown():
        cache.clear()  # the page cache would keep the page as first built
        related = section(client.get(url).content.decode(), "related")
        return [
            words(f"<a {item}").split(" Example Cloud")[0] for item in related.split("<a href=")[1:]
        ]

    assert shown() == ["Older, sharing most", "Newest", "Between"]
    # With one candidate of each kind, the newest sharing the region and the one sharing the
    # service are ranked; the one in between is not a candidate.
    monkeypatch.setattr(related, "RELATED_POOL", 1)
    assert shown() == ["Older, sharing most", "Newest"]


def test_the_index_of_hits_has_the_one_rule_of_hits():
    (index,) = [i for i in CustomerImpact._meta.indexes if i.name == "impact_hits"]

    assert index.condition == CustomerImpact.hit_condition()
