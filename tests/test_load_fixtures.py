"""manage.py load_fixtures: the shipped fixtures load as loaddata would load them, and a fixture
with anything wrong in it loads nothing at all and says what is wrong, where."""

import json
from glob import glob
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import connection
from reversion.models import Revision

from outages.interchange.fixtures_loading import ALLOWED_MODELS
from outages.interchange.fixtures_reading import natural_key_of
from outages.models import Customer, Incident, Provider, Region, Service, Source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SHIPPED = sorted(FIXTURES.glob("*.json"))  # the order of the shell's fixtures/*.json
ELB_FILE = FIXTURES / "aws-elb-us-east-2012-12-24.json"

PROVIDER = {
    "model": "outages.provider",
    "fields": {"slug": "example-cloud", "name": "Example Cloud"},
}
SERVICE = {
    "model": "outages.service",
    "fields": {"provider": ["example-cloud"], "slug": "lb", "name": "Load Balancer"},
}
INCIDENT = {
    "model": "outages.incident",
    "fields": {
        "title": "Example outage",
        "slug": "example-outage",
        "provider": ["example-cloud"],
        "services": [["example-cloud", "lb"]],
        "started_at": "2012-12-24T20:24:00Z",
        "resolved_at": "2012-12-25T20:05:00Z",
        "root_cause_category": "operational-error",
        "status": "published",
        "published_at": "2013-01-01T00:00:00Z",
        "summary": "What *happened*.",
    },
}
# A second incident for the database that already holds INCIDENT.
NEW_INCIDENT = {
    "model": "outages.incident",
    "fields": {**INCIDENT["fields"], "slug": "new-outage", "title": "New outage"},
}
# Object 1 of every broken file below: a new row, which must not survive.
NEW_ROW = {"model": "outages.provider", "fields": {"slug": "new-cloud", "name": "New Cloud"}}
HEADER = "Fixtures not loaded, nothing was written"
REFERENCES = [
    f"outages.{name}" for name in ["Provider", "Service", "Region", "Customer", "Alias", "Source"]
]
INCIDENTS = [
    f"outages.{name}"
    for name in ["Incident", "TimelineEvent", "CustomerImpact", "ActionItem", "Correction"]
    + ["ActionItemState", "PromiseLink"]
]


def edit(base, **fields):
    return {"model": base["model"], "fields": {**base["fields"], **fields}}


def write(tmp_path, name, objects):
    path = tmp_path / name
    path.write_text(json.dumps(objects) if not isinstance(objects, str) else objects)
    return path


def load(*paths, **options):
    call_command("load_fixtures", *[str(path) for path in paths], verbosity=0, **options)


def load_fails(*paths):
    """The CommandError message of a load that must fail."""
    with pytest.raises(CommandError) as failure:
        load(*paths)
    message = str(failure.value)
    assert message.startswith(HEADER)
    return message


def snapshot():
    """Every row of every table a fixture could touch: this app's (with its many-to-many
    tables) and the accounts and permissions that must never come from a fixture."""
    models = [
        *apps.get_app_config("outages").get_models(include_auto_created=True),
        User,
        Group,
        Permission,
        ContentType,
    ]
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in models}


# Rows derived from the content, never loaded: the search index, the counts the statistics
# page reads (outages.summaries), kept by every write of the content, the published versions
# of incidents (history, like the revisions they are frozen from) and the stored articles of
# incident pages (rendered at the first read).
DERIVED = {
    "outages.incidentversion",
    "outages.incidentarticle",
    "outages.searchdocument",
    "outages.incidentcount",
    "outages.durationcount",
    "outages.servicecount",
    "outages.regioncount",
    "outages.customertotal",
    "outages.customercount",
    "outages.customerservicecount",
    "outages.customerregioncount",
    "outages.serviceyearcount",
    "outages.regionyearcount",
    "outages.customeryearcount",
    "outages.actionitemcount",
    "outages.summarylock",
}


def dump():
    """The content rows (the derived rows are built from them, and loaddata builds none)."""
    out = StringIO()
    call_command(
        "dumpdata",
        "outages",
        exclude=sorted(DERIVED),
        natural_foreign=True,
        natural_primary=True,
        indent=1,
        stdout=out,
    )
    return out.getvalue()


