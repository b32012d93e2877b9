"""Typed relations between two incidents: a recurrence, a cause, a follow-up, a shared trigger.

A relation is stored once, on the incident it is edited with (`incident`), pointing at the
`other`; the other end shows the inverse wording ("caused" there reads "caused by" here). A
relation is part of the incident it is stored on: its revisions follow it (Incident's
`relations`), and its import document lists it.

The source that establishes a relation is a Source row cited by one of the two incidents, not a
free URL and title: a relation is a claim like a timeline event's, and the same source rows
carry its publisher, date and archived copies, and are checked and shown the same way.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Greatest, Least

from outages.models.base import TextChecked
from outages.models.incidents import Incident, published_through
from outages.models.reference import Source
from outages.models.versioned import versioned

NOTE_CHARACTERS = 300
# What pages, the API and the cascade show of a relation's ends and source (for_page()).
SHOWN_ENDS = ("slug", "title", "status", "started_at", "time_zone", "started_precision")
SHOWN_ENDS += ("provider__slug", "provider__name")
SHOWN_SOURCE = ("url", "title", "publisher", "published_on", "kind")


class Kind(models.TextChoices):
    # value, the wording from the incident it is stored on
    RECURRENCE = "recurrence-of", "recurrence of"
    CAUSED = "caused", "caused"
    FOLLOW_UP = "follow-up-of", "follow-up of"
    SAME_TRIGGER = "same-trigger-as", "same trigger as"


# The wording seen from the other end: "A caused B" reads "B was caused by A" on B's page.
INVERSE_WORDING = {
    Kind.RECURRENCE: "recurred as",
    Kind.CAUSED: "caused by",
    Kind.FOLLOW_UP: "followed up by",
    Kind.SAME_TRIGGER: "same trigger as",
}


class IncidentRelationQuerySet(models.QuerySet):
    def involving(self, pks):
        """Relations with one of these incidents (ids) at either end."""
        return self.filter(Q(incident__in=pks) | Q(other__in=pks))

    def naming(self, incident):
        """Relations with `incident` at either end: an Incident, or OuterRef("pk") to ask of
        each incident of a query whether it has any (views.with_link_flags)."""
        return self.filter(Q(incident=incident) | Q(other=incident))

    def shown(self):
        """Relations readers may see: both ends published (Incident.objects.published())."""
        return self.filter(published_through("incident__"), published_through("other__"))

    def seen_from(self, incident, preview=False):
        """The relations of `incident`, either end, as its page, API and Markdown show them: by
        kind, those stored on it first, then the other ends newest first. One query. Readers see
        only relations whose ends are both published; a staff `preview` sees all of them."""
        rows = self.naming(incident).for_page()
        if not preview:
            rows = rows.shown()
        seen = []
        for row in rows:
            wording, other = row.seen_from(incident)
            here = row.incident_id == incident.pk
            seen.append(Seen(wording, other, row.note, row.source, row.kind, here))
        kinds = list(Kind.values)
        return sorted(
            seen,
            key=lambda s: (kinds.index(s.kind), not s.stored_here, newest_first_key(s.other)),
        )

    def for_page(self):
        """With what a page shows of both ends (with their providers) and of the source, in one
        query; not the ends' written postmortems."""
        ends = [f"{end}__{name}" for end in ("incident", "other") for name in SHOWN_ENDS]
        return self.select_related("incident__provider", "other__provider", "source").only(
            "kind",
            "note",
            "incident",
            "other",
            "source",
            *ends,
            *(f"source__{name}" for name in SHOWN_SOURCE),
        )


@dataclass
class Seen:
    """A relation as one of its ends shows it."""

    wording: str  # from this incident's side: "caused", "caused by"
    other: object  # the incident at the other end, with what for_page() loads
    note: str
    source: object
    kind: str
    stored_here: bool  # stored on this incident (its own form and document hold it)


def newest_first_key(incident):
    """The one order of incidents (NEWEST_FIRST) for rows already loaded: latest start first,
    unknown starts last, ties by slug."""
    started = incident.started_at
    return (started is None, -started.timestamp() if started else 0, incident.slug)


