"""Bringing a foreign collection into the knowledge base (README, "Bringing a collection").

tests/corpus/foreign/ is a collection as another archive hands it over: zone-less times in three
notations, a day-only and a year-only start, an end before its start, a far-off timeline entry,
names spelled differently, a stored source with another title, and the shipped ELB outage again
under another slug. tests/corpus/resolved/ is the same collection once an editor has answered
every problem. The import must list everything, refuse until it is answered, and then change
nothing curated beyond what the documents ask.
"""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.forms.models import model_to_dict
from reversion.models import Revision

from outages.models import (
    ActionItem,
    Alias,
    Correction,
    Customer,
    CustomerImpact,
    Incident,
    Provider,
    Region,
    Service,
    Source,
    TimelineEvent,
)
from tests.shipped import load_shipped

CORPUS = Path(__file__).parent / "corpus"
FOREIGN = CORPUS / "foreign" / "outage-archive.yaml"
RESOLVED = CORPUS / "resolved" / "outage-archive.yaml"
CURATED_MODELS = [
    Provider,
    Service,
    Region,
    Customer,
    Alias,
    Source,
    Incident,
    TimelineEvent,
    CustomerImpact,
    ActionItem,
    Correction,
]
ELB = "aws-elb-us-east-2012-12-24"
ELB_SOURCE = "https://aws.amazon.com/message/680587/"
ELB_SOURCE_TITLE = "Summary of the December 24, 2012 Amazon ELB Service Event in the US-East Region"


@pytest.fixture
def shipped(db):
    load_shipped()


def curated():
    """Every stored row, field by field (many-to-many links included), by model and pk."""
    return {
        (model.__name__, row.pk): model_to_dict(row)
        for model in CURATED_MODELS
        for row in model.objects.all()
    }


def elb_page(client):
    response = client.get(f"/incidents/{ELB}/")
    assert response.status_code == 200
    return response.content


