"""Applying incident documents: resolve references, validate every record with the models' own
full_clean(), compare with what is stored, and write all of it in one transaction, or nothing.

Used by `manage.py import_incidents` and by the admin's import page.
"""

import time
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime

import reversion
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from . import search
from .documents import ImportFailed, check_schema, path_text
from .models import (
    MILESTONES,
    POSTMORTEM_SECTIONS,
    ActionItem,
    Correction,
    Customer,
    CustomerImpact,
    Incident,
    Provider,
    Region,
    Service,
    Source,
    TimelineEvent,
    render_markdown_fields,
)

REVISION_BATCH = 500
# Document field -> model field, where the names differ.
EVENT_FIELDS = {"at": "occurred_at", "as_stated": "time_as_stated", "key_event": "is_key_event"}


class Invalid(Exception):
    """One incident could not be applied; its problems are already recorded."""


@dataclass
class IncidentReport:
    file: str
    slug: str
    action: str  # created, updated, unchanged
    rows: list = field(default_factory=list)  # (what, action), e.g. ("timeline event 3", "removed")
    incident_pk: int | None = None


@dataclass
class Report:
    incidents: list = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    def count(self, action):
        return sum(1 for incident in self.incidents if incident.action == action)

    def summary(self):
        verb = "Would import" if self.dry_run else "Imported"
        return (
            f"{verb} {len(self.incidents)} incident{'s' if len(self.incidents) != 1 else ''}: "
            f"{self.count('created')} created, {self.count('updated')} updated, "
            f"{self.count('unchanged')} unchanged ({self.seconds:.1f} s)."
        )


def fields_of(obj, names):
    return {name: getattr(obj, name) for name in names}


