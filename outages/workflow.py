"""The editorial workflow: the state changes an incident can go through, who may make them, and
what each one records. The admin's buttons and actions all call apply(); none sets a status
itself."""

from dataclasses import dataclass

import reversion
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from outages import page_cache, search, summaries
from outages.models import Incident

Status = Incident.Status
PUBLISH_PERMISSION = "outages.publish_incident"


@dataclass(frozen=True)
class Transition:
    label: str
    sources: frozenset
    target: str
    needs_publisher: bool
    done: str = ""  # how the history and the public change log name it


TRANSITIONS = {
    "submit": Transition(
        "Submit for review",
        frozenset({Status.DRAFT}),
        Status.REVIEW,
        False,
        "Submitted for review.",
    ),
    "return": Transition(
        "Return to draft", frozenset({Status.REVIEW}), Status.DRAFT, False, "Returned to draft."
    ),
    "publish": Transition(
        "Publish",
        frozenset({Status.DRAFT, Status.REVIEW, Status.WITHDRAWN}),
        Status.PUBLISHED,
        True,
        "Published.",
    ),
    "withdraw": Transition("Withdraw", frozenset({Status.PUBLISHED}), Status.WITHDRAWN, True),
    "reopen": Transition(
        "Reopen as draft", frozenset({Status.WITHDRAWN}), Status.DRAFT, True, "Reopened as draft."
    ),
}


def is_publisher(user):
    return user.has_perm(PUBLISH_PERMISSION)


def can_edit(user, incident):
    """Editors work on drafts and incidents in review; what readers see is the publishers'."""
    if incident is None or incident.status in (Status.DRAFT, Status.REVIEW):
        return True
    return is_publisher(user)


def can_edit_reference(user, row):
    """A provider, service, region, customer or source that a published or withdrawn incident
    shows, or that a publisher published on its own, is what readers see, so it is the
    publishers' too. A new row is anyone's."""
    if row is None or row.pk is None or is_publisher(user):
        return True
    if getattr(row, "published", False):
        return False
    public = [Status.PUBLISHED, Status.WITHDRAWN]
    return not any(
        found.filter(status__in=public).exists() for found in search.incidents_showing([row])
    )


def allowed(user, incident, name):
    transition = TRANSITIONS.get(name)
    return (
        transition is not None
        and incident.status in transition.sources
        and (is_publisher(user) or not transition.needs_publisher)
    )


def available(user, incident):
    return [(name, t.label) for name, t in TRANSITIONS.items() if allowed(user, incident, name)]


def apply(incident, name, user, reason=None):
    """Move the incident through one transition, as one new revision; returns the incident.

    Raises PermissionDenied when the user may not, ValidationError when the incident is not in
    a state the transition starts from or a withdrawal has no reason.
    """
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise ValidationError(f"There is no step called “{name}”.")
    if transition.needs_publisher and not is_publisher(user):
        raise PermissionDenied(f"Only publishers may {transition.label.lower()} an incident.")
    with (
        page_cache.changing([incident.pk]),
        summaries.changing([incident.pk]),
        transaction.atomic(),
        reversion.create_revision(),
    ):
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status not in transition.sources:
            raise ValidationError(
                f"“{incident.title}” is {incident.get_status_display().lower()}; "
                f"it cannot be moved by “{transition.label}”."
            )
        if reason is not None:
            incident.withdrawn_reason = reason.strip()
        if transition.target == Status.WITHDRAWN and not incident.withdrawn_reason:
            raise ValidationError("Say why the incident is withdrawn: readers will see it.")
        now = timezone.now()
        incident.status = transition.target
        if transition.target == Status.PUBLISHED and incident.published_at is None:
            incident.published_at, incident.published_by = now, user
        incident.version += 1
        incident.updated_at = now
        incident.save()
        reversion.set_user(user)
        comment = transition.done
        if transition.target == Status.WITHDRAWN:
            comment = f"Withdrawn: {incident.withdrawn_reason}"
        reversion.set_comment(comment)
    return incident
