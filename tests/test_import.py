"""manage.py import_incidents / export_incidents: the hand-writable incident format."""

import io
import json
import sys
from pathlib import Path

import jsonschema
import pytest
from django.core.management import CommandError, call_command
from django.core.serializers import serialize
from reversion.models import Version

from outages.interchange.documents import schema
from outages.models import (
    ActionItem,
    ActionItemState,
    Correction,
    Customer,
    CustomerImpact,
    Incident,
    PromiseLink,
    Provider,
    Region,
    Service,
    Source,
    TimelineEvent,
)
from tests.shipped import load_shipped

DOCS = Path(__file__).resolve().parent.parent / "docs" / "incidents"
ELB_DOC = DOCS / "aws-elb-us-east-2012-12-24.yaml"
MODELS = [
    PromiseLink,
    Provider,
    Service,
    Region,
    Customer,
    Source,
    Incident,
    TimelineEvent,
    CustomerImpact,
    ActionItem,
    ActionItemState,
    PromiseLink,
    Correction,
]
# Bookkeeping that says when this database got the rows, not what they say.
BOOKKEEPING = {"updated_at", "published_at", "published_by", "version"}

NEW_INCIDENT = """\
incidents:
- slug: example-outage-2020-01-01
  title: Example Cloud outage
  provider:
    slug: example-cloud
    name: Example Cloud
  services:
  - slug: storage
    name: Storage
  regions:
  - code: north-1
    name: North
  time_zone: America/Los_Angeles
  started_at: "2020-01-01T10:00:00-08:00"
  resolved_at: "2020-01-01T12:30:00-08:00"
  root_cause_category: configuration
  summary: A configuration push took **storage** down.
  sources:
  - url: https://status.example.com/incident/1
    title: Storage incident
    publisher: Example Cloud
    kind: official
  timeline:
  - at: "2020-01-01T10:00:00-08:00"
    as_stated: 10:00 AM PST
    kind: trigger
    key_event: true
    source: https://status.example.com/incident/1
    description: A bad configuration is pushed.
  - at: "2020-01-01T12:30:00-08:00"
    as_stated: 12:30 PM PST
    kind: recovery
    description: Storage is back.
  customers:
  - customer:
      slug: example-shop
      name: Example Shop
    level: outage
    services: [storage]
    description: The shop was down.
  action_items:
  - description: Stage configuration pushes.
    kind: prevent
    status: planned
"""


def run(*args, stdin=None):
    out = io.StringIO()
    if stdin is not None:
        old, sys.stdin = sys.stdin, io.TextIOWrapper(io.BytesIO(stdin))
    try:
        call_command(*args, stdout=out)
    finally:
        if stdin is not None:
            sys.stdin = old
    return out.getvalue()