def delete_everything():
    Incident.objects.all().delete()
    for model in [Source, Customer, Service, Region, Provider]:
        model.objects.all().delete()


@pytest.fixture
def existing(db, tmp_path):
    """A database that already holds rows, loaded the same way, and its snapshot."""
    load(write(tmp_path, "existing.json", [PROVIDER, SERVICE, INCIDENT]))
    return snapshot()


# --- The shipped fixtures ----------------------------------------------------------------------


def test_the_shipped_fixtures_load_and_load_again_without_change(db):
    out = StringIO()
    call_command("load_fixtures", *[str(path) for path in SHIPPED], stdout=out)
    first, revisions = snapshot(), Revision.objects.count()

    load(*SHIPPED, update=True)

    objects = sum(len(json.loads(path.read_text())) for path in SHIPPED)
    # A revision per reference row and one per incident (holding its rows).
    references = sum(len(first[label]) for label in REFERENCES)
    rows = references + sum(len(first[label]) for label in INCIDENTS)
    assert out.getvalue() == (
        f"Loaded {objects} objects from {len(SHIPPED)} files: {rows} created, 0 updated, "
        f"{objects - rows} unchanged; {8 + references} revisions recorded.\n"
    )
    assert Incident.objects.count() == 8
    assert snapshot() == first
    assert Revision.objects.count() == revisions


def test_the_shipped_fixtures_give_the_rows_loaddata_gives(db):
    call_command("loaddata", *SHIPPED, verbosity=0)
    by_loaddata = dump()
    delete_everything()

    load(*SHIPPED)

    assert dump() == by_loaddata  # apart from the search index, which loaddata leaves out
    elb = Incident.objects.get(slug="aws-elb-us-east-2012-12-24")
    assert elb.summary_html.startswith("<p>")
    assert elb.status == Incident.Status.PUBLISHED
    assert elb.version == 1
    assert elb.events.filter(description_html="").count() == 0


def test_markdown_is_rendered_and_many_to_many_rows_are_set(db, tmp_path):
    load(write(tmp_path, "example.json", [PROVIDER, SERVICE, INCIDENT]))

    incident = Incident.objects.get(slug="example-outage")
    assert incident.summary_html == "<p>What <em>happened</em>.</p>"
    assert [service.slug for service in incident.services.all()] == ["lb"]


def test_references_to_rows_later_in_the_set_load_as_with_loaddata(db, tmp_path):
    customer = {
        "model": "outages.customer",
        "fields": {"slug": "example", "name": "Example", "provider": ["example-cloud"]},
    }
    # The customer names its provider, and the incident its service, before either exists.
    first = write(tmp_path, "first.json", [customer, edit(INCIDENT, services=[])])
    second = write(tmp_path, "second.json", [PROVIDER, SERVICE, INCIDENT])
    with pytest.raises(CommandError):
        load(first, second)  # the incident's provider is required, so it cannot wait

    first = write(tmp_path, "first.json", [customer])
    second = write(tmp_path, "second.json", [PROVIDER, INCIDENT, SERVICE])
    load(first, second)

    assert Customer.objects.get(slug="example").provider.slug == "example-cloud"
    assert Incident.objects.get(slug="example-outage").services.get().slug == "lb"


# --- Models that fixtures may not hold ---------------------------------------------------------

SUPERUSER = {
    "model": "auth.user",
    "fields": {
        "username": "mallory",
        "password": "pbkdf2_sha256$1000000$salt$hash=",
        "is_superuser": True,
        "is_staff": True,
        "is_active": True,
    },
}


@pytest.mark.parametrize(
    "refused",
    [
        SUPERUSER,
        {"model": "contenttypes.contenttype", "fields": {"app_label": "x", "model": "y"}},
        {
            "model": "auth.permission",
            "fields": {
                "name": "Can do anything",
                "content_type": ["outages", "incident"],
                "codename": "do_anything",
            },
        },
        {"model": "auth.group", "fields": {"name": "Everyone", "permissions": []}},
        {"model": "outages.searchdocument", "fields": {"incident": ["example-outage"]}},
        {"model": "outages.nosuchmodel", "fields": {}},
        {"model": "Auth.User", "fields": SUPERUSER["fields"]},
    ],
    ids=lambda refused: refused["model"],
)
def test_a_model_outside_the_app_content_is_refused(existing, tmp_path, refused):
    path = write(tmp_path, "x.json", [NEW_ROW, refused])

    message = load_fails(path)

    label = refused["model"].lower()
    assert (
        f"{path} object 2: {label} is not allowed here; fixtures may hold only providers, "
        "services, regions, customers, sources, incidents and their rows (relations between "
    ) in message
    assert snapshot() == existing


