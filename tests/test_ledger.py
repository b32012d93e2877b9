"""The promise ledger: action items' state histories and the status they derive, links to later
incidents, the ledger's page, feeds and JSON (counts against hand-computed ones on the shipped
data, filters and bad input, drafts), the page cache, and saving both from the admin."""

from collections import Counter
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from reversion.models import Version

from outages import page_cache, summaries
from outages.models import (
    ActionItem,
    ActionItemState,
    Incident,
    PromiseLink,
    derive_statuses,
    derived_status,
    history,
    ledger_counts,
    ledger_items,
    outcome_of,
    shown_links,
    took,
)
from tests.factories import ProviderFactory
from tests.test_search import admin_form_data
from tests.test_workflow import change_url, draft, editor  # noqa: F401 (fixtures)

Status = ActionItem.Status


def state(item, position, value, on=None, precision="date", source=None):
    return ActionItemState.objects.create(
        incident=item.incident,
        action_item=item,
        position=position,
        state=value,
        stated_on=on,
        stated_on_precision=precision,
        source=source,
    )


def link(item, later, source, kind=PromiseLink.Kind.RECURRED, position=1):
    return PromiseLink.objects.create(
        incident=item.incident,
        action_item=item,
        later_incident=later,
        kind=kind,
        note="The same subsystem failed again.",
        source=source,
        position=position,
    )


# --- The rules --------------------------------------------------------------------------------


def test_an_item_without_history_reads_as_its_status_with_the_date_unknown(incident):
    item = incident.action_items.get()

    [entry] = history(item)

    assert (entry.state, entry.stated_on, entry.source) == (item.status, None, item.source)
    assert entry.date_text == "date unknown"


def test_the_status_is_the_latest_state_of_the_history(incident, source):
    item = incident.action_items.get()
    state(item, 1, Status.PLANNED, date(2012, 12, 1), "month", source)
    state(item, 2, Status.IN_PROGRESS, date(2013, 6, 14), source=source)

    assert derive_statuses([incident.pk]) == [item]
    item.refresh_from_db()
    assert item.status == Status.IN_PROGRESS
    assert [entry.date_text for entry in history(item)] == ["Dec 2012", "14 Jun 2013"]
    state(item, 3, Status.ABANDONED)
    derive_statuses([incident.pk])
    assert ActionItem.objects.get(pk=item.pk).status == Status.ABANDONED
    assert derived_status([]) == Status.UNKNOWN


def test_a_state_names_its_own_incidents_item_and_a_month_as_its_first_day(make_incidents):
    first, second = make_incidents(2)
    entry = ActionItemState(
        incident=second,
        action_item=first.action_items.get(),
        position=1,
        state=Status.DONE,
        stated_on=date(2012, 12, 29),
        stated_on_precision="month",
    )

    with pytest.raises(ValidationError) as refused:
        entry.full_clean()
    assert set(refused.value.message_dict) == {"action_item"}
    entry.incident = first
    with pytest.raises(ValidationError) as refused:
        entry.full_clean()
    assert "first day" in str(refused.value)


@pytest.mark.parametrize(
    "promised, done, expected",
    [
        ((date(2013, 1, 10), "date"), (date(2013, 3, 1), "date"), ("day", 50)),
        ((date(2012, 12, 1), "month"), (date(2013, 6, 14), "date"), ("month", 6)),
        ((date(2012, 1, 1), "year"), (date(2014, 3, 1), "month"), ("year", 2)),
        ((None, "date"), (date(2013, 3, 1), "date"), None),
    ],
)
def test_how_long_a_fix_took_is_said_no_finer_than_its_dates(promised, done, expected):
    entries = [
        ActionItemState(
            state=Status.PLANNED, stated_on=promised[0], stated_on_precision=promised[1]
        ),
        ActionItemState(state=Status.DONE, stated_on=done[0], stated_on_precision=done[1]),
    ]
    spent = took(entries)
    assert (spent and spent[2:]) == expected


def test_a_link_goes_to_a_later_incident(make_incidents, source):
    later, earlier = make_incidents(2)  # incident-1 started a day after incident-2
    item = later.action_items.get()

    backwards = PromiseLink(
        incident=later,
        action_item=item,
        later_incident=earlier,
        kind="recurred",
        note="x",
        source=source,
        position=1,
    )
    with pytest.raises(ValidationError) as refused:
        backwards.full_clean()
    assert "started after" in str(refused.value)


