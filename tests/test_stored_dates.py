"""No page answers 500 because of a date stored in the database.

Rows written before the range rule existed, or by raw SQL, may hold any date the database
takes. They are put in place here with QuerySet.update(), which skips validation (and with the
database's own "from 1970" checks set aside, as a database from before them would be), and then
every public page that shows the incident must still answer. The test client re-raises any
exception a view lets escape, which fails the test as a 500 would.
"""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models

from outages.models import CustomerImpact, Incident, TimelineEvent, validate_content_date

FIRST = datetime(1, 1, 1, tzinfo=UTC)  # the earliest moment Python can hold
LAST = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
NORMAL = datetime(2012, 12, 24, 20, 24, tzinfo=UTC)

# name -> (milestones, event times, impact start and end). Each also runs with the incident in
# a zone east and a zone west of UTC, where the same moment falls in year 0 or year 10000. (The
# site's own zone is UTC, fixed in settings, so Django's template localtime never shifts them.)
CASES = {
    "year 1": ([FIRST, FIRST, FIRST, FIRST], [FIRST, FIRST], (FIRST, FIRST)),
    "year 9999": ([LAST, LAST, LAST, LAST], [LAST, LAST], (LAST, LAST)),
    "year 1 to year 9999": ([FIRST, None, FIRST, LAST], [FIRST, LAST], (FIRST, LAST)),
    "events far off": ([NORMAL, None, None, NORMAL], [FIRST, LAST], (NORMAL, LAST)),
    "start only, year 9999": ([LAST, None, None, None], [NORMAL, LAST], (LAST, None)),
    "end only, year 1": ([None, None, None, FIRST], [FIRST, NORMAL], (None, FIRST)),
}
ZONES = ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"]


@contextmanager
def check_constraints_set_aside():
    """As in a database that predates the "from 1970" checks. On PostgreSQL the constraints are
    dropped inside the test's transaction, so they come back when it rolls back."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE wants no pending checks
    with connection.schema_editor() as editor:
        for model in (Incident, TimelineEvent, CustomerImpact):
            for constraint in model._meta.constraints:
                if isinstance(constraint, models.CheckConstraint):
                    editor.remove_constraint(model, constraint)
    yield


def store(incident, milestones, events, impact, zone):
    """Write the dates as raw SQL would: no validation."""
    names = ["started_at", "detected_at", "mitigated_at", "resolved_at"]
    with check_constraints_set_aside():
        values = dict(zip(names, milestones, strict=True))
        Incident.objects.filter(pk=incident.pk).update(time_zone=zone, **values)
        for event, moment in zip(incident.events.order_by("position"), events, strict=True):
            TimelineEvent.objects.filter(pk=event.pk).update(occurred_at=moment)
        started, ended = impact
        CustomerImpact.objects.filter(incident=incident).update(started_at=started, ended_at=ended)


def public_addresses(incident):
    provider = incident.provider.slug
    service = incident.services.get().slug
    region = incident.regions.get().code
    customer = incident.impacts.get().customer.slug
    return [
        "/",
        "/incidents/",
        "/incidents/?sort=oldest",
        f"/incidents/{incident.slug}/",
        f"/incidents/{incident.slug}/postmortem.md",
        "/incidents/feed.atom",
        "/incidents/feed.rss",
        f"/providers/{provider}/",
        f"/providers/{provider}/feed.atom",
        f"/providers/{provider}/feed.rss",
        f"/providers/{provider}/services/{service}/",
        f"/providers/{provider}/services/{service}/feed.atom",
        f"/providers/{provider}/regions/{region}/",
        f"/providers/{provider}/regions/{region}/feed.rss",
        f"/customers/{customer}/",
        f"/customers/{customer}/feed.atom",
        "/customers/",
        "/providers/",
        "/statistics/",
        "/map/",
        f"/my-stack/?provider={provider}",
        f"/my-stack/?service={provider}.{service}&region={provider}.{region}",
        "/my-stack/feed.atom?provider=" + provider,
        "/api/v1/incidents/",
        f"/api/v1/incidents/{incident.slug}/",
        f"/api/v1/providers/{provider}/",
        f"/api/v1/customers/{customer}/",
        "/sitemap.xml",
        "/sitemap-incidents.xml",
    ]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("case", CASES)
def test_every_public_page_answers_whatever_date_is_stored(client, make_incidents, case, zone):
    incident, other = make_incidents(2)
    store(incident, *CASES[case], zone)
    for address in public_addresses(incident):
        response = client.get(address)
        assert response.status_code == 200, address
    # The year facet offers the years stored, however odd; the filter may refuse them (400).
    for address in ["/incidents/?year=1", "/incidents/?year=9999", "/api/v1/incidents/?year=1"]:
        assert client.get(address).status_code in {200, 400}, address
    assert incident.title in client.get(f"/incidents/{incident.slug}/").content.decode()


def test_a_span_of_thousands_of_years_is_still_stated(client, make_incidents):
    (incident,) = make_incidents(1)
    store(incident, *CASES["year 1 to year 9999"], "UTC")
    page = client.get(f"/incidents/{incident.slug}/").content.decode()
    assert "0001" in page and "9999" in page


def test_the_range_rule_refuses_what_this_module_stores():
    for moment in (FIRST, LAST, FIRST + timedelta(days=1)):
        with pytest.raises(ValidationError):
            validate_content_date(moment)