class IncidentRelationManager(models.Manager.from_queryset(IncidentRelationQuerySet)):
    def get_by_natural_key(self, incident_slug, other_slug, kind):
        return self.get(incident__slug=incident_slug, other__slug=other_slug, kind=kind)


@versioned()
class IncidentRelation(TextChecked):
    Kind = Kind

    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        related_name="relations",
        help_text="The incident the relation is stored and edited with.",
    )
    kind = models.CharField("relation", max_length=20, choices=Kind.choices)
    # PROTECT: deleting the other incident would change this one's rows in silence (no revision
    # of it); the relation is removed first, through this incident's own form.
    other = models.ForeignKey(
        Incident,
        on_delete=models.PROTECT,
        related_name="relations_from_others",
        verbose_name="other incident",
        help_text="Read as “this incident <relation> the other incident”.",
    )
    note = models.CharField(
        max_length=NOTE_CHARACTERS,
        help_text="Plain text, one sentence: what links the two, as the source states it.",
    )
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        related_name="relations",
        help_text="The source that establishes the relation; one of either incident's sources.",
    )

    objects = IncidentRelationManager()

    class Meta:
        ordering = ["kind", "other__slug"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(incident=F("other")),
                name="relation_not_to_itself",
                violation_error_message="An incident cannot be related to itself.",
            ),
            # One relation of a kind between two incidents, whichever end it is stored on: "A
            # caused B" and "B caused A" cannot both stand, and "same trigger as" is symmetric.
            models.UniqueConstraint(
                Least("incident", "other"),
                Greatest("incident", "other"),
                "kind",
                name="relation_once_per_pair_and_kind",
                violation_error_message="These two incidents already have a relation of this "
                "kind (stored on one or the other).",
            ),
        ]
        indexes = [
            # The relations an incident page shows that are stored on the other end.
            models.Index(fields=["other", "kind"], name="relation_by_other"),
        ]

    def __str__(self):
        return f"{self.incident.slug} {self.get_kind_display()} {self.other.slug}"

    def natural_key(self):
        return (self.incident.slug, self.other.slug, self.kind)

    natural_key.dependencies = ["outages.incident", "outages.source"]

    def clean(self):
        super().clean()
        if self.incident_id is None or self.other_id is None:
            return
        if self.incident_id == self.other_id:
            raise ValidationError({"other": "An incident cannot be related to itself."})
        duplicate = (
            IncidentRelation.objects.filter(kind=self.kind)
            .filter(
                Q(incident=self.incident_id, other=self.other_id)
                | Q(incident=self.other_id, other=self.incident_id)
            )
            .exclude(pk=self.pk)
        )
        if self.kind and duplicate.exists():
            raise ValidationError(
                {
                    "kind": f"These two incidents are already related as “{self.get_kind_display()}"
                    "” (stored on one or the other)."
                }
            )
        if self.source_id is not None and not self.source_cited():
            raise ValidationError(
                {
                    "source": "Choose a source that one of the two incidents cites (its Sources "
                    "field)."
                }
            )

    # The sources the incident being edited cites, when a form holds them before they are saved
    # (the admin's Sources field in the same save); None: read the stored ones.
    cited_source_ids = None

    def source_cited(self):
        """Whether one of the two incidents cites the relation's source."""
        if self.cited_source_ids is not None and self.source_id in self.cited_source_ids:
            return True
        ends = [self.other_id]
        if self.cited_source_ids is None:
            ends.append(self.incident_id)
        elif self.source_id in self.cited_source_ids:
            return True
        cited = Incident.sources.through.objects.filter(source=self.source_id)
        return cited.filter(incident__in=ends).exists()

    def seen_from(self, incident):
        """(wording, the incident at the other end) as `incident`'s page reads the relation."""
        if incident.pk == self.incident_id:
            return self.get_kind_display(), self.other
        return INVERSE_WORDING[self.kind], self.incident