def test_every_model_of_the_app_is_allowed_or_deliberately_left_out():
    # A new model stays out of fixtures until someone adds it to ALLOWED_MODELS on purpose.
    labels = {model._meta.label_lower for model in apps.get_app_config("outages").get_models()}
    assert ALLOWED_MODELS <= labels
    # Figures are uploaded files: a fixture cannot carry the file its row names. Archived copies
    # are what a fetch saw and when, and status pages make the server fetch an address: both
    # come only from the commands and the admin that check them.
    assert labels - ALLOWED_MODELS == DERIVED | {
        "outages.figure",
        "outages.archivedcopy",
        "outages.statuspage",
    }


@pytest.mark.parametrize("where", ["pk", "fields"])
def test_an_explicit_primary_key_is_refused(existing, tmp_path, where):
    # It would overwrite the row that happens to have that number, whatever it is.
    pk = Provider.objects.get().pk
    hijack = edit(PROVIDER, slug="hijacked", name="Hijacked")
    if where == "pk":
        hijack["pk"] = pk
    else:
        hijack["fields"]["id"] = pk
    path = write(tmp_path, "x.json", [NEW_ROW, hijack])

    message = load_fails(path)

    named = 'has a "pk"' if where == "pk" else "id"
    assert (
        f'{path} object 2 (outages.provider ["hijacked"]): '
        f"{named}: use natural keys; a pk could overwrite an unrelated row"
    ) in message
    assert snapshot() == existing


def test_a_numeric_reference_is_refused(existing, tmp_path):
    pk = Provider.objects.get().pk
    path = write(tmp_path, "x.json", [NEW_ROW, edit(SERVICE, slug="dns", provider=pk)])

    message = load_fails(path)

    assert (
        f"{path} object 2 (outages.service): "
        'provider: give a natural key, a list like ["aws", "elb"]'
    ) in message
    assert snapshot() == existing


# --- Values that fail validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, expected",
    [
        (
            edit(PROVIDER, slug="Not A Slug!"),
            'object 2 (outages.provider ["Not A Slug!"]): slug: Enter a valid “slug”',
        ),
        (
            edit(NEW_INCIDENT, resolved_at="2012-12-24T20:00:00Z"),
            'object 2 (outages.incident ["new-outage"]): '
            "resolved_at: Resolved at cannot be before started at.",
        ),
        (
            edit(NEW_INCIDENT, time_zone="Mars/Olympus"),
            'object 2 (outages.incident ["new-outage"]): '
            "time_zone: “Mars/Olympus” is not a time zone name.",
        ),
        (
            edit(NEW_INCIDENT, summary="x" * 50_001),
            'object 2 (outages.incident ["new-outage"]): '
            "summary: Ensure this value has at most 50000 characters (it has 50001).",
        ),
        (
            edit(NEW_INCIDENT, root_cause_category="gremlins"),
            'object 2 (outages.incident ["new-outage"]): '
            "root_cause_category: Value 'gremlins' is not a valid choice.",
        ),
        (
            edit(NEW_INCIDENT, title=""),
            'object 2 (outages.incident ["new-outage"]): title: This field cannot be blank.',
        ),
        (
            edit(NEW_INCIDENT, started_at="yesterday"),
            'object 2 (outages.incident ["new-outage"]): '
            "started_at: “yesterday” value has an invalid format.",
        ),
        (
            edit(NEW_INCIDENT, started_at="2012-12-24T20:24:00"),
            'object 2 (outages.incident ["new-outage"]): '
            "started_at: give the time with its UTC offset, e.g. 2012-12-24T20:24:00Z",
        ),
        (
            edit(PROVIDER, colour="blue"),
            'object 2 (outages.provider ["example-cloud"]): '
            "colour: outages.provider has no such field",
        ),
    ],
    ids=[
        "slug",
        "resolved-before-start",
        "time-zone",
        "long-markdown",
        "choice",
        "blank",
        "date",
        "naive-time",
        "unknown-field",
    ],
)
def test_an_invalid_value_loads_nothing_and_names_file_object_and_field(
    existing, tmp_path, bad, expected
):
    path = write(tmp_path, "x.json", [NEW_ROW, bad])

    message = load_fails(path)

    assert f"{path} {expected}" in message
    assert snapshot() == existing