# --- Drafts, the page cache and query counts -----------------------------------------------------


def test_drafts_and_links_to_drafts_stay_out(client, make_incidents, source):
    later, earlier = make_incidents(2)
    link(earlier.action_items.get(), later, source)
    assert client.get("/api/v1/ledger/").json()["totals"]["recurred"] == 1

    with page_cache.changing([later.pk]), summaries.changing([later.pk]):
        Incident.objects.filter(pk=later.pk).update(status=Incident.Status.DRAFT)

    data = client.get("/api/v1/ledger/").json()
    assert data["count"] == 1 and data["totals"]["recurred"] == 0
    assert data["results"][0]["links"] == []
    assert "Incident 1" not in client.get("/ledger/").content.decode()
    assert "Incident 1" not in client.get(earlier.get_absolute_url()).content.decode()


def test_a_link_shows_at_both_ends_and_invalidates_both(client, make_incidents, source):
    later, earlier = make_incidents(2)
    link(earlier.action_items.get(), later, source)

    assert (
        "The same subsystem failed again." in client.get(later.get_absolute_url()).content.decode()
    )
    assert (
        "Earlier promises this incident bears on"
        in client.get(later.get_absolute_url()).content.decode()
    )
    assert (
        "Later incidents that bear on these promises"
        in client.get(earlier.get_absolute_url()).content.decode()
    )
    tags = page_cache.incident_tags([earlier.pk])
    assert {page_cache.incident_tag(later.slug), page_cache.INCIDENTS} <= tags
    assert page_cache.incident_tag(earlier.slug) in page_cache.incident_tags([later.pk])


LEDGER_QUERIES = {
    # 1 the filter's providers, 2 the fixes by year and status (kept counts), 3 those with links
    # readers may see (the outcome counts, whose sum is the page's count), 4 its fixes with
    # incident, provider and source, 5 their history entries, 6 their links.
    "/ledger/": 6,
    # 1 the provider, then 2-6 as above (no provider list).
    "/ledger/provider/": 6,
    # 1-2 the counts (and so the list's), 3 the fixes, 4 history entries, 5 links.
    "/api/v1/ledger/": 5,
    # 1 the fixes, 2 history entries, 3 links.
    "/ledger/feed.atom": 3,
}


@pytest.mark.parametrize("url", list(LEDGER_QUERIES))
@pytest.mark.parametrize("count", [1, 12])
def test_query_count_does_not_grow_with_promises(
    client, make_incidents, source, django_assert_num_queries, url, count
):
    incidents = make_incidents(count + 1)
    for incident in incidents[1:]:
        item = incident.action_items.get()
        state(item, 1, Status.PLANNED, date(2012, 12, 1), "month", source)
        state(item, 2, Status.DONE, date(2013, 1, 5), source=source)
        link(item, incidents[0], source)
    address = url.replace("provider", incidents[0].provider.slug)
    with django_assert_num_queries(LEDGER_QUERIES[url]):
        response = client.get(address)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "chosen",
    [{}, {"provider": 1}, {"status": Status.DONE}, {"year": 2011}, {"provider": 2, "year": 2012}],
)
def test_the_counts_from_the_kept_counts_equal_a_count_of_the_fixes_themselves(
    make_incidents, source, chosen
):
    incidents = make_incidents(8)  # their items' statuses cycle through every status
    Incident.objects.filter(pk=incidents[1].pk).update(started_at=None)
    Incident.objects.filter(pk__in=[incidents[2].pk, incidents[3].pk]).update(
        started_at=incidents[2].started_at.replace(year=2011)
    )
    Incident.objects.filter(pk=incidents[4].pk).update(provider=ProviderFactory())
    summaries.rebuild()  # the updates above went around the site's writes
    link(incidents[5].action_items.get(), incidents[6], source)
    link(incidents[6].action_items.get(), incidents[7], source, PromiseLink.Kind.KEPT)
    if "provider" in chosen:
        chosen["provider"] = incidents[4 if chosen["provider"] == 2 else 0].provider
    expected = Counter()
    for item in ledger_items(**chosen).select_related("incident"):
        kinds = [link.kind for link in shown_links().filter(action_item=item)]
        year = item.incident.started_at.year if item.incident.started_at else None
        expected[(year, outcome_of(item.status, kinds))] += 1

    with CaptureQueriesContext(connection) as queries:
        counted = ledger_counts(**chosen)

    assert counted == dict(expected) and sum(counted.values()) > 0
    assert "outages_actionitemcount" in queries[0]["sql"]


