"""The stored article of an incident: the parts of its page that follow only its own rows and
the names of the reference rows it shows, rendered once and printed at every cold read.

A stored article is never updated, only forgotten: every write that changes an incident, or a
reference row an incident shows, deletes the articles it affects (forget, forget_showing), and
the next read renders and stores it again. A read stores only what it claimed before reading
the incident's rows (claim, store): a write committed meanwhile has deleted the claim, so an
article rendered from rows older than a write is never kept.
"""

import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone

from outages.models.incidents import Incident
from outages.models.reference import Customer, Provider, Region, Service, Source

# A claim whose read died before storing is taken over after this.
CLAIM_EXPIRES = timedelta(seconds=60)
BATCH = 1000  # ids per query (SQLite limits the parameters of one query)
EVERY_ARTICLE = "every article"  # what noting_forgotten() holds after forget_all()

_noting = threading.local()


@contextmanager
def noting_forgotten():
    """Collect, in the set it yields, the ids of the incidents whose articles this thread
    forgets meanwhile (EVERY_ARTICLE for forget_all): an editor's request stores them again
    before its answer (outages.web.storing)."""
    outer = getattr(_noting, "forgotten", None)
    _noting.forgotten = forgotten = set()
    try:
        yield forgotten
    finally:
        _noting.forgotten = outer
        if outer is not None:
            outer.update(forgotten)


def _note(pks):
    forgotten = getattr(_noting, "forgotten", None)
    if forgotten is not None:
        forgotten.update(pks)


# How an incident's article reaches each kind of reference row whose names, codes, titles or
# addresses it prints (a service's and a region's address has its provider's slug in it).
SHOWN_THROUGH = {
    Provider: [
        "provider",
        "services__provider",
        "regions__provider",
        "impacts__services__provider",
    ],
    Service: ["services", "impacts__services"],
    Region: ["regions"],
    Customer: ["impacts__customer"],
    Source: [
        "sources",
        "events__source",
        "impacts__source",
        "action_items__source",
        "action_states__source",
        "corrections__claimed_by",
        "corrections__settled_by",
    ],
}


class IncidentArticleQuerySet(models.QuerySet):
    def forget(self, pks):
        """Delete the stored articles of these incidents, now and again once the current
        transaction commits (a read that claimed one meanwhile read the rows as they were
        before the write)."""
        pks = sorted({pk for pk in pks if pk is not None})
        if not pks:
            return

        def delete():
            for start in range(0, len(pks), BATCH):
                self.model.objects.filter(incident__in=pks[start : start + BATCH]).delete()

        delete()
        _note(pks)
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(delete)

    def forget_showing(self, rows):
        """forget() the articles of every incident that shows one of these reference rows."""
        pks = set()
        for model, lookups in SHOWN_THROUGH.items():
            ids = [row.pk for row in rows if isinstance(row, model) and row.pk is not None]
            for start in range(0, len(ids), BATCH):
                batch = ids[start : start + BATCH]
                # A query per way in: each one walks an index, where one OR of them all would
                # join every table at once.
                for lookup in lookups:
                    found = Incident.objects.filter(**{f"{lookup}__in": batch})
                    pks.update(found.values_list("pk", flat=True))
        self.forget(pks)

    def forget_all(self):
        """Every stored article, now and after the commit (a change to what every page shows)."""

        def delete():
            self.model.objects.all().delete()

        delete()
        _note([EVERY_ARTICLE])
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(delete)


class IncidentArticle(models.Model):
    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, primary_key=True, related_name="article"
    )
    # Of the code and templates that rendered it: an article from another build is not shown.
    build = models.CharField(max_length=64)
    # {part name: HTML}; null while a read that claimed it renders it.
    parts = models.JSONField(null=True, blank=True)
    # What the rest of the page reads of its services, regions and customers (outages.web.articles).
    rows = models.JSONField(null=True, blank=True)
    # Its row in the incident lists, [head, tail] (outages.web.articles.listed): a column of its
    # own, so a list of twenty reads twenty short values rather than twenty whole articles.
    row = models.JSONField(null=True, blank=True)
    claim = models.UUIDField(default=uuid.uuid4)
    claimed_at = models.DateTimeField(default=timezone.now)

    objects = IncidentArticleQuerySet.as_manager()

    def __str__(self):
        return f"Article of incident {self.incident_id}"

    @classmethod
    def claim_for(cls, incident_id, build, stored=None):
        """A new claim on storing the incident's article (its token), or None when another
        read holds a fresh claim. `stored`: the article row already read with the incident, if
        any (stale or abandoned), which the claim replaces."""
        token = uuid.uuid4()
        now = timezone.now()
        if stored is None:
            # Another read's claim made since wins: this one's token is then not stored, and
            # store() finds nothing to fill.
            row = cls(incident_id=incident_id, build=build, claim=token, claimed_at=now)
            cls.objects.bulk_create([row], ignore_conflicts=True)
            return token
        if stored.parts is None and stored.claimed_at > now - CLAIM_EXPIRES:
            return None
        taken = cls.objects.filter(incident_id=incident_id, claim=stored.claim).update(
            build=build, parts=None, row=None, claim=token, claimed_at=now
        )
        return token if taken else None

    @classmethod
    def store(cls, incident_id, token, parts, rows, row=None):
        """Store the parts under a claim, unless a write has deleted the claim since."""
        unfilled = cls.objects.filter(incident_id=incident_id, claim=token, parts__isnull=True)
        return bool(unfilled.update(parts=parts, rows=rows, row=row))
