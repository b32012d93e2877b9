from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from outages.models import CustomerImpact, Incident, Service, TimelineEvent


def test_resolution_before_start_is_refused_by_clean_with_a_readable_message(incident):
    incident.resolved_at = incident.started_at - timedelta(minutes=1)

    with pytest.raises(ValidationError) as error:
        incident.full_clean()

    assert error.value.message_dict["resolved_at"] == ["Resolved at cannot be before started at."]


def test_resolution_before_start_is_refused_by_the_database(incident):
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(
            resolved_at=incident.started_at - timedelta(minutes=1)
        )


@pytest.mark.parametrize(
    "field, earlier",
    [
        ("detected_at", "started_at"),
        ("mitigated_at", "started_at"),
        ("resolved_at", "mitigated_at"),
    ],
)
def test_milestones_out_of_order_are_refused_both_ways(incident, field, earlier):
    setattr(incident, field, getattr(incident, earlier) - timedelta(seconds=1))
    with pytest.raises(ValidationError) as error:
        incident.full_clean()
    assert field in error.value.message_dict

    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(**{field: getattr(incident, field)})


def test_unknown_milestones_are_allowed(incident):
    incident.detected_at = incident.mitigated_at = incident.resolved_at = None
    incident.full_clean()
    incident.save()

    assert incident.time_to_resolve is None


def test_durations_are_derived_only_where_both_ends_are_known(incident):
    assert incident.time_to_detect is None
    assert incident.time_to_mitigate == timedelta(hours=4)
    assert incident.time_to_resolve == timedelta(hours=23, minutes=41)


def test_duplicate_slug_is_refused(incident, provider):
    duplicate = Incident(
        title="Again", slug=incident.slug, provider=provider, root_cause_category="other"
    )
    with pytest.raises(ValidationError) as error:
        duplicate.full_clean()
    assert "slug" in error.value.message_dict


def test_service_slug_is_unique_per_provider(service):
    with pytest.raises(ValidationError):
        Service(provider=service.provider, name="Again", slug=service.slug).full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.create(provider=service.provider, name="Again", slug=service.slug)


def test_unknown_time_zone_is_refused(incident):
    incident.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError) as error:
        incident.full_clean()
    assert "time_zone" in error.value.message_dict


def test_customer_is_hit_once_per_incident(incident, customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerImpact.objects.create(
            incident=incident, customer=customer, level="outage", description="again"
        )


def test_impact_cannot_end_before_it_started(incident):
    impact = incident.impacts.get()
    impact.started_at = incident.started_at
    impact.ended_at = incident.started_at - timedelta(hours=1)
    with pytest.raises(ValidationError) as error:
        impact.full_clean()
    assert error.value.message_dict["ended_at"] == ["The impact cannot end before it started."]


def test_events_sort_by_time_then_position(incident):
    TimelineEvent.objects.create(
        incident=incident,
        position=9,
        occurred_at=incident.started_at,
        kind="trigger",
        description="First.",
    )
    assert [event.position for event in incident.events.all()] == [9, 1, 2]


def test_markdown_is_rendered_and_stored_on_save(incident):
    incident.summary = "Hello <script>alert(1)</script> **world**"
    incident.save()
    incident.refresh_from_db()

    assert "<strong>world</strong>" in incident.summary_html
    assert "<script" not in incident.summary_html


def test_natural_keys_round_trip(incident):
    event = incident.events.first()
    impact = incident.impacts.get()
    assert TimelineEvent.objects.get_by_natural_key(*event.natural_key()) == event
    assert CustomerImpact.objects.get_by_natural_key(*impact.natural_key()) == impact
    assert Incident.objects.get_by_natural_key(*incident.natural_key()) == incident


def test_published_is_the_only_rule(make_incidents):
    first, second = make_incidents(2)
    second.status = Incident.Status.DRAFT
    second.save()

    assert list(Incident.objects.published()) == [first]
