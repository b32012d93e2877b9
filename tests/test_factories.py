"""The test factories make rows an editor could have saved, and make them different each time."""

from django.apps import apps

from outages.models import CustomerImpact, Incident
from tests.factories import IncidentFactory


def test_every_row_the_factories_make_passes_validation(varied_incidents):
    for model in apps.get_app_config("outages").get_models():
        for row in model.objects.all():
            row.full_clean()


def test_incidents_differ_in_provider_cause_zone_and_date(varied_incidents):
    def distinct(field):
        return len({getattr(incident, field) for incident in varied_incidents})

    assert distinct("provider_id") == distinct("slug") == distinct("started_at") == 5
    assert distinct("root_cause_category") > 1 and distinct("time_zone") > 1
    assert len(set(CustomerImpact.objects.values_list("customer", flat=True))) == 10


def test_customers_are_hit_and_not_hit(varied_incidents):
    assert CustomerImpact.objects.hits().exists()
    assert CustomerImpact.objects.exclude(level__in=CustomerImpact.HIT_LEVELS).exists()


def test_counts_of_child_rows_can_be_chosen(db):
    incident = IncidentFactory(events=5, impacts=0, status=Incident.Status.DRAFT)

    assert incident.events.count() == 5
    assert not incident.impacts.exists()
    assert incident not in Incident.objects.published()