class Importer:
    def __init__(self, *, zone=None, publish=False, dry_run=False, user=None, progress=None):
        self.zone = zoneinfo.ZoneInfo(zone) if zone else None
        self.zone_name = zone
        self.publish = publish
        self.dry_run = dry_run
        self.user = user
        self.progress = progress or (lambda items: items)
        self.problems = []
        # Reference rows already looked up or written in this run, by (model, key): a provider
        # named by a thousand incidents is read once.
        self.known = {}

    # --- The run ----------------------------------------------------------------------

    def run(self, documents):
        """Apply every incident of every document, or none; raise ImportFailed with all the
        problems found."""
        started = time.monotonic()
        report = Report(dry_run=self.dry_run)
        valid = []
        for document in documents:
            schema_problems = check_schema(document, zone_given=self.zone is not None)
            self.problems += schema_problems
            if not schema_problems:
                valid.append(document)
        items = [
            (document, index, data)
            for document in valid
            for index, data in enumerate(document.data["incidents"])
        ]
        self.check_duplicate_slugs(items)
        changed = {}
        with transaction.atomic():
            for document, index, data in self.progress(items):
                savepoint = transaction.savepoint()
                try:
                    result = self.apply(document, index, data)
                except Invalid:
                    transaction.savepoint_rollback(savepoint)
                    continue
                except DatabaseError as error:
                    transaction.savepoint_rollback(savepoint)
                    self.problems.append(
                        document.problem(["incidents", index], f"the database refused it: {error}")
                    )
                    continue
                transaction.savepoint_commit(savepoint)
                report.incidents.append(result)
                if result.action != "unchanged":
                    changed.setdefault(document.name, []).append(result.incident_pk)
            if self.problems or self.dry_run:
                transaction.set_rollback(True)
            else:
                self.record_revisions(changed)
                search.update_index([pk for pks in changed.values() for pk in pks])
        if self.problems:
            raise ImportFailed(self.problems)
        report.seconds = time.monotonic() - started
        return report

    def record_revisions(self, changed):
        """A revision for each changed incident, "Imported from FILE", with all its rows.

        Written after the rows, a batch at a time with the rows preloaded: following each
        incident's relations one by one would cost several queries per incident.
        """
        for name, pks in changed.items():
            for start in range(0, len(pks), REVISION_BATCH):
                batch = Incident.objects.filter(pk__in=pks[start : start + REVISION_BATCH])
                with reversion.create_revision(manage_manually=True):
                    reversion.set_comment(f"Imported from {name}")
                    if self.user is not None:
                        reversion.set_user(self.user)
                    for incident in batch.prefetch_related(
                        "services",
                        "regions",
                        "sources",
                        "events",
                        "impacts__services",
                        "action_items",
                        "corrections",
                    ):
                        reversion.add_to_revision(incident)

    def check_duplicate_slugs(self, items):
        seen = {}
        for document, index, data in items:
            slug = data["slug"]
            if slug in seen:
                self.problems.append(
                    document.problem(
                        ["incidents", index, "slug"],
                        f"“{slug}” is also the slug of {seen[slug]}; each incident needs its own",
                    )
                )
            else:
                seen[slug] = f"{document.name} {path_text(['incidents', index])}"

    # --- One incident -------------------------------------------------------------------

    def apply(self, document, index, data):
        self.document, self.base, self.failed = document, ["incidents", index], False
        provider = self.reference_provider(data["provider"], ["provider"])
        if provider is None:
            raise Invalid
        services = [
            self.reference_service(provider, ref, ["services", i])
            for i, ref in enumerate(data.get("services", []))
        ]
        regions = [
            self.reference_region(provider, ref, ["regions", i])
            for i, ref in enumerate(data.get("regions", []))
        ]
        sources = [
            self.reference_source(ref, ["sources", i])
            for i, ref in enumerate(data.get("sources", []))
        ]
        if self.failed:
            raise Invalid
        by_url = {source.url: source for source in sources}

        incident = Incident.objects.filter(slug=data["slug"]).first()
        action = "unchanged"
        values = {
            "title": data["title"],
            "provider": provider,
            "time_zone": data["time_zone"],
            "root_cause_category": data["root_cause_category"],
            **{name: data.get(name) or "" for name in POSTMORTEM_SECTIONS},
            **{name: self.moment(data.get(name), [name]) for name in MILESTONES},
        }
        self.created = incident is None
        if incident is None:
            incident = Incident(slug=data["slug"], status=Incident.Status.DRAFT)
            action = "created"
        elif fields_of(incident, values) != values:
            action = "updated"
        for name, value in values.items():
            setattr(incident, name, value)
        if self.publish and incident.status != Incident.Status.PUBLISHED:
            incident.status = Incident.Status.PUBLISHED
            incident.published_at = incident.published_at or timezone.now()
            incident.published_by = self.user
            action = "updated" if action == "unchanged" else action
        self.validate(
            incident, [], exclude=["provider", "services", "regions", "sources"], checked=True
        )
        if self.failed:
            raise Invalid
        if action != "unchanged":
            if action == "updated":
                incident.version += 1
            incident.updated_at = timezone.now()
            incident.save()

        for name, wanted in [("services", services), ("regions", regions), ("sources", sources)]:
            manager = getattr(incident, name)
            if self.created:
                manager.add(*wanted)
            elif {obj.pk for obj in manager.all()} != {obj.pk for obj in wanted}:
                manager.set(wanted)
                action = "updated" if action == "unchanged" else action

        rows = []
        rows += self.apply_events(incident, data.get("timeline", []), by_url)
        rows += self.apply_impacts(incident, provider, data.get("customers", []), by_url)
        rows += self.apply_numbered(
            incident,
            ActionItem,
            "action_items",
            data.get("action_items", []),
            lambda item, at: {
                "description": item["description"],
                "kind": item["kind"],
                "status": item["status"],
                "source": self.cited(item.get("source"), by_url, at + ["source"]),
            },
        )
        rows += self.apply_numbered(
            incident,
            Correction,
            "corrections",
            data.get("corrections", []),
            lambda item, at: {
                "claim": item["claim"],
                "fact": item["fact"],
                "claimed_by": self.cited(item.get("claimed_by"), by_url, at + ["claimed_by"]),
                "settled_by": self.cited(item.get("settled_by"), by_url, at + ["settled_by"]),
            },
        )
        if self.failed:
            raise Invalid
        if action == "unchanged" and any(what != "unchanged" for _, what in rows):
            action = "updated"
        if action == "updated" and incident.pk:
            Incident.objects.filter(pk=incident.pk).update(updated_at=timezone.now())
        result = IncidentReport(document.name, incident.slug, action, rows, incident.pk)
        return result

    # --- Rows of an incident -------------------------------------------------------------

    def apply_events(self, incident, items, by_url):
        def values(item, at):
            return {
                "occurred_at": self.moment(item["at"], at + ["at"]),
                "precision": item.get("precision", TimelineEvent.Precision.MINUTE),
                "time_as_stated": item.get("as_stated", ""),
                "kind": item["kind"],
                "is_key_event": item.get("key_event", False),
                "description": item["description"],
                "source": self.cited(item.get("source"), by_url, at + ["source"]),
            }

        return self.apply_numbered(incident, TimelineEvent, "timeline", items, values)

    def apply_numbered(self, incident, model, key, items, values_of):
        """Rows numbered within the incident (timeline events, action items, corrections):
        matched by position, updated in place, created, or removed when no longer listed."""
        label = str(model._meta.verbose_name)
        existing = {}
        if not self.created:
            existing = {row.position: row for row in model.objects.filter(incident=incident)}
        seen, new_rows, report = set(), [], []
        for index, item in enumerate(items):
            at = [key, index]
            position = item.get("position", index + 1)
            if position in seen:
                self.fail(at + ["position"], f"position {position} is used twice")
                continue
            seen.add(position)
            values = values_of(item, at)
            row = existing.get(position)
            if row is None:
                row = model(incident=incident, position=position, **values)
                if self.validate(row, at, exclude=self.resolved(model), checked=True):
                    render_markdown_fields(model, row)
                    new_rows.append(row)
                report.append((f"{label} {position}", "created"))
            elif fields_of(row, values) != values:
                for name, value in values.items():
                    setattr(row, name, value)
                if self.validate(row, at, exclude=self.resolved(model), checked=True):
                    if not self.failed:
                        row.save()
                report.append((f"{label} {position}", "updated"))
            else:
                report.append((f"{label} {position}", "unchanged"))
        if not self.failed:
            model.objects.bulk_create(new_rows)
            gone = [row.pk for position, row in existing.items() if position not in seen]
            model.objects.filter(pk__in=gone).delete()
            report += [
                (f"{label} {position}", "removed") for position in existing if position not in seen
            ]
        return report

    def apply_impacts(self, incident, provider, items, by_url):
        existing = {}
        if not self.created:
            existing = {
                impact.customer_id: impact
                for impact in CustomerImpact.objects.filter(incident=incident).prefetch_related(
                    "services"
                )
            }
        seen, report = set(), []
        for index, item in enumerate(items):
            at = ["customers", index]
            customer = self.reference_customer(item["customer"], at + ["customer"])
            if customer is None:
                continue
            if customer.pk in seen:
                self.fail(at + ["customer"], f"{customer.slug} is listed twice")
                continue
            seen.add(customer.pk)
            services = [
                self.impact_service(provider, key, at + ["services", i])
                for i, key in enumerate(item.get("services", []))
            ]
            values = {
                "level": item["level"],
                "description": item.get("description", ""),
                "started_at": self.moment(item.get("started_at"), at + ["started_at"]),
                "ended_at": self.moment(item.get("ended_at"), at + ["ended_at"]),
                "source": self.cited(item.get("source"), by_url, at + ["source"]),
            }
            impact = existing.get(customer.pk)
            what = f"customer {customer.slug}"
            if impact is None:
                impact = CustomerImpact(incident=incident, customer=customer, **values)
                action = "created"
            else:
                action = "unchanged" if fields_of(impact, values) == values else "updated"
                for name, value in values.items():
                    setattr(impact, name, value)
            exclude = ["incident", "customer", "source", "services"]
            if not self.validate(impact, at, exclude=exclude, checked=True) or self.failed:
                continue
            if action != "unchanged":
                impact.save()
            wanted = {service.pk for service in services if service}
            if action == "created":
                impact.services.add(*wanted)
            elif {service.pk for service in impact.services.all()} != wanted:
                impact.services.set(wanted)
                action = "updated" if action == "unchanged" else action
            report.append((what, action))
        if not self.failed:
            for customer_id, impact in existing.items():
                if customer_id not in seen:
                    report.append((f"customer {impact.customer.slug}", "removed"))
                    impact.delete()
        return report

    # --- References ---------------------------------------------------------------------

    def reference_provider(self, ref, at):
        if isinstance(ref, str):
            return self.lookup(Provider.objects.filter(slug=ref), at, f"provider “{ref}”")
        return self.upsert(Provider, {"slug": ref["slug"]}, ref, at)

    def reference_service(self, provider, ref, at):
        if isinstance(ref, str):
            return self.lookup(
                Service.objects.filter(provider=provider, slug=ref),
                at,
                f"service “{ref}” of {provider.slug}",
            )
        return self.upsert(Service, {"provider": provider, "slug": ref["slug"]}, ref, at)

    def reference_region(self, provider, ref, at):
        if isinstance(ref, str):
            return self.lookup(
                Region.objects.filter(provider=provider, code=ref),
                at,
                f"region “{ref}” of {provider.slug}",
            )
        return self.upsert(Region, {"provider": provider, "code": ref["code"]}, ref, at)

    def reference_source(self, ref, at):
        if isinstance(ref, str):
            return self.lookup(Source.objects.filter(url=ref), at, f"source “{ref}”")
        return self.upsert(Source, {"url": ref["url"]}, ref, at)

    def reference_customer(self, ref, at):
        if isinstance(ref, str):
            return self.lookup(Customer.objects.filter(slug=ref), at, f"customer “{ref}”")
        values = dict(ref)
        provider = values.pop("provider", None)
        values["provider"] = provider and self.reference_provider(provider, at + ["provider"])
        return self.upsert(Customer, {"slug": ref["slug"]}, values, at)

    def impact_service(self, provider, key, at):
        provider_slug, dot, slug = key.rpartition(".")
        owner = provider.slug if not dot else provider_slug
        return self.lookup(
            Service.objects.filter(provider__slug=owner, slug=slug),
            at,
            f"service “{key}”",
        )

    def lookup(self, queryset, at, what):
        key = ("lookup", str(queryset.query))
        if key not in self.known:
            self.known[key] = queryset.first()
        obj = self.known[key]
        if obj is None:
            self.fail(at, f"there is no {what}; give it in full to create it")
        return obj

    def upsert(self, model, key, values, at):
        """Create a reference row, or update it to the document's values."""
        cache_key = (model, tuple(sorted((k, getattr(v, "pk", v)) for k, v in key.items())))
        seen = self.known.get(cache_key)
        if seen is not None and fields_of(seen, values) == values:
            return seen
        obj = model.objects.filter(**key).first()
        before = None if obj is None else fields_of(obj, values)
        obj = obj or model(**key)
        for name, value in values.items():
            setattr(obj, name, "" if value is None and self.is_text(model, name) else value)
        # Looked up by its key above, so the key is free or its own; references are resolved.
        if not self.validate(obj, at, exclude=self.resolved(model), checked=True):
            return None
        if before is None or fields_of(obj, values) != before:
            obj.save()
        self.known[cache_key] = obj
        return obj

    @staticmethod
    def is_text(model, name):
        field = model._meta.get_field(name)
        return field.get_internal_type() in {"CharField", "TextField", "URLField", "SlugField"}

    def cited(self, url, by_url, at):
        if not url:
            return None
        if url not in by_url:
            self.fail(at, f"“{url}” is not among this incident's sources; list it under sources")
            return None
        return by_url[url]

    # --- Values and validation -------------------------------------------------------------

    def moment(self, value, at):
        """An ISO 8601 time in UTC, or None. A time without an offset needs --timezone."""
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.fail(at, f"“{value}” is not an ISO 8601 time such as 2012-12-24T12:24:00-08:00")
            return None
        if parsed.tzinfo is None:
            if self.zone is None:
                self.fail(at, f"“{value}” has no UTC offset; add one or pass --timezone")
                return None
            parsed = parsed.replace(tzinfo=self.zone)
        return parsed.astimezone(UTC)

    def validate(self, obj, at, exclude=None, checked=False):
        """The model's own validation. `checked`: the importer has already ensured what the
        database would be asked (keys exist, numbering is unique), so skip those queries;
        constraints that are checks are mirrored in each model's clean()."""
        try:
            obj.full_clean(
                exclude=exclude, validate_unique=not checked, validate_constraints=not checked
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                where = at if name == "__all__" else at + [document_name(name)]
                for message in messages:
                    self.fail(where, message.rstrip("."))
            return False
        return True

    @staticmethod
    def resolved(model):
        """Foreign keys the importer resolved itself (so they exist)."""
        return [f.name for f in model._meta.concrete_fields if f.is_relation]

    def fail(self, at, message):
        self.failed = True
        self.problems.append(self.document.problem(self.base + at, message))


def document_name(model_field):
    reverse = {model: doc for doc, model in EVENT_FIELDS.items()}
    return reverse.get(model_field, model_field)