def line_of(path, fragment, after=1):
    """The number of the first line at or after line `after` holding `fragment`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if n >= after and fragment in line)


def import_collection(path, *options):
    out = StringIO()
    call_command("import_incidents", str(path), *options, stdout=out)
    return out.getvalue()


def refused(path, *options):
    out = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_incidents", str(path), *options, stdout=out)
    return out.getvalue(), str(failure.value)


def test_the_dry_run_lists_every_conflict_duplicate_problem_and_warning(shipped, client):
    before, page = curated(), elb_page(client)

    warnings, problems = refused(FOREIGN, "--dry-run")

    name = str(FOREIGN)  # problems name the file as the command was given it
    # A stored source given with another title: a conflict, never a silent rewrite.
    assert (
        f"{name}:{line_of(FOREIGN, ELB_SOURCE)} incidents[0].sources[0]: source {ELB_SOURCE}: "
        f'title "{ELB_SOURCE_TITLE}" → "AWS ELB event summary"'
    ) in problems
    # The shipped ELB outage under another slug: a likely duplicate, with every reason.
    duplicate = next(line for line in problems.splitlines() if "likely the same outage" in line)
    assert duplicate.startswith(
        f"{name}:{line_of(FOREIGN, 'amazon-elb-outage-christmas-eve')} incidents[0]: "
        f"likely the same outage as {ELB}:"
    )
    assert f"shared source {ELB_SOURCE}" in duplicate
    assert "same provider aws" in duplicate
    assert f"same_as: {ELB}" in duplicate and f"not_duplicate_of: {ELB}" in duplicate
    # Zone-less times in an incident that gives no zone, each named.
    storage = line_of(FOREIGN, "nimbus-storage-2016-09-23")
    for field, value in [
        ("started_at", "2016-09-23 17:21"),
        ("resolved_at", "2016-09-23 19:02"),
        ("timeline[0].at", "2016-09-23 17:21"),
    ]:
        assert f"incidents[1].{field}: “{value}” has no UTC offset" in problems
    assert f"{name}:{line_of(FOREIGN, 'started_at', storage)} incidents[1].started_at" in problems
    # An end before its start.
    queue = line_of(FOREIGN, "nimbus-queue-2018-05-02")
    assert (
        f"{name}:{line_of(FOREIGN, 'resolved_at', queue)} incidents[4].resolved_at: "
        "Resolved at cannot be before started at"
    ) in problems
    assert problems.startswith("6 problems; nothing was written.")
    # Names resolved through names and aliases, said out loud even though the run is refused.
    assert "incidents[0].provider: “Amazon Web Services” resolved to provider aws (name)" in (
        warnings
    )
    assert "incidents[2].customers[0].customer: “Github” resolved to customer github (name)" in (
        warnings
    )
    # A far-off follow-up in that same incident: its rows are checked although its own
    # fields failed, so one run says everything.
    assert "incidents[4].timeline[1].at: 20 Jun 2018 is 48 days after" in warnings
    assert curated() == before
    assert elb_page(client) == page


def test_the_real_run_refuses_the_same_and_writes_nothing(shipped, client):
    before, page, revisions = curated(), elb_page(client), Revision.objects.count()

    _, problems = refused(FOREIGN)

    assert problems.startswith("6 problems; nothing was written.")
    assert curated() == before
    assert Revision.objects.count() == revisions
    assert not Provider.objects.filter(name="Nimbus Cloud").exists()
    assert elb_page(client) == page


def test_once_resolved_it_imports_and_nothing_curated_changes(shipped, client):
    before, page = curated(), elb_page(client)
    elb_revisions = Revision.objects.filter(
        version__object_id=str(Incident.objects.get(slug=ELB).pk)
    )
    elb_revision_count = elb_revisions.count()

    output = import_collection(RESOLVED)

    assert "Imported 5 incidents: 4 created, 0 updated, 1 unchanged" in output
    assert f"{ELB}: unchanged" not in output  # details are for the dry run and -v 2
    # The far-off follow-up is a warning, not a refusal.
    assert (
        "incidents[4].timeline[1].at: 20 Jun 2018 is 48 days after the incident was resolved"
        in (output)
    )
    # Every curated row is as it was: nothing was rewritten, not even the ELB incident the
    # duplicate was merged into, since the archive's entry had nothing it lacks.
    after = curated()
    assert {key: after[key] for key in before} == before
    assert elb_revisions.count() == elb_revision_count
    assert elb_page(client) == page
    # What was asked for is there, as drafts, with the times as the sources gave them.
    dns = Incident.objects.get(slug="nimbus-dns-2017-01-19")
    assert dns.status == Incident.Status.DRAFT
    assert dns.provider.slug == "nimbus"  # "NIMBUS cloud" is Nimbus Cloud
    assert (dns.started_precision, dns.resolved_precision) == ("date", "date")
    assert dns.impacts.get().customer.slug == "github"
    billing = Incident.objects.get(slug="nimbus-billing-2015")
    assert billing.started_precision == "year" and billing.started_at.year == 2015
    storage = Incident.objects.get(slug="nimbus-storage-2016-09-23")
    assert storage.time_zone == "unstated"
    assert f"{storage.started_at:%Y-%m-%d %H:%M}" == "2016-09-23 17:21"  # as written
    assert Provider.objects.filter(name="Nimbus Cloud").count() == 1
    assert not Provider.objects.filter(slug="nimbus-cloud").exists()
    assert not Incident.objects.filter(slug="amazon-elb-outage-christmas-eve").exists()


def test_importing_the_resolved_collection_again_changes_nothing(shipped):
    import_collection(RESOLVED)
    before, revisions = curated(), Revision.objects.count()

    output = import_collection(RESOLVED)

    assert "Imported 5 incidents: 0 created, 0 updated, 5 unchanged" in output
    assert curated() == before
    assert Revision.objects.count() == revisions
