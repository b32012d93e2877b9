import importlib
import os
import shutil
from datetime import UTC, datetime, timedelta

import factory.random
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connections

from outages import summaries
from outages.models import (
    ActionItem,
    CustomerImpact,
    Incident,
    Source,
    TimelineEvent,
)
from outages.search import update_index
from tests.factories import (
    ActionItemFactory,
    CorrectionFactory,
    CustomerFactory,
    CustomerImpactFactory,
    IncidentFactory,
    ProviderFactory,
    RegionFactory,
    ServiceFactory,
    SourceFactory,
    TimelineEventFactory,
)
from tests.shipped import empty_content_tables, load_shipped

# Playwright's sync API runs an event loop in the test thread; Django would otherwise refuse
# database access from the live-server tests. Tests only, never in settings.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Persistent connections would outlive the live server's request threads and keep PostgreSQL
# from dropping the test database at the end of the run.
for alias in settings.DATABASES:
    connections[alias].settings_dict["CONN_MAX_AGE"] = 0
    settings.DATABASES[alias]["CONN_MAX_AGE"] = 0

# A deliberately slow hasher protects real passwords; test users need none of that.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Factories draw their varied values from one seed, so a failure can be run again as it was.
factory.random.reseed_random("postmortems")

CHROMIUM = os.environ.get("CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session", autouse=True)
def _release_leftover_connections(django_db_setup, django_db_blocker):
    yield
    # The live server answers the browser in short-lived threads; one still finishing as the
    # session ends can keep a connection that blocks PostgreSQL's DROP DATABASE at teardown.
    with django_db_blocker.unblock():
        connection = connections["default"]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        connections.close_all()


def empties_tables(item):
    """Transactional tests (the browser tests, Varnish's, any live server) empty every table when
    they end, which would take the migrations' rows (the editorial groups) from tests after them."""
    marker = item.get_closest_marker("django_db")
    return (
        item.get_closest_marker("browser") is not None
        or "live_server" in getattr(item, "fixturenames", ())
        or "transactional_db" in getattr(item, "fixturenames", ())
        or bool(marker and marker.kwargs.get("transaction"))
    )


