"""The counts the statistics page and the customer map read are kept by every write
(outages.summaries), and after each kind of write they equal their definitions over the
published incidents (outages.kept_counts.DEFINITIONS): the one rule, never a copy of it.

Each write path of test_every_write_is_a_revision (every way content is written) runs on counts
rebuilt after its setup (setups write around the site's paths); the paths below add the writes
that change what is counted, and check that the counts did change."""

import importlib
import json
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from outages import kept_counts, revisions, summaries, workflow
from outages.models import (
    ActionItem,
    ActionItemCount,
    CustomerImpact,
    CustomerYearCount,
    Incident,
    Provider,
    Service,
)
from tests.test_every_write_is_a_revision import (
    WRITE_PATHS,
    Context,
    admin_save,
    empty_database,
    write_file,
)
from tests.test_import import NEW_INCIDENT, run
from tests.test_search import admin_form_data


def kept():
    """Every kept count, by table and key."""
    return {
        model.__name__: {summaries.stored_key(model, row): row.count for row in model.objects.all()}
        for model in kept_counts.DEFINITIONS
    }


def change_form(ctx):
    url = reverse("admin:outages_incident_change", args=[ctx.incident.pk])
    return url, admin_form_data(ctx.client.get(url))


def admin_change_of_how_a_customer_was_hit(ctx):
    def write():
        url, data = change_form(ctx)
        data["impacts-0-level"] = CustomerImpact.Level.NOT_AFFECTED
        assert ctx.client.post(url, data).status_code == 302

    return write


def admin_change_of_the_services_that_hit_a_customer(ctx):
    def write():
        url, data = change_form(ctx)
        data["impacts-0-services"] = []  # now "not stated"
        assert ctx.client.post(url, data).status_code == 302

    return write


def admin_change_then_withdrawal_in_one_save(ctx):
    def write():
        url, data = change_form(ctx)
        data["impacts-0-level"] = CustomerImpact.Level.DEGRADED
        data["_transition"] = "withdraw"
        data["withdrawn_reason"] = "Taken down for a test."
        assert ctx.client.post(url, data).status_code == 302
        assert Incident.objects.get(pk=ctx.incident.pk).status == Incident.Status.WITHDRAWN

    return write


def admin_delete_of_an_incident(ctx):
    def write():
        url = reverse("admin:outages_incident_delete", args=[ctx.incident.pk])
        assert ctx.client.post(url, {"post": "yes"}).status_code == 302

    return write


def admin_delete_of_incidents_from_the_list(ctx):
    def write():
        url = reverse("admin:outages_incident_changelist")
        data = {"action": "delete_selected", "_selected_action": [ctx.incident.pk], "post": "yes"}
        assert ctx.client.post(url, data).status_code == 302
        assert not Incident.objects.filter(pk=ctx.incident.pk).exists()

    return write


def admin_delete_of_a_service_an_impact_names(ctx):
    service = Service.objects.get()

    def write():
        url = reverse("admin:outages_service_delete", args=[service.pk])
        assert ctx.client.post(url, {"post": "yes"}).status_code == 302
        assert not Service.objects.exists()

    return write


def publication_of_a_draft(ctx):
    Incident.objects.filter(pk=ctx.incident.pk).update(status=Incident.Status.DRAFT)

    def write():
        workflow.apply(ctx.incident, "publish", ctx.user)

    return write


def restore_before(ctx, field, value):
    """A write that restores the incident as it was before an admin save set `field`."""
    admin_save(ctx.client, ctx.incident)  # the revision to go back to
    url, data = change_form(ctx)
    data[field] = value
    assert ctx.client.post(url, data).status_code == 302
    older = revisions.versions(ctx.incident).last()

    def write():
        url = reverse("admin:outages_incident_restore", args=[ctx.incident.pk, older.pk])
        assert ctx.client.post(url).status_code == 302

    return write


def restore_of_how_a_customer_was_hit(ctx):
    return restore_before(ctx, "impacts-0-level", CustomerImpact.Level.NOT_AFFECTED)


def admin_change_of_an_action_items_status(ctx):
    def write():
        url, data = change_form(ctx)
        assert data["action_items-0-status"] == ActionItem.Status.DONE
        data["action_items-0-status"] = ActionItem.Status.ABANDONED
        assert ctx.client.post(url, data).status_code == 302

    return write


def admin_state_added_to_an_action_items_history(ctx):
    item = ctx.incident.action_items.get()

    def write():
        url, data = change_form(ctx)
        data.update(
            {
                "action_states-TOTAL_FORMS": "1",
                "action_states-0-position": "1",
                "action_states-0-action_item": str(item.pk),
                "action_states-0-state": ActionItem.Status.IN_PROGRESS,
                "action_states-0-stated_on": "",
                "action_states-0-stated_on_precision": "date",
            }
        )
        assert ctx.client.post(url, data).status_code == 302
        item.refresh_from_db()
        assert item.status == ActionItem.Status.IN_PROGRESS  # derived from the new state

    return write


def admin_change_of_an_incidents_start_year(ctx):
    def write():
        url, data = change_form(ctx)
        data["started_at_0"] = "2011-12-24"
        assert ctx.client.post(url, data).status_code == 302

    return write


def admin_change_of_an_incidents_provider(ctx):
    other = Provider.objects.create(slug="other", name="Other")

    def write():
        url, data = change_form(ctx)
        data["provider"] = other.pk
        response = ctx.client.post(url, data)
        assert response.status_code == 302, response.context and response.context["errors"]

    return write