def test_a_duplicate_is_refused_by_full_clean_before_the_database_sees_it(existing, tmp_path):
    # Two customers cannot be the same provider: the one-to-one field is unique.
    customers = [
        {
            "model": "outages.customer",
            "fields": {"slug": slug, "name": slug, "provider": ["example-cloud"]},
        }
        for slug in ["first", "second"]
    ]
    path = write(tmp_path, "x.json", [NEW_ROW, *customers])

    message = load_fails(path)

    assert (
        f'{path} object 3 (outages.customer ["second"]): '
        "provider: Customer with this Provider already exists."
    ) in message
    assert snapshot() == existing


@pytest.mark.parametrize(
    "bad, expected",
    [
        (
            edit(SERVICE, provider=["nowhere"]),
            'provider: there is no outages.provider ["nowhere"] in the database '
            "or earlier in these fixtures",
        ),
        (
            edit(NEW_INCIDENT, provider=["nowhere"]),
            'object 2 (outages.incident ["new-outage"]): provider: there is no '
            'outages.provider ["nowhere"] in the database or earlier in these fixtures',
        ),
        (
            {
                "model": "outages.customer",
                "fields": {"slug": "example", "name": "Example", "provider": ["nowhere"]},
            },
            'object 2 (outages.customer ["example"]): provider: there is no '
            'outages.provider ["nowhere"] in the database or in these fixtures',
        ),
        (
            edit(NEW_INCIDENT, services=[["example-cloud", "lb"], ["nowhere", "lb"]]),
            'object 2 (outages.incident ["new-outage"]): services: there is no '
            'outages.service ["nowhere", "lb"] in the database or in these fixtures',
        ),
        (
            {
                "model": "outages.timelineevent",
                "fields": {
                    "incident": ["no-such-incident"],
                    "position": 1,
                    "occurred_at": "2012-12-24T20:24:00Z",
                    "kind": "trigger",
                    "description": "It began.",
                },
            },
            'incident: there is no outages.incident ["no-such-incident"]',
        ),
        (
            edit(SERVICE, provider=["example-cloud", "extra"]),
            'provider: ["example-cloud", "extra"] is not a natural key of outages.provider',
        ),
    ],
    ids=["service", "incident", "customer", "many-to-many", "timeline-event", "bad-key"],
)
def test_a_reference_to_a_missing_row_loads_nothing(existing, tmp_path, bad, expected):
    path = write(tmp_path, "x.json", [NEW_ROW, bad])

    message = load_fails(path)

    assert f"{path} object 2" in message
    assert expected in message
    assert snapshot() == existing


# --- Values of the wrong kind, in every field ---------------------------------------------------

EVENT = {
    "model": "outages.timelineevent",
    "fields": {
        "incident": ["example-outage"],
        "position": 3,
        "occurred_at": "2012-12-24T20:24:00Z",
        "kind": "trigger",
        "description": "It began.",
        "time_as_stated": "12:24 PM PST",
        "is_key_event": False,
    },
}
EVENT_KEY = 'outages.timelineevent ["example-outage", 3]'


def with_literal(obj, name, literal):
    """The JSON text of a one-object fixture whose field `name` is written as `literal`, for
    values json.dumps cannot write (1e400) or would write otherwise."""
    text = json.dumps([edit(obj, **{name: "@@literal@@"})])
    return text.replace('"@@literal@@"', literal)