def pytest_collection_modifyitems(config, items):
    # So they run last. (A test's keywords also hold its name, so markers are asked for.)
    items.sort(key=empties_tables)
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM}; apt-get install chromium")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with no cached pages: its rows are new, but the tests before it may
    have cached pages at the same addresses."""
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_content_types():
    """A transactional test empties every table, content types included, and they come back
    with new ids; revisions written after it must not use the ids cached before it."""
    ContentType.objects.clear_cache()


@pytest.fixture
def django_assert_num_queries(django_assert_num_queries, request):
    """Query counts as a running server sees them: content types are looked up once per
    process (revisions and the change log name rows by them), so not counted per page."""
    if "database_down" not in request.fixturenames:
        ContentType.objects.get_for_models(*apps.get_app_config("outages").get_models())
    return django_assert_num_queries


@pytest.fixture(autouse=True)
def _settle_browser_pages(request):
    """Let every page of a browser test finish loading before the test's teardown.

    Requests still in flight (admin scripts, a preview) would otherwise be served while the
    database is being emptied, and their threads fail on the shared test connection.
    """
    browser = request.getfixturevalue("browser") if "browser" in request.keywords else None
    yield
    for context in browser.contexts if browser else []:
        for page in context.pages:
            try:
                page.wait_for_load_state("networkidle", timeout=5_000)
            except Exception:  # noqa: BLE001 - a page that never settles must not fail teardown
                pass


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, live_server):
    # Depending on the live server makes Chromium close before the server stops, so no request
    # is left half-served when the server's database connection goes away.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    return {
        **browser_context_args,
        "base_url": live_server.url,
        "viewport": {"width": 1280, "height": 800},
    }


# --- Small chained data fixtures -----------------------------------------------------------
# Fixed values that many tests read back; `varied_incidents` and tests/factories.py give
# varied rows to tests that only need some.

START = datetime(2012, 12, 24, 20, 24, tzinfo=UTC)


@pytest.fixture
def fetch_locally(settings):
    """Let fetching reach the tests' own HTTP server on 127.0.0.1 (pytest-httpserver), quickly:
    production refuses private addresses and spaces its requests."""
    settings.FETCH_ALLOW_PRIVATE = True
    settings.FETCH_MIN_INTERVAL = 0
    settings.FETCH_TIMEOUT = 2.0
    return settings


@pytest.fixture
def provider(db):
    return ProviderFactory(
        name="Example Cloud", slug="example-cloud", homepage_url="", description=""
    )


@pytest.fixture
def service(provider):
    return ServiceFactory(provider=provider, name="Load Balancer", slug="lb")


@pytest.fixture
def region(provider):
    return RegionFactory(provider=provider, code="east-1", name="East")


@pytest.fixture
def customer(db):
    return CustomerFactory(name="Streamy", slug="streamy", url="")


@pytest.fixture
def source(db):
    return SourceFactory(
        title="Summary of the event",
        publisher="Example Cloud",
        url="https://example.com/summary",
        kind=Source.Kind.OFFICIAL,
    )


def add_incident(provider, service, region, customer, source, number, **fields):
    """One published incident with every kind of child row, so N+1 queries would show."""
    started = START - timedelta(days=number - 1)
    incident = IncidentFactory(
        title=f"Incident {number}",
        slug=f"incident-{number}",
        provider=provider,
        time_zone="America/Los_Angeles",
        started_at=started,
        mitigated_at=started + timedelta(hours=4),
        resolved_at=started + timedelta(hours=23, minutes=41),
        root_cause_category=Incident.Cause.OPERATIONAL_ERROR,
        status=Incident.Status.PUBLISHED,
        published_at=START,
        summary=f"Summary of incident {number}.",
        root_cause="A *maintenance* process.",
        references=False,
        events=0,
        impacts=0,
        follow_up=False,
        **fields,
    )
    incident.services.add(service)
    incident.regions.add(region)
    incident.sources.add(source)
    for position in (1, 2):
        TimelineEventFactory(
            incident=incident,
            position=position,
            occurred_at=started + timedelta(hours=position),
            time_as_stated="12:24 PM PST",
            kind=TimelineEvent.Kind.MITIGATION,
            description="Workflows disabled.",
            source=source,
        )
    impact = CustomerImpactFactory(
        incident=incident,
        customer=customer,
        level=CustomerImpact.Level.OUTAGE,
        description="Streaming down.",
        source=source,
    )
    impact.services.add(service)
    ActionItemFactory(
        incident=incident,
        position=1,
        description="Require approval.",
        kind=ActionItem.Kind.PREVENT,
        status=ActionItem.Status.DONE,
        source=source,
    )
    CorrectionFactory(
        incident=incident,
        position=1,
        claim="It was a CDN.",
        fact="It was a load balancer.",
        claimed_by=source,
        settled_by=source,
    )
    return incident


@pytest.fixture
def make_incidents(provider, service, region, customer, source):
    def make(count, **fields):
        incidents = [
            add_incident(provider, service, region, customer, source, number, **fields)
            for number in range(1, count + 1)
        ]
        update_index([incident.pk for incident in incidents])
        summaries.rebuild()  # factories write around the site's write paths
        return incidents

    return make


@pytest.fixture
def roles(db):
    """The Editors and Publishers groups. Migrations create them, but transactional tests
    (the browser tests) empty every table when they end, so recreate them the same way."""
    from django.apps import apps

    migration = importlib.import_module("outages.migrations.0003_editorial_workflow")
    migration.create_groups(apps, None)
    importlib.import_module("outages.migrations.0008_alias_permissions").grant(apps, None)
    importlib.import_module("outages.migrations.0010_figures").grant(apps, None)
    importlib.import_module("outages.migrations.0011_status_pages_and_archive").grant(apps, None)
    importlib.import_module("outages.migrations.0023_relations").grant(apps, None)
    importlib.import_module("outages.migrations.0024_promise_ledger").grant(apps, None)


@pytest.fixture
def varied_incidents(db):
    """Five published incidents, each of its own provider, with timelines and customer impacts."""
    incidents = IncidentFactory.create_batch(5)
    update_index([incident.pk for incident in incidents])
    summaries.rebuild()
    return incidents


@pytest.fixture(scope="module")
def shipped_data(django_db_setup, django_db_blocker):
    """The shipped fixtures, loaded and indexed once for a whole test module (read-only use),
    copied from the session's one load (tests/shipped.py).

    Tests still run in their own transactions, so writes roll back; every row of the content
    tables is removed when the module ends, the counts' lock row included: one row left behind
    would make every later load_shipped() run the command itself (seconds each) instead of
    copying.
    """
    with django_db_blocker.unblock():
        load_shipped()
    yield
    with django_db_blocker.unblock():
        empty_content_tables()


@pytest.fixture
def incident(make_incidents):
    return make_incidents(1)[0]