def write(tmp_path, text, name="incident.yaml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def snapshot():
    """Every row of the app by natural key, without bookkeeping fields."""
    rows = []
    for model in MODELS:
        data = json.loads(
            serialize(
                "json",
                model.objects.all(),
                use_natural_foreign_keys=True,
                use_natural_primary_keys=True,
            )
        )
        for row in data:
            row.pop("pk", None)
            for name in BOOKKEEPING:
                row["fields"].pop(name, None)
            for key, value in row["fields"].items():
                if isinstance(value, list):
                    row["fields"][key] = sorted(value, key=json.dumps)
        rows += sorted(json.dumps(row, sort_keys=True) for row in data)
    return rows


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_a_new_hand_written_incident_is_created_with_its_rows(db, tmp_path):
    output = run("import_incidents", write(tmp_path, NEW_INCIDENT))

    incident = Incident.objects.get(slug="example-outage-2020-01-01")
    assert "1 created" in output
    assert incident.status == Incident.Status.DRAFT
    assert incident.events.count() == 2
    assert incident.impacts.get().customer.name == "Example Shop"
    assert incident.started_at.isoformat() == "2020-01-01T18:00:00+00:00"
    assert "<strong>storage</strong>" in incident.summary_html
    assert incident.events.first().description_html == "<p>A bad configuration is pushed.</p>"


def test_importing_again_changes_nothing_and_adds_no_revision(db, tmp_path):
    path = write(tmp_path, NEW_INCIDENT)
    run("import_incidents", path)
    before, revisions = snapshot(), Version.objects.count()
    version = Incident.objects.get().version

    output = run("import_incidents", path)

    assert "1 unchanged" in output
    assert snapshot() == before
    assert Version.objects.count() == revisions
    assert Incident.objects.get().version == version


def test_a_changed_file_updates_what_changed_and_removes_dropped_events(db, tmp_path):
    run("import_incidents", write(tmp_path, NEW_INCIDENT))
    changed = NEW_INCIDENT.replace("Storage is back.", "Storage is fully back.")
    changed = changed.replace(
        """  - at: "2020-01-01T10:00:00-08:00"
    as_stated: 10:00 AM PST
    kind: trigger
    key_event: true
    source: https://status.example.com/incident/1
    description: A bad configuration is pushed.
""",
        "",
    )

    output = run("import_incidents", write(tmp_path, changed), "-v", "2")

    incident = Incident.objects.get()
    assert "1 updated" in output
    assert list(incident.events.values_list("description", flat=True)) == ["Storage is fully back."]
    assert "timeline event 2: removed" in output


def test_imported_incidents_get_a_revision_naming_the_file(db, tmp_path):
    path = write(tmp_path, NEW_INCIDENT)
    run("import_incidents", path)

    version = Version.objects.get_for_object(Incident.objects.get()).first()

    assert version.revision.comment == "Imported from incident.yaml"  # never the server path


def test_an_import_that_changes_something_refreshes_cached_pages(db, client, tmp_path):
    path = write(tmp_path, NEW_INCIDENT)
    client.get("/incidents/")
    assert client.get("/incidents/")["X-Page-Cache"] == "hit"

    run("import_incidents", path, "--publish")
    assert client.get("/incidents/")["X-Page-Cache"] == "miss"
    run("import_incidents", path, "--publish")  # unchanged

    assert client.get("/incidents/")["X-Page-Cache"] == "hit"


def test_publish_flag_publishes(db, tmp_path):
    run("import_incidents", write(tmp_path, NEW_INCIDENT), "--publish")

    incident = Incident.objects.get()
    assert incident.status == Incident.Status.PUBLISHED and incident.published_at


def test_dry_run_reports_and_writes_nothing(db, tmp_path):
    output = run("import_incidents", write(tmp_path, NEW_INCIDENT), "--dry-run")

    assert "Would import 1 incident: 1 created" in output
    assert "timeline event 1: created" in output
    assert Incident.objects.count() == 0 and Provider.objects.count() == 0


def test_standard_input(db):
    output = run("import_incidents", "-", stdin=NEW_INCIDENT.encode())

    assert "1 created" in output


def test_times_without_offset_need_a_zone_which_is_then_used(db, tmp_path):
    naive = NEW_INCIDENT.replace('"2020-01-01T10:00:00-08:00"', '"2020-01-01 10:00"').replace(
        "  time_zone: America/Los_Angeles\n", ""
    )
    path = write(tmp_path, naive)

    with pytest.raises(CommandError) as error:
        run("import_incidents", path)
    assert 'incidents[0].started_at: "2020-01-01 10:00" has no UTC offset' in str(
        error.value
    ).replace("“", '"').replace("”", '"')

    run("import_incidents", path, "--timezone", "America/Los_Angeles")
    incident = Incident.objects.get()
    assert incident.started_at.isoformat() == "2020-01-01T18:00:00+00:00"
    assert incident.time_zone == "America/Los_Angeles"  # the default became its zone


def test_three_mistakes_are_all_reported_with_file_line_and_field(db, tmp_path):
    broken = (
        NEW_INCIDENT.replace("kind: trigger", "kind: triger")
        .replace('started_at: "2020-01-01T10:00:00-08:00"', 'started_at: "2020-01-01 25:00"')
        .replace("  summary:", "  sumary:")
    )
    path = write(tmp_path, broken, "three.yaml")

    with pytest.raises(CommandError) as error:
        run("import_incidents", path)

    lines = str(error.value).splitlines()
    assert lines[0] == "3 problems; nothing was written."
    assert lines[1].endswith(
        "three.yaml:14 incidents[0].started_at: “2020-01-01 25:00” is not a time such as "
        "2012-12-24T12:24:00-08:00, 2016-09-23T17:21, 2016-09-23 17:21, 2016/09/23 17:21, "
        "2017-01-19, 2017-01 or 2017"
    )
    assert lines[2].endswith(
        "three.yaml:17 incidents[0].sumary: unknown field (check the spelling)"
    )
    assert 'three.yaml:26 incidents[0].timeline[0].kind: "triger" is not one of' in lines[3]
    assert Incident.objects.count() == 0


def test_model_validation_reports_the_field_and_line(db, tmp_path):
    wrong_order = NEW_INCIDENT.replace(
        'resolved_at: "2020-01-01T12:30:00-08:00"', 'resolved_at: "2019-01-01T12:30:00-08:00"'
    )

    with pytest.raises(CommandError) as error:
        run("import_incidents", write(tmp_path, wrong_order, "order.yaml"))

    assert "order.yaml:15 incidents[0].resolved_at: Resolved at cannot be before" in str(
        error.value
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"incidents: [", "is not valid YAML"),
        (b'{"incidents": [', "is not valid JSON"),
        (b"incidents:\n- slug: 5\n", "should be text"),
        (b"incidents:\n- title: No slug\n", "is missing “slug”"),
        (NEW_INCIDENT.replace("    name: Example Cloud\n", "").encode(), "neither"),
        (
            NEW_INCIDENT.replace(
                "  provider:\n    slug: example-cloud\n    name: Example Cloud\n",
                "  provider: nowhere\n",
            ).encode(),
            "there is no provider “nowhere”",
        ),
        ((NEW_INCIDENT + NEW_INCIDENT.replace("incidents:\n", "")).encode(), "is also the slug of"),
        (NEW_INCIDENT.replace("A configuration push", "x" * 60_000).encode(), "at most 50,000 fit"),
        (b"incidents:\n" + b"- " * 100 + b"x\n", "nested more than"),
        (b"\xef\xbb\xbf" + NEW_INCIDENT.encode(), None),  # a byte-order mark is fine
        (b"\xff\xfe not utf-8", "is not UTF-8 text"),
        (b"a: &a [1]\nb: *a\n", "aliases"),
        (b"", "should be a mapping"),
        (b"incidents:\n- slug: x\n  slug: y\n", "appears twice"),
        (
            NEW_INCIDENT.replace(
                "source: https://status.example.com/incident/1\n    description: A bad",
                "source: https://elsewhere.example.com/\n    description: A bad",
            ).encode(),
            "is not among this incident's sources",
        ),
        (
            NEW_INCIDENT.replace(
                "time_zone: America/Los_Angeles", "time_zone: Mars/Olympus"
            ).encode(),
            "is not a time zone name",
        ),
        (NEW_INCIDENT.replace("level: outage", "level: 7").encode(), "is not one of"),
    ],
    ids=[
        "bad-yaml",
        "bad-json",
        "wrong-type",
        "missing-field",
        "bad-inline",
        "unknown-reference",
        "duplicate-slug",
        "huge-string",
        "deep-nesting",
        "bom",
        "not-utf8",
        "alias",
        "empty",
        "duplicate-key",
        "uncited-source",
        "bad-zone",
        "bad-enum",
    ],
)
def test_bad_input_gives_a_message_and_writes_nothing(db, tmp_path, content, expected):
    name = "doc.json" if content.startswith(b'{"') else "doc.yaml"
    path = write(tmp_path, content, name)
    before = counts()

    if expected is None:
        run("import_incidents", path)
        assert Incident.objects.count() == 1
        return
    with pytest.raises(CommandError) as error:
        run("import_incidents", path)

    assert expected in str(error.value)
    assert "Traceback" not in str(error.value)
    assert counts() == before