@pytest.mark.parametrize(
    "name, literal, expected",
    [
        ("position", '"three"', ' "three"]): position: give a whole number, not "three"'),
        ("position", "1.5", " 1.5]): position: give a whole number, not 1.5"),
        ("position", "2.0", " 2.0]): position: give a whole number, not 2.0"),
        ("position", "1e400", " 1e400]): position: give a whole number, not 1e400"),
        ("position", "1e308", " 1e308]): position: give a whole number, not 1e308"),
        ("position", "-Infinity", " -Infinity]): position: give a whole number, not -Infinity"),
        ("position", "NaN", " NaN]): position: give a whole number, not NaN"),
        ("position", "true", " true]): position: give a whole number, not true"),
        ("position", "[3]", " [3]]): position: give a whole number, not a list"),
        ("position", "40000", " 40000]): position: 40000 is out of range; give one from 0 to"),
        ("position", "-1", " -1]): position: -1 is out of range; give one from 0 to 32767"),
        ("position", "9" * 60, " 999999999999… (60 digits)]): position: 999999999999… (60"),
        ("is_key_event", "1", "]): is_key_event: give true or false, not 1"),
        ("is_key_event", '"yes"', ']): is_key_event: give true or false, not "yes"'),
        ("description", "42", "]): description: give text in quotes, not 42"),
        ("description", '["It", "began"]', "]): description: give text in quotes, not a list"),
        (
            "description",
            '{"text": {"deeper": [1]}}',
            "]): description: give text in quotes, not an",
        ),
        ("time_as_stated", "false", "]): time_as_stated: give text in quotes, not false"),
        ("occurred_at", "1e308", '"2012-12-24T20:24:00Z", not 1e308'),
        ("occurred_at", "1356380640", '"2012-12-24T20:24:00Z", not 1356380640'),
        (
            "occurred_at",
            '"9999-12-31T23:59:59-05:00"',
            "]): occurred_at: 9999-12-31T23:59:59-05:00 is outside the calendar once given in UTC",
        ),
        (
            "occurred_at",
            '"0001-01-01T00:00:00+01:00"',
            "]): occurred_at: 0001-01-01T00:00:00+01:00 is outside the calendar once given in UTC",
        ),
        ("source", '"https://example.com/"', ']): source: give a natural key, a list like ["aws"'),
        ("source", '[["https://example.com/"]]', "]): source: give a natural key, a list like"),
        ("incident", '"example-outage"', "outages.timelineevent): incident: give a natural key"),
        ("incident", '[{"slug": "x"}]', "outages.timelineevent): incident: give a natural key"),
        ("incident", "[true]", "outages.timelineevent): incident: give a natural key"),
    ],
)
def test_a_value_of_the_wrong_kind_is_named_with_its_field_and_loads_nothing(
    existing, tmp_path, name, literal, expected
):
    path = write(tmp_path, "x.json", with_literal(EVENT, name, literal))

    message = load_fails(path)

    assert f"{path} object 1 (outages.timelineevent" in message
    assert expected in message
    assert "Traceback" not in message
    assert snapshot() == existing


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("services", "lb", "services: give a list of natural keys"),
        ("services", ["example-cloud", "lb"], "services: give a list of natural keys"),
        ("services", [["example-cloud", ["lb"]]], "services: give a list of natural keys"),
        ("services", {"example-cloud": "lb"}, "services: give a list of natural keys"),
        ("title", ["Example", "outage"], "title: give text in quotes, not a list"),
        ("published_at", True, 'published_at: give a time in quotes with its UTC offset, e.g. "'),
    ],
)
def test_a_list_or_object_of_the_wrong_shape_loads_nothing(
    existing, tmp_path, name, value, expected
):
    path = write(tmp_path, "x.json", [NEW_ROW, edit(NEW_INCIDENT, **{name: value})])

    message = load_fails(path)

    assert f'{path} object 2 (outages.incident ["new-outage"]): {expected}' in message
    assert snapshot() == existing


