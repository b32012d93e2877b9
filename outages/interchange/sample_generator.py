"""Generating sample incidents: every choice from one random.Random(seed), every time from a
fixed epoch, written a chunk at a time in bulk with their search documents (sample_writing.py).

The reference rows (providers, services, regions, customers: a few thousand) are model
instances. The rows of incidents (about a million timeline events for 100,000 incidents) are
plain tuples in the column order sample_writing.COLUMNS names: making a model instance per row
cost more than everything else the generator does. A row names a row of its own chunk by its
index in the chunk (an event's incident and source), and a reference row by its id."""

import random
import time
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.db import reset_queries

from outages.interchange import copying, sample_writing
from outages.interchange.indexing import database_order
from outages.interchange.sample_words import (
    ACTIONS,
    CAUSE_CATEGORIES,
    CAUSES,
    COMMON_WORD,
    COMMON_WORD_SHARE,
    COMPONENTS,
    CUSTOMER_FIRST,
    CUSTOMER_SECOND,
    DETAILS,
    FILLER_KINDS,
    IMPACT_LEVELS,
    LESSONS,
    METRICS,
    NAME_PREFIX,
    PRECISIONS,
    PROVIDERS,
    PUBLISHERS,
    RARE_WORD_INCIDENTS,
    RARE_WORDS,
    REGION_CODES,
    SERVICES,
    SLUG_PREFIX,
    SYMPTOMS,
    SYNTHETIC_NOTE,
    URL_PREFIX,
    ZONES,
    duration,
    pick,
    pick_some,
    stated,
    zipf,
)
from outages.models import (
    POSTMORTEM_SECTIONS,
    ActionItem,
    Customer,
    Incident,
    Provider,
    Region,
    Service,
    Source,
    TimelineEvent,
)
from outages.rendering import render_markdown

# Incidents start between these times; with their durations and publication delays they all
# end before 2026.
FIRST_START = datetime(2010, 1, 1, tzinfo=UTC)
LAST_START = datetime(2025, 10, 1, tzinfo=UTC)

CUSTOMERS_PER_INCIDENT = 1 / 10
# Incidents are generated and written this many at a time, which bounds memory (about 10,000
# timeline events in flight) and sets how often progress is reported.
CHUNK_SIZE = 1000
PROGRESS_EVERY = 10 * CHUNK_SIZE
START_MINUTES = int((LAST_START - FIRST_START).total_seconds()) // 60
PUBLISHED = Incident.Status.PUBLISHED.value
ACTION_KINDS = ActionItem.Kind.values
ACTION_STATUSES = ActionItem.Status.values


@dataclass
class Draft:
    """What the rows of one incident are made from while they are made."""

    index: int  # in its chunk
    incident: dict  # the values the timeline and impacts read
    services: list
    regions: list
    sources: list  # indexes in the chunk