def test_one_bad_file_stops_the_whole_run(db, tmp_path):
    good = write(tmp_path, NEW_INCIDENT, "good.yaml")
    bad = write(tmp_path, "incidents: [", "bad.yaml")

    with pytest.raises(CommandError):
        run("import_incidents", good, bad)

    assert Incident.objects.count() == 0


def test_ten_megabytes_of_text_is_refused_cleanly(db, tmp_path):
    huge = NEW_INCIDENT.replace("A configuration push", "y" * 10_000_000)

    with pytest.raises(CommandError) as error:
        run("import_incidents", write(tmp_path, huge))

    assert "at most 50,000 fit" in str(error.value)


def test_the_shipped_documents_give_exactly_the_fixture_records(db):
    load_shipped()
    from_fixtures = snapshot()
    for model in reversed(MODELS):
        model.objects.all().delete()

    run("import_incidents", *sorted(str(path) for path in DOCS.glob("*.yaml")), "--publish")

    assert snapshot() == from_fixtures


def test_export_import_export_is_identical(db, tmp_path):
    run("import_incidents", *sorted(str(path) for path in DOCS.glob("*.yaml")), "--publish")
    first = run("export_incidents", "--all")
    for model in reversed(MODELS):
        model.objects.all().delete()

    run("import_incidents", write(tmp_path, first, "backup.yaml"), "--publish")

    assert run("export_incidents", "--all") == first