def restore_of_an_action_items_status(ctx):
    return restore_before(ctx, "action_items-0-status", ActionItem.Status.PLANNED)


def import_changing_an_action_items_status(ctx):
    run("import_incidents", write_file(ctx, NEW_INCIDENT, "first.yaml"), "--publish")
    changed = NEW_INCIDENT.replace("    status: planned\n", "    status: done\n")
    assert changed != NEW_INCIDENT

    def write():
        run("import_incidents", write_file(ctx, changed, "changed.yaml"))

    return write


def load_fixtures_changing_an_action_items_history(ctx):
    empty_database()
    name = "fixtures/aws-elb-us-east-2012-12-24.json"
    call_command("load_fixtures", "fixtures/reference.json", name, verbosity=0)
    with open(name, encoding="utf-8") as file:
        objects = json.load(file)
    [planned] = [
        obj
        for obj in objects
        if obj["model"] == "outages.actionitem" and obj["fields"]["status"] == "planned"
    ]
    planned["fields"]["status"] = "abandoned"
    for obj in objects:  # its history says so too, as loaders require
        if obj["model"] == "outages.actionitemstate" and obj["fields"]["action_item"] == [
            *planned["fields"]["incident"],
            planned["fields"]["position"],
        ]:
            obj["fields"]["state"] = "abandoned"
    changed = ctx.tmp_path / "elb.json"
    changed.write_text(json.dumps(objects), encoding="utf-8")

    def write():
        call_command("load_fixtures", str(changed), "--update", verbosity=0)

    return write


def import_published(ctx):
    def write():
        run("import_incidents", write_file(ctx, NEW_INCIDENT), "--publish")

    return write


def sample_data(ctx):
    empty_database()

    def write():
        call_command("generate_sample_data", "--incidents", "4", verbosity=0)

    return write


COUNTING_PATHS = [
    admin_change_of_how_a_customer_was_hit,
    admin_change_of_the_services_that_hit_a_customer,
    admin_change_then_withdrawal_in_one_save,
    admin_delete_of_an_incident,
    admin_delete_of_incidents_from_the_list,
    admin_delete_of_a_service_an_impact_names,
    publication_of_a_draft,
    restore_of_how_a_customer_was_hit,
    admin_change_of_an_action_items_status,
    admin_state_added_to_an_action_items_history,
    admin_change_of_an_incidents_start_year,
    admin_change_of_an_incidents_provider,
    restore_of_an_action_items_status,
    import_changing_an_action_items_status,
    load_fixtures_changing_an_action_items_history,
    import_published,
    sample_data,
]


@pytest.mark.parametrize("path", WRITE_PATHS + COUNTING_PATHS, ids=lambda path: path.__name__)
def test_every_write_keeps_the_counts_equal_to_their_definitions(
    admin_client, admin_user, incident, tmp_path, path
):
    ctx = Context(admin_client, admin_user, incident, tmp_path)
    write = path(ctx)
    summaries.rebuild()  # the setup wrote around the site's paths
    before = kept()

    write()

    assert summaries.differences() == []
    if path in COUNTING_PATHS:
        assert kept() != before, "the write should have changed what is counted"


def test_counts_are_those_of_published_hits_only(incident, customer):
    counts = kept()
    assert counts["CustomerTotal"] == {(customer.pk,): 1}
    assert counts["IncidentCount"] == {
        (incident.provider_id, 2012, incident.root_cause_category): 1
    }
    assert counts["ActionItemCount"] == {(incident.provider_id, 2012, ActionItem.Status.DONE): 1}

    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.DRAFT)
    summaries.rebuild()

    assert all(not rows for rows in kept().values())


def test_a_write_around_the_site_is_found_by_the_check_and_repaired(incident):
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.WITHDRAWN)

    with pytest.raises(CommandError, match="differ from the incidents"):
        call_command("rebuild_summaries", "--check", verbosity=0)

    call_command("rebuild_summaries", verbosity=0)

    assert summaries.differences() == []
    call_command("rebuild_summaries", "--check", verbosity=0)


def test_a_table_added_by_a_later_migration_is_counted(incident):
    CustomerYearCount.objects.all().delete()  # the others kept, as after its migration

    call_command("rebuild_summaries", "--if-empty", verbosity=0)
    assert kept()["CustomerYearCount"] and summaries.differences() == []


def test_a_migrated_database_is_counted_once(incident):
    for model in kept_counts.DEFINITIONS:
        model.objects.all().delete()  # as after the migration that made the tables

    call_command("rebuild_summaries", "--if-empty", verbosity=0)
    assert kept()["CustomerTotal"] and summaries.differences() == []

    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.DRAFT)
    call_command("rebuild_summaries", "--if-empty", verbosity=0)  # kept already: not recounted
    assert kept()["CustomerTotal"]


def test_the_migration_that_made_the_action_item_counts_fills_them_as_defined(make_incidents):
    make_incidents(3)
    Incident.objects.filter(pk=Incident.objects.first().pk).update(status=Incident.Status.DRAFT)
    Incident.objects.filter(pk=Incident.objects.last().pk).update(started_at=None)
    summaries.rebuild()
    expected = kept()["ActionItemCount"]
    assert len(expected) == 2  # a known year and an unknown one; the draft's item left out
    ActionItemCount.objects.all().delete()
    migration = importlib.import_module("outages.migrations.0029_kept_action_item_counts")

    migration.count_action_items(apps, SimpleNamespace(connection=connection))

    assert kept()["ActionItemCount"] == expected