@pytest.mark.parametrize(
    "model, name, text, expected",
    [
        (EVENT, "description", "It\x00began.", "U+0000, a control character, at character 3"),
        (EVENT, "time_as_stated", "12:24 PM\x0b", "U+000B, a control character, at character 9"),
        (EVENT, "kind", "trigger\x1b", "U+001B, a control character, at character 8"),
        (EVENT, "description", "\x7f", "U+007F, a control character, at character 1"),
        (EVENT, "description", "a\x85b", "U+0085, a control character, at character 2"),
        (EVENT, "description", "\ud800", "U+D800, half of a surrogate pair, not a character"),
        (EVENT, "description", "\uffff", "U+FFFF, a noncharacter, at character 1"),
        (NEW_INCIDENT, "title", "New\x00outage", "U+0000, a control character, at character 4"),
        (NEW_INCIDENT, "services", [["example-cloud", "lb\x00"]], "U+0000, a control character"),
        (PROVIDER, "homepage_url", "https://example.com/\x00", "U+0000, a control character"),
    ],
    ids=["nul", "vertical-tab", "escape", "delete", "c1", "surrogate", "noncharacter", "title",
         "natural-key", "url"],
)  # fmt: skip
def test_a_control_character_is_refused_with_its_field_on_every_engine(
    existing, tmp_path, model, name, text, expected
):
    path = write(tmp_path, "x.json", [NEW_ROW, edit(model, **{name: text})])

    message = load_fails(path)

    line = next(line for line in message.splitlines() if f"{path} object 2 (" in line)
    assert f"): {name}: holds {expected}" in line
    assert "take it out of the file" in line and "nothing is removed for you" in line
    assert "\x00" not in message
    assert snapshot() == existing


def test_a_null_in_a_natural_key_is_named_once_for_each_object(existing, tmp_path):
    events = [edit(EVENT, incident=None), edit(EVENT, incident=None, position=4)]
    path = write(tmp_path, "x.json", [NEW_ROW, *events])

    message = load_fails(path)

    assert f"{path} object 2 (outages.timelineevent): incident: This field cannot be null." in (
        message
    )
    assert f"{path} object 3 (outages.timelineevent): incident: This field cannot be null." in (
        message
    )
    assert snapshot() == existing


def test_tabs_and_line_breaks_are_text(db, tmp_path):
    summary = "Line one\tand a tab.\r\n\nLine two."
    load(write(tmp_path, "x.json", [PROVIDER, SERVICE, edit(INCIDENT, summary=summary)]))

    assert Incident.objects.get().summary == summary


@pytest.mark.parametrize(
    "content, expected",
    [
        (
            '[{"model": "outages.provider",\n  "fields": {"slug": "x",\n  "name": "A",\n'
            '  "name": "B"}}]',
            ': line 4: the key "name" appears twice in one object; a JSON reader would keep '
            "only the last, so give it once",
        ),
        (
            '[{"model": "outages.provider", "fields": {"slug": "x"}, "model": "auth.user"}]',
            ': line 1: the key "model" appears twice in one object',
        ),
        (
            '[{"model": "outages.incident", "fields": {"slug": "x",\n"services": '
            '[["a", "b"]], "title": {"nested": 1,\n\n "nested": 2}}}]',
            ': line 4: the key "nested" appears twice in one object',
        ),
        (
            "[" + '{"a": ' * 800 + "1" + "}" * 800 + ', {"b": 1, "b": 2}]',
            ': the key "b" appears twice in one object',
        ),
        ("[" * 100_000 + "]" * 100_000, ": is nested too deeply to read"),
        ('[{"model": "outages.provider", "fields": {"slug": 1' + "0" * 5000 + "}}]", ": cannot be"),
    ],
    ids=["field", "model", "nested", "deep", "too-deep", "huge-number"],
)
def test_a_key_given_twice_in_one_json_object_is_refused_with_its_line(
    existing, tmp_path, content, expected
):
    good = write(tmp_path, "good.json", [NEW_ROW])
    bad = write(tmp_path, "bad.json", content)

    message = load_fails(good, bad)

    assert f"{bad}{expected}" in message
    assert snapshot() == existing


def test_the_natural_keys_read_from_files_are_the_models_own(db):
    # fixtures_reading works out each object's natural key from its fields, before the
    # database is asked; it must be the key the model's natural_key() gives.
    load(*SHIPPED)
    for path in SHIPPED:
        for raw in json.loads(path.read_text()):
            model = apps.get_model(raw["model"])
            key = natural_key_of(model, raw["fields"])
            stored = model._default_manager.get_by_natural_key(*key)
            assert stored.natural_key() == key