def test_export_filters(db):
    run("import_incidents", *sorted(str(path) for path in DOCS.glob("*.yaml")), "--publish")

    netflix = run("export_incidents", "--customer", "netflix")
    google = run("export_incidents", "--provider", "google-cloud")

    assert netflix.count("\n- slug: ") == 3
    assert "aws-elb-us-east-2012-12-24" in netflix
    assert google.count("slug: gcp-networking-2019-06-02") == 1
    with pytest.raises(CommandError):
        run("export_incidents", "--provider", "nobody")


def test_the_worked_example_is_the_elb_incident(db):
    assert ELB_DOC.exists()
    run("import_incidents", str(ELB_DOC), "--dry-run")


def test_the_format_page_embeds_the_elb_document_as_it_is():
    page = (DOCS.parent / "incident-format.md").read_text()

    assert page.split("```yaml\n")[-1].rstrip("`\n") + "\n" == ELB_DOC.read_text()


def test_the_published_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(schema())


# --- Partial and zone-less times ----------------------------------------------------------------


def incident_with(times, zone="  time_zone: America/Los_Angeles\n", event_at=None, extra=""):
    """NEW_INCIDENT with its milestones (and first event's time) replaced."""
    text = NEW_INCIDENT.replace("  time_zone: America/Los_Angeles\n", zone)
    text = text.replace(
        '  started_at: "2020-01-01T10:00:00-08:00"\n  resolved_at: "2020-01-01T12:30:00-08:00"\n',
        "".join(f'  {name}: "{value}"\n' for name, value in times.items()) + extra,
    )
    if event_at is not None:
        text = text.replace(
            '  - at: "2020-01-01T10:00:00-08:00"', f'  - at: "{event_at}"', 1
        ).replace('  - at: "2020-01-01T12:30:00-08:00"', f'  - at: "{event_at}"', 1)
    return text


def problems_of(tmp_path, text, *args):
    with pytest.raises(CommandError) as error:
        run("import_incidents", write(tmp_path, text), *args)
    return str(error.value)


@pytest.mark.parametrize(
    ("value", "precision", "stored"),
    [
        ("2017-01-19", "date", "2017-01-19T08:00:00+00:00"),
        ("2017-01", "month", "2017-01-01T08:00:00+00:00"),
        ("2017", "year", "2017-01-01T08:00:00+00:00"),
        ("2017-07-04", "date", "2017-07-04T07:00:00+00:00"),  # summer time in Los Angeles
    ],
)
def test_a_day_month_or_year_is_the_start_of_that_period_in_the_incidents_zone(
    db, tmp_path, value, precision, stored
):
    run("import_incidents", write(tmp_path, incident_with({"started_at": value})))

    incident = Incident.objects.get()
    assert incident.started_at.isoformat() == stored
    assert incident.started_precision == precision
    assert incident.resolved_precision == "minute"


@pytest.mark.parametrize("value", ["2016-09-23T17:21", "2016-09-23 17:21", "2016/09/23 17:21"])
def test_zone_less_times_take_the_incidents_own_zone_not_the_default(db, tmp_path, value):
    text = incident_with({"started_at": value}, event_at=value)

    run("import_incidents", write(tmp_path, text), "--timezone", "Asia/Tokyo")

    incident = Incident.objects.get()
    assert incident.time_zone == "America/Los_Angeles"
    assert incident.started_at.isoformat() == "2016-09-24T00:21:00+00:00"
    assert incident.events.first().occurred_at == incident.started_at