# --- The admin -----------------------------------------------------------------------------


def test_states_and_links_saved_in_the_admin_are_a_revision_of_the_incident(
    admin_client, make_incidents, source
):
    later, incident = make_incidents(2)
    item = incident.action_items.get()
    data = admin_form_data(admin_client.get(change_url(incident)))
    data.update(
        {
            "action_states-TOTAL_FORMS": "2",
            "action_states-0-position": "1",
            "action_states-0-action_item": str(item.pk),
            "action_states-0-state": "planned",
            "action_states-0-stated_on": "2012-12-01",
            "action_states-0-stated_on_precision": "month",
            "action_states-0-source": str(source.pk),
            "action_states-1-position": "2",
            "action_states-1-action_item": str(item.pk),
            "action_states-1-state": "in-progress",
            "action_states-1-stated_on": "",
            "action_states-1-stated_on_precision": "date",
            "promise_links-TOTAL_FORMS": "1",
            "promise_links-0-position": "1",
            "promise_links-0-action_item": str(item.pk),
            "promise_links-0-kind": "recurred",
            "promise_links-0-later_incident": str(later.pk),
            "promise_links-0-source": str(source.pk),
            "promise_links-0-note": "The same subsystem failed again.",
        }
    )
    before = Version.objects.count()

    response = admin_client.post(change_url(incident), data)

    assert response.status_code == 302, response.context and [
        inline.formset.errors for inline in response.context["inline_admin_formsets"]
    ]
    item.refresh_from_db()
    assert item.status == Status.IN_PROGRESS  # the latest state's
    assert Version.objects.count() > before
    revision = Version.objects.order_by("-pk").first().revision
    models = {version.content_type.model for version in revision.version_set.all()}
    assert {"incident", "actionitem", "actionitemstate", "promiselink"} <= models


def test_the_status_of_an_item_with_history_is_changed_by_adding_a_state(
    admin_client, incident, source
):
    item = incident.action_items.get()
    state(item, 1, Status.DONE, source=source)
    data = admin_form_data(admin_client.get(change_url(incident)))
    data["action_items-0-status"] = "abandoned"

    response = admin_client.post(change_url(incident), data)

    assert response.status_code == 200
    assert "add a state under" in response.content.decode()
    item.refresh_from_db()
    assert item.status == Status.DONE


def test_the_change_form_lists_only_the_incidents_own_items(admin_client, make_incidents):
    first, second = make_incidents(2)
    response = admin_client.get(change_url(first))
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.prefix in ("action_states", "promise_links"):
            choices = inline.formset.empty_form.fields["action_item"].choices
            assert [str(value) for value, _ in choices][1:] == [str(first.action_items.get().pk)]


def test_an_editor_gives_a_drafts_item_its_history(client, editor, draft, source):  # noqa: F811
    client.force_login(editor)
    item = draft.action_items.get()
    data = admin_form_data(client.get(change_url(draft)))
    assert "action_states-TOTAL_FORMS" in data  # the inline is there for editors
    data.update(
        {
            "action_states-TOTAL_FORMS": "1",
            "action_states-0-position": "1",
            "action_states-0-action_item": str(item.pk),
            "action_states-0-state": "abandoned",
            "action_states-0-stated_on": "2014",
            "action_states-0-stated_on_precision": "year",
        }
    )

    response = client.post(change_url(draft), data)

    assert response.status_code == 200  # "2014" is no date: refused at its field, nothing saved
    assert not ActionItemState.objects.exists()
    data["action_states-0-stated_on"] = "2014-01-01"
    assert client.post(change_url(draft), data).status_code == 302
    assert ActionItem.objects.get(pk=item.pk).status == Status.ABANDONED


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.ABANDONED])
def test_the_incident_page_counts_every_status_in_its_gist(client, incident, status):
    ActionItem.objects.filter(incident=incident).update(status=status)

    html = client.get(incident.get_absolute_url()).content.decode()

    assert f'<span class="status status-{status}">1 {status.replace("-", " ")}</span>' in html