# --- Files that cannot be read ------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", ": is empty; expected a JSON list of objects"),
        (b"  \n", ": is empty; expected a JSON list of objects"),
        (b"[]", ": holds no objects"),
        (
            b'[{"model": "outages.provider", "fields": {"slug": "x",}}]',
            ": is not valid JSON: Expecting property name enclosed in double quotes "
            "(line 1, column 55)",
        ),
        (b'[{"model": "outages.provider"', ": is not valid JSON: Expecting"),
        (b'{"model": "outages.provider"}', ": expected a JSON list of objects, found an object"),
        (b'["outages.provider"]', ' object 1: expected an object with "model" and "fields"'),
        (b'[{"fields": {"slug": "x"}}]', ' object 1: has no "model"'),
        (b'[{"model": "outages.provider"}]', ' object 1: has no "fields" object'),
        (
            '[{"model": "outages.provider", "fields": {"slug": "café"}}]'.encode("latin-1"),
            ": is not UTF-8 text (line 1: byte 54 cannot be read)",
        ),
    ],
    ids=[
        "empty",
        "blank",
        "no-objects",
        "malformed",
        "truncated",
        "not-a-list",
        "not-an-object",
        "no-model",
        "no-fields",
        "latin-1",
    ],
)
def test_a_file_that_is_not_a_list_of_objects_loads_nothing(existing, tmp_path, content, expected):
    good = write(tmp_path, "good.json", [NEW_ROW])
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)

    message = load_fails(good, bad)

    assert f"{bad}{expected}" in message
    assert snapshot() == existing


def test_a_missing_file_loads_nothing(existing, tmp_path):
    good = write(tmp_path, "good.json", [NEW_ROW])

    message = load_fails(good, tmp_path / "missing.json")

    assert f"{tmp_path / 'missing.json'}: cannot be read (No such file or directory)" in message
    assert snapshot() == existing


def test_a_byte_order_mark_is_harmless(db, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([PROVIDER]).encode())

    load(path)

    assert Provider.objects.get().slug == "example-cloud"


def test_a_broken_second_file_leaves_nothing_of_the_first(existing, tmp_path):
    broken = write(tmp_path, "broken.json", [SUPERUSER])

    message = load_fails(ELB_FILE, broken)

    assert f"{broken} object 1: auth.user is not allowed here" in message
    assert str(ELB_FILE) not in message
    assert snapshot() == existing
    assert not Provider.objects.filter(slug="aws").exists()


def test_every_problem_of_every_file_is_reported_at_once(existing, tmp_path):
    first = write(
        tmp_path,
        "first.json",
        [NEW_ROW, edit(PROVIDER, slug="Not A Slug!"), edit(NEW_INCIDENT, time_zone="Mars/Olympus")],
    )
    second = write(tmp_path, "second.json", "[{")
    third = write(tmp_path, "third.json", [SERVICE, SUPERUSER, edit(SERVICE, provider=["nowhere"])])

    message = load_fails(first, second, third)

    assert message.startswith(f"{HEADER} (5 problems):\n")
    lines = message.splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == [
        f'{first} object 2 (outages.provider ["Not A Slug!"])',
        f'{first} object 3 (outages.incident ["new-outage"])',
        f"{second}",
        f"{third} object 2",
        f'{third} object 3 (outages.service ["nowhere", "lb"])',
    ]
    assert snapshot() == existing


def test_a_database_error_is_reported_and_the_load_goes_on(existing, tmp_path, monkeypatch):
    # A savepoint keeps the transaction usable (PostgreSQL refuses every query after an error
    # otherwise), so the problems after it are still found.
    save = Provider.save

    def refused(provider, *args, **kwargs):
        if provider.slug == "refused":
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table")
        save(provider, *args, **kwargs)

    monkeypatch.setattr(Provider, "save", refused)
    path = write(tmp_path, "x.json", [NEW_ROW, edit(PROVIDER, slug="refused"), SUPERUSER])

    message = load_fails(path)

    assert f'{path} object 2 (outages.provider ["refused"]): the database refused it:' in message
    assert f"{path} object 3: auth.user is not allowed here" in message
    assert snapshot() == existing


def test_if_empty_never_overwrites_local_edits(db):
    call_command("load_fixtures", *sorted(glob("fixtures/*.json")), stdout=StringIO())
    Incident.objects.filter(slug="aws-elb-us-east-2012-12-24").update(title="Edited locally")
    out = StringIO()

    call_command("load_fixtures", "--if-empty", *sorted(glob("fixtures/*.json")), stdout=out)

    assert "already holds incidents" in out.getvalue()
    assert Incident.objects.get(slug="aws-elb-us-east-2012-12-24").title == "Edited locally"