def test_a_zone_less_time_with_no_zone_anywhere_is_refused_naming_the_field(db, tmp_path):
    text = incident_with({"started_at": "2017-01-19"}, zone="")

    message = problems_of(tmp_path, text)

    assert "incidents[0].started_at: “2017-01-19” has no UTC offset" in message
    assert "the incident gives no time_zone" in message
    assert not Incident.objects.exists()


def test_an_unstated_zone_keeps_times_as_written(db, tmp_path, client):
    text = incident_with(
        {"started_at": "2016/09/23 17:21", "resolved_at": "2016-09-23 19:02"},
        zone="  time_zone: unstated\n",
        event_at="2016-09-23T17:21",
    )

    run("import_incidents", write(tmp_path, text), "--publish")

    incident = Incident.objects.get()
    assert incident.time_zone == "unstated"
    assert incident.started_at.isoformat() == "2016-09-23T17:21:00+00:00"  # as written
    html = client.get(incident.get_absolute_url()).content.decode()
    assert "23 Sep 2016, 5:21 PM (zone not stated by the source)" in html


def test_a_time_with_an_offset_contradicts_an_unstated_zone(db, tmp_path):
    text = incident_with(
        {"started_at": "2016-09-23T17:21:00-07:00"}, zone="  time_zone: unstated\n"
    )

    message = problems_of(tmp_path, text)

    assert "incidents[0].started_at: “2016-09-23T17:21:00-07:00” has a UTC offset" in message


def test_a_precision_finer_than_the_value_is_refused(db, tmp_path):
    text = incident_with({"started_at": "2017-01"}, extra="  started_precision: date\n")

    message = problems_of(tmp_path, text)

    assert "incidents[0].started_at: “2017-01” is known only to the month" in message


def test_a_coarser_precision_than_the_value_is_kept(db, tmp_path):
    text = incident_with(
        {"started_at": "2017-01-19T10:00", "resolved_at": "2017-01-19T12:40"},
        extra="  started_precision: approximate\n  resolved_precision: hour\n",
        event_at="2017-01-19",
    )

    run("import_incidents", write(tmp_path, text))

    incident = Incident.objects.get()
    assert (incident.started_precision, incident.resolved_precision) == ("approximate", "hour")
    assert incident.events.first().precision == "date"


def test_a_customers_times_need_a_clock_time(db, tmp_path):
    text = NEW_INCIDENT.replace(
        "    level: outage\n", '    level: outage\n    started_at: "2020-01-01"\n'
    )

    message = problems_of(tmp_path, text)

    assert "customers[0].started_at: “2020-01-01” gives no clock time" in message


def test_precision_and_partial_dates_survive_export_and_import(db, tmp_path):
    text = incident_with(
        {"started_at": "2017-01-19", "detected_at": "2017-01-20T09:00", "resolved_at": "2017-02"},
        extra="  detected_precision: approximate\n",
        event_at="2017",
    )
    run("import_incidents", write(tmp_path, text))
    first = run("export_incidents", "--all")
    assert "started_at: '2017-01-19'\n" in first
    assert "detected_precision: approximate\n" in first
    assert "resolved_at: 2017-02\n" in first
    assert "- at: '2017'\n" in first
    for model in reversed(MODELS):
        model.objects.all().delete()

    run("import_incidents", write(tmp_path, first, "backup.yaml"))

    assert run("export_incidents", "--all") == first
    incident = Incident.objects.get()
    assert (incident.started_precision, incident.resolved_precision) == ("date", "month")


def test_an_unstated_zone_survives_export_and_import(db, tmp_path):
    text = incident_with(
        {"started_at": "2016-09-23 17:21"}, zone="  time_zone: unstated\n", event_at="2016-09-23"
    )
    run("import_incidents", write(tmp_path, text))
    first = run("export_incidents", "--all")
    assert "started_at: '2016-09-23T17:21:00'" in first
    for model in reversed(MODELS):
        model.objects.all().delete()

    run("import_incidents", write(tmp_path, first, "backup.yaml"))

    assert run("export_incidents", "--all") == first


def test_a_time_beyond_the_calendar_in_its_zone_is_a_problem_not_a_traceback(db, tmp_path):
    text = incident_with({"started_at": "0001-01-01T00:00"}, zone="  time_zone: Asia/Tokyo\n")

    message = problems_of(tmp_path, text)

    assert "incidents[0].started_at" in message