class Generator:
    def __init__(self, incident_count, seed, progress, started):
        self.incident_count = incident_count
        self.rng = random.Random(seed)
        self.progress = progress
        self.summary = sample_writing.Summary()
        self.started = started  # for progress reports
        # render_markdown is a pure function of the text and sample texts repeat a great deal
        # (lessons, short timeline entries), so rendering each text once saves most of the time.
        self.render = lru_cache(maxsize=200_000)(render_markdown)
        self.zones = {name: zoneinfo.ZoneInfo(name) for name in ZONES}
        self.components = zipf(COMPONENTS)
        self.symptoms = zipf(SYMPTOMS)
        self.causes = zipf(CAUSES)
        self.actions = zipf(ACTIONS)
        self.details = zipf(DETAILS)
        self.metrics = zipf(METRICS)
        self.cause_categories = zipf(CAUSE_CATEGORIES)
        self.impact_levels = zipf(IMPACT_LEVELS)
        # Weights 80, 15, 5: pick() draws as rng.choices(PRECISIONS, weights=...) does.
        self.precisions = (PRECISIONS, [80, 95, 100])

    def run(self):
        self.create_providers()
        self.create_customers()
        self.order = {
            Service: database_order(Service.objects.filter(provider__in=self.providers)),
            Region: database_order(Region.objects.filter(provider__in=self.providers)),
            Customer: database_order(Customer.objects.filter(slug__startswith=SLUG_PREFIX)),
        }
        # Which incidents carry which rare word is settled up front, so each is in exactly
        # RARE_WORD_INCIDENTS of them.
        self.rare_words = {}
        for word in RARE_WORDS:
            count = min(RARE_WORD_INCIDENTS, self.incident_count)
            for number in self.rng.sample(range(self.incident_count), count):
                self.rare_words.setdefault(number, []).append(word)
        with sample_writing.writer() as writer:
            for first in range(0, self.incident_count, CHUNK_SIZE):
                chunk = sample_writing.Chunk()
                for number in range(first, min(first + CHUNK_SIZE, self.incident_count)):
                    self.make_incident(number, chunk)
                writer.write(chunk)
                self.summary.add(chunk)
                # With DEBUG on, Django keeps every query (each bulk INSERT is megabytes of SQL).
                reset_queries()
                done = self.summary.incidents
                if done % PROGRESS_EVERY == 0 or done == self.incident_count:
                    self.progress(
                        f"  {done}/{self.incident_count} incidents, {self.summary.events} "
                        f"events ({time.monotonic() - self.started:.1f} s)"
                    )
        return self.summary

    # Reference rows

    def create_providers(self):
        rng = self.rng
        self.providers = copying.insert(
            Provider,
            [
                Provider(
                    name=f"{NAME_PREFIX}{name}",
                    slug=f"{SLUG_PREFIX}{name.lower()}",
                    homepage_url=f"{URL_PREFIX}providers/{name.lower()}/",
                    description=f"A synthetic cloud provider for benchmarks. {SYNTHETIC_NOTE}",
                )
                for name in PROVIDERS
            ],
        )
        services, regions = {}, {}
        for provider, name in zip(self.providers, PROVIDERS, strict=True):
            services[provider] = [
                Service(
                    provider=provider,
                    name=f"{name} {word}",
                    slug=word.lower(),
                    description=f"The {word.lower()} service of {provider.name}.",
                )
                for word in rng.sample(SERVICES, rng.randint(10, len(SERVICES)))
            ]
            regions[provider] = [
                Region(provider=provider, code=code, name=code.replace("-", " ").title())
                for code in rng.sample(REGION_CODES, rng.randint(5, 25))
            ]
        copying.insert(Service, sum(services.values(), []))
        copying.insert(Region, sum(regions.values(), []))
        # Some providers and, within a provider, some services and regions fail more often.
        self.provider_table = zipf(self.providers)
        self.service_tables = {provider: zipf(rows) for provider, rows in services.items()}
        self.region_tables = {provider: zipf(rows) for provider, rows in regions.items()}

    def create_customers(self):
        count = max(1, round(self.incident_count * CUSTOMERS_PER_INCIDENT))
        customers = []
        for number in range(1, count + 1):
            first, second = self.rng.choice(CUSTOMER_FIRST), self.rng.choice(CUSTOMER_SECOND)
            slug = f"{SLUG_PREFIX}{first.lower()}{second}-{number}"
            customers.append(
                Customer(
                    name=f"{NAME_PREFIX}{first}{second} {number}",
                    slug=slug,
                    url=f"{URL_PREFIX}customers/{slug}/",
                    description=f"A synthetic customer for benchmarks. {SYNTHETIC_NOTE}",
                )
            )
        self.customers = copying.insert(Customer, customers)
        self.customer_table = zipf(self.customers)
        self.summary.customers = count

    # One incident

    def make_incident(self, number, chunk):
        """Add the rows of one incident to the chunk."""
        rng = self.rng
        provider = pick(rng, self.provider_table)
        services = pick_some(rng, self.service_tables[provider], rng.randint(1, 4))
        regions = pick_some(rng, self.region_tables[provider], rng.randint(1, 3))
        started = FIRST_START + timedelta(minutes=rng.randrange(START_MINUTES))
        detected = started + timedelta(minutes=int(rng.expovariate(1 / 15)))
        mitigated = detected + timedelta(minutes=5 + int(rng.expovariate(1 / 90)))
        resolved = mitigated + timedelta(minutes=int(rng.expovariate(1 / 180)))
        # Sources do not always say when the provider noticed or when the damage stopped.
        if rng.random() < 0.08:
            detected = None
        if rng.random() < 0.05:
            mitigated = None
        published = resolved + timedelta(days=rng.randint(1, 60), minutes=rng.randrange(1440))
        story = Story(
            service=services[0],
            region=regions[0],
            symptom=pick(rng, self.symptoms),
            cause=pick(rng, self.causes),
            component=pick(rng, self.components),
        )
        incident = {
            "title": (
                f"{NAME_PREFIX}incident {number + 1}: {story.service.name} {story.symptom} in "
                f"{story.region.code}"
            ),
            "slug": f"{provider.slug}-{started:%Y-%m-%d}-{number + 1}",
            "provider": provider,
            "time_zone": rng.choice(ZONES),
            "started_at": started,
            "detected_at": detected,
            "mitigated_at": mitigated,
            "resolved_at": resolved,
            "root_cause_category": str(pick(rng, self.cause_categories)),
            "published_at": published,
        }
        texts = self.sections(incident, services, regions, story)
        html = [self.render(texts[name]) for name in POSTMORTEM_SECTIONS]
        index = len(chunk.incidents)
        chunk.incidents.append(
            (
                incident["title"],
                incident["slug"],
                provider.pk,
                incident["time_zone"],
                started,
                detected,
                mitigated,
                resolved,
                incident["root_cause_category"],
                PUBLISHED,
                published,
                published,  # updated_at
                *[texts[name] for name in POSTMORTEM_SECTIONS],
                *html,
            )
        )
        chunk.incident_services += [(index, service.pk) for service in services]
        chunk.incident_regions += [(index, region.pk) for region in regions]
        sources = self.make_sources(chunk, incident)
        draft = Draft(index, incident, services, regions, sources)
        chunk.incident_sources += [(index, source) for source in draft.sources]
        timeline = self.add_events(chunk, draft, story, self.rare_words.get(number, []))
        customers = self.add_impacts(chunk, draft)
        actions = []
        for position in range(1, rng.randint(0, 4) + 1):
            description = (
                f"{rng.choice(['Add', 'Improve', 'Automate', 'Review'])} the "
                f"{pick(rng, self.details)} handling of the {pick(rng, self.components)}."
            )
            actions.append(description)
            chunk.action_items.append(
                (
                    index,
                    position,
                    description,
                    rng.choice(ACTION_KINDS),
                    rng.choice(ACTION_STATUSES),
                    draft.sources[0],
                )
            )
        chunk.documents.append(
            (
                index,
                {
                    "title": incident["title"],
                    "summary_html": html[0],
                    "sections_html": html[1:],
                    "timeline": timeline,
                    "corrections": [],
                    "actions": actions,
                    "provider": provider.name,
                    "services": [(row.name, row.slug) for row in self.ordered(Service, services)],
                    "regions": [(row.code, row.name) for row in self.ordered(Region, regions)],
                    "customers": [row.name for row in self.ordered(Customer, customers)],
                },
                draft.sources,
            )
        )

    def ordered(self, model, rows):
        """Reference rows in their model's order as the database sorts them."""
        ranks = self.order[model]
        return sorted(rows, key=lambda row: ranks[row.pk])

    def sections(self, incident, services, regions, story):
        rng = self.rng
        started, resolved = incident["started_at"], incident["resolved_at"]
        summary = (
            f"On {started:%B} {started.day}, {started.year}, {story.service.name} in "
            f"{story.region.code} suffered {story.symptom} for {duration(resolved - started)}, "
            f"after {story.cause} in the {story.component}."
        )
        if rng.random() < COMMON_WORD_SHARE:
            summary += f" Customers lost {COMMON_WORD} connectivity to the {story.component}."
        if incident["detected_at"]:
            detection = (
                f"Alarms on {pick(rng, self.metrics)} fired "
                f"{duration(incident['detected_at'] - started)} after the trigger."
            )
        else:
            detection = "The sources do not say when the provider noticed."
        lessons = rng.sample(LESSONS, rng.randint(1, 3))
        return {
            # One paragraph: the Markdown parser is much slower than the renderer's shortcut for
            # a plain line, and summaries, unlike most texts here, never repeat.
            "summary": f"{summary} {SYNTHETIC_NOTE}",
            "impact": (
                f"About {rng.randint(1, 100)} percent of requests to "
                f"{', '.join(service.name for service in services)} in "
                f"{', '.join(region.code for region in regions)} saw {story.symptom}."
            ),
            "root_cause": (
                f"The trigger was {story.cause} in the {story.component}. A "
                f"{pick(rng, self.details)} in the {pick(rng, self.components)} made it worse."
            ),
            "detection": detection,
            "response": (
                f"Engineers {pick(rng, self.actions)}, then {pick(rng, self.actions)}. "
                f"Full recovery took {duration(resolved - started)}."
            ),
            # A list when there are several, so the corpus has more than plain paragraphs.
            "lessons": "\n".join(f"- {text}" for text in lessons),
        }

    def make_sources(self, chunk, incident):
        """Add the incident's sources to the chunk; return their indexes."""
        rng = self.rng
        provider_name, published = incident["provider"].name, incident["published_at"]
        first = len(chunk.sources)
        for index in range(rng.choice([1, 1, 2, 2, 3])):
            kind, publisher = [
                (Source.Kind.OFFICIAL, provider_name),
                (Source.Kind.STATUS, f"{provider_name} status page"),
                (Source.Kind.NEWS, rng.choice(PUBLISHERS)),
            ][index]
            dated = rng.random() < 0.9
            chunk.sources.append(
                (
                    f"{NAME_PREFIX}{kind.label.lower()} {index + 1} on {incident['title']}",
                    publisher,
                    rng.choice(["", "", "Sample Author"]),
                    (published + timedelta(days=index)).date() if dated else None,
                    "" if dated else "Not shown on the page (sample).",
                    f"{URL_PREFIX}{incident['slug']}/{index + 1}/",
                    kind.value,
                )
            )
        return list(range(first, len(chunk.sources)))

    def add_events(self, chunk, draft, story, rare_words):
        """Add the incident's timeline to the chunk; return its (HTML, time as stated) pairs,
        in timeline order."""
        rng, incident = self.rng, draft.incident
        started, resolved = incident["started_at"], incident["resolved_at"]
        # (time, kind, key event): the known milestones, then others in between.
        moments = [(started, TimelineEvent.Kind.TRIGGER, True)]
        if incident["detected_at"]:
            moments.append((incident["detected_at"], TimelineEvent.Kind.DETECTION, True))
        if incident["mitigated_at"]:
            moments.append((incident["mitigated_at"], TimelineEvent.Kind.MITIGATION, True))
        moments.append((resolved, TimelineEvent.Kind.RECOVERY, True))
        count = min(30, 5 + int(rng.expovariate(1 / 5)))  # 5 to 30, about 10 on average
        minutes = int((resolved - started).total_seconds()) // 60
        while len(moments) < count:
            at = started + timedelta(minutes=rng.randint(0, minutes))
            moments.append((at, rng.choice(FILLER_KINDS), False))
        # Stable: milestones first on a tie. The positions follow, so this is also the
        # timeline's order (occurred_at, position).
        moments.sort(key=lambda moment: moment[0])
        zone = self.zones[incident["time_zone"]]
        timeline = []
        for position, (at, kind, key) in enumerate(moments, start=1):
            text = self.event_text(kind, draft, story)
            if position == 2 and rare_words:
                text += "".join(
                    f" Engineers nicknamed the faulty {pick(rng, self.details)} {word}."
                    for word in rare_words
                )
            precision = pick(rng, self.precisions)
            as_stated = stated(at.astimezone(zone), precision)
            source = rng.choice(draft.sources) if rng.random() < 0.9 else None
            html = self.render(text)
            chunk.events.append(
                (draft.index, position, at, precision.value, as_stated, kind.value, text, html)
                + (source, key)
            )
            timeline.append((html, as_stated))
        return timeline

    def event_text(self, kind, draft, story):
        rng = self.rng
        service, region = rng.choice(draft.services), rng.choice(draft.regions)
        Kind = TimelineEvent.Kind
        if kind == Kind.TRIGGER:
            text = f"{story.cause.capitalize()} hit the {story.component}."
        elif kind == Kind.DETECTION:
            text = f"Alarms on {pick(rng, self.metrics)} fired for the {story.component}."
        elif kind == Kind.ESCALATION:
            text = f"The incident was escalated; the {pick(rng, self.components)} team joined."
        elif kind == Kind.MITIGATION:
            text = f"Engineers {pick(rng, self.actions)}."
        elif kind == Kind.RECOVERY:
            text = f"{service.name} recovered in {region.code}."
        elif kind == Kind.COMMUNICATION:
            text = f"The status page reported {story.symptom} for {service.name} in {region.code}."
        else:
            text = (
                f"Engineers examined the {pick(rng, self.details)} and the "
                f"{pick(rng, self.details)}."
            )
        if rng.random() < 0.5:
            text += f" The {pick(rng, self.details)} showed {pick(rng, self.symptoms)}."
        if rng.random() < 0.02:  # a little Markdown, as editors write
            text = f"**Update:** {text}"
        return text

    def add_impacts(self, chunk, draft):
        """Add the incident's customer impacts to the chunk; return their customers."""
        rng, incident = self.rng, draft.incident
        wanted = min(rng.choice([0, 1, 1, 2, 2, 3, 4, 5]), len(self.customers))
        customers = pick_some(rng, self.customer_table, wanted)
        for customer in customers:
            started = ended = None
            if rng.random() < 0.8:
                started = incident["started_at"] + timedelta(minutes=rng.randint(0, 30))
                if rng.random() < 0.9:
                    ended = started + timedelta(minutes=rng.randint(0, 600))
            level = str(pick(rng, self.impact_levels))
            description = f"{customer.name} reported {pick(rng, self.symptoms)}."
            index = len(chunk.impacts)
            chunk.impacts.append(
                (draft.index, customer.pk, level, description, self.render(description))
                + (started, ended, rng.choice(draft.sources))
            )
            if rng.random() < 0.6:
                hit = rng.sample(draft.services, rng.randint(1, min(2, len(draft.services))))
                chunk.impact_services += [(index, service.pk) for service in hit]
        return customers


@dataclass
class Story:
    """What one incident is about, repeated across its sections and timeline."""

    service: Service
    region: Region
    symptom: str
    cause: str
    component: str
