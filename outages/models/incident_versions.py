"""Published versions of an incident: a frozen copy of the page as each publication showed it,
at a permanent address that a citation can point at (/incidents/<slug>/v/<n>/).

A version is written by outages/incident_versions.py when a revision of a published incident is
committed; once written it never changes. Only the incident's state (published or withdrawn)
is read live, so a withdrawal puts its notice on every version."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models
from django.dispatch import Signal
from django.urls import reverse

from outages.models.incidents import Incident


class IncidentVersionQuerySet(models.QuerySet):
    def citable(self):
        """The versions readers may open: those of incidents published now, or published once
        and withdrawn since (shown with the withdrawal notice). An incident reopened as a draft
        is the editors' again, its versions with it."""
        public = [Incident.Status.PUBLISHED, Incident.Status.WITHDRAWN]
        return self.filter(incident__status__in=public)


class IncidentVersion(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(help_text="1, 2, … in the order they were published.")
    # The revision the version was frozen from; its stored data is what "changed since" compares.
    # Kept when revisions are pruned: the frozen page does not need it.
    revision = models.ForeignKey(
        "reversion.Revision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(help_text="When this version became the public one.")
    # What a citation names, as it was then: a later rename must not change a citation.
    title = models.CharField(max_length=200)
    provider_name = models.CharField(max_length=200)
    article_html = models.TextField(
        blank=True, help_text="The incident's article as readers saw it; empty until frozen."
    )

    objects = IncidentVersionQuerySet.as_manager()

    class Meta:
        ordering = ["incident", "number"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "number"], name="incident_version_number"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1), name="incident_version_number_from_1"
            ),
        ]

    def __str__(self):
        return f"{self.title} (version {self.number})"

    def get_absolute_url(self):
        """Needs the incident loaded (select_related)."""
        return reverse("outages:incident_version", args=[self.incident.slug, self.number])


# Revisions committed within versions_in_bulk(): [(incident id, Revision)], or None outside it.
HELD = ContextVar("held_revisions", default=None)
# Sent at the end of versions_in_bulk() with `held`, the revisions it held.
revisions_held = Signal()


@contextmanager
def versions_in_bulk():
    """Hold back the versions of the revisions committed within, and make them all at once at
    its end (revisions_held): the bulk importer commits thousands of revisions in one go, and a
    few queries and a page's render each would cost it more than the import itself. Their
    articles are frozen when first needed (web/freezing.py), from their revisions."""
    token = HELD.set([])
    try:
        yield
        held = HELD.get()
    finally:
        HELD.reset(token)
    if held:
        revisions_held.send(sender=IncidentVersion, held=held)
