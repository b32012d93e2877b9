"""Incident documents for the import benchmark (docs/incident-format.md), written the way
`export_incidents --all` writes a backup: every provider, service, region, customer and source
in full wherever it is used.

Each incident has exactly EVENTS_PER_INCIDENT timeline events (so 10,000 incidents carry 100,000
events), two sources, up to three customer impacts drawn from a pool of one customer per ten
incidents, and two action items. The documents are JSON (which the importer reads as YAML), at
most PER_FILE incidents a file to stay under the importer's 20 MB limit per file, and the same
for the same count and seed. Slugs begin with "import-bench-" and URLs with
https://example.com/import-bench/, so nothing collides with the shipped or sample data.

    .venv/bin/python -m bench.import_doc 10000 /tmp/docs   # write them on their own
"""

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

EVENTS_PER_INCIDENT = 10
PER_FILE = 1000
PREFIX = "import-bench-"
URL = "https://example.com/import-bench/"

PROVIDERS = ["Alder", "Birch", "Cedar", "Douglas", "Elm"]
SERVICES = ["compute", "storage", "database", "queue", "dns", "cdn", "identity", "functions"]
REGIONS = ["east-1", "east-2", "west-1", "west-2", "europe-1", "asia-1"]
KINDS = ["trigger", "detection", "escalation", "communication", "mitigation", "recovery"]
CAUSES = [
    "operational-error",
    "software-bug",
    "power-failure",
    "resource-limit",
    "automation",
    "configuration",
    "other",
]
WORDS = (
    "load balancer control plane storage cluster replica quorum lease failover rollback deploy "
    "certificate capacity throttling retries latency errors timeouts metadata queue backlog "
    "network partition router fibre power generator cooling firmware kernel cache eviction"
).split()
ZONES = ["UTC", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo"]
EPOCH = datetime(2012, 1, 1, tzinfo=UTC)
SPACING = timedelta(hours=60)  # 10,000 incidents end in 2025
JITTER_MINUTES = 10 * 60


def sentence(rng, words=12):
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def paragraph(rng, sentences=4):
    return " ".join(sentence(rng) for _ in range(sentences))


def stamp(moment):
    return moment.isoformat().replace("+00:00", "Z")


def provider(number):
    name = PROVIDERS[number % len(PROVIDERS)]
    slug = f"{PREFIX}{name.lower()}"
    return {
        "slug": slug,
        "name": f"{name} Cloud (import benchmark)",
        "homepage_url": f"{URL}providers/{slug}/",
        "description": f"A made-up provider for the import benchmark: {name}.",
    }


def incident(rng, number, customer_count):
    slug = f"{PREFIX}{number:06d}"
    # Each provider's incidents SPACING apart, give or take a few hours, so that none is a
    # likely duplicate of another (outages.duplicates.WINDOW).
    started = EPOCH + SPACING * (number // len(PROVIDERS))
    started += timedelta(minutes=rng.randrange(JITTER_MINUTES))
    detected = started + timedelta(minutes=rng.randint(1, 30))
    mitigated = detected + timedelta(minutes=rng.randint(10, 240))
    resolved = mitigated + timedelta(minutes=rng.randint(5, 600))
    sources = [
        {
            "url": f"{URL}{slug}/{index}/",
            "title": f"Report {index} on incident {number}",
            "publisher": ["Status page", "Tech news"][index - 1],
            "published_on": (resolved + timedelta(days=index)).date().isoformat(),
            "kind": ["status", "news"][index - 1],
        }
        for index in (1, 2)
    ]
    span = (resolved - started).total_seconds()
    moments = sorted(
        started + timedelta(seconds=span * position / (EVENTS_PER_INCIDENT - 1))
        for position in range(EVENTS_PER_INCIDENT)
    )
    timeline = [
        {
            "at": stamp(moment),
            "as_stated": f"{moment:%H:%M} UTC",
            "kind": KINDS[min(index * len(KINDS) // EVENTS_PER_INCIDENT, len(KINDS) - 1)],
            "key_event": index in (0, EVENTS_PER_INCIDENT - 1),
            "source": sources[index % 2]["url"],
            "description": sentence(rng, 16),
        }
        for index, moment in enumerate(moments)
    ]
    services = rng.sample(SERVICES, rng.randint(1, 3))
    customers = [
        {
            "customer": {
                "slug": f"{PREFIX}customer-{pick}",
                "name": f"Customer {pick} (import benchmark)",
                "url": f"{URL}customers/{pick}/",
            },
            "level": rng.choice(["outage", "degraded", "affected"]),
            "services": [rng.choice(services)],
            "source": sources[1]["url"],
            "description": sentence(rng, 8),
        }
        for pick in sorted(rng.sample(range(customer_count), rng.randint(0, 3)))
    ]
    return {
        "slug": slug,
        "title": f"Import benchmark incident {number}: {rng.choice(WORDS)} {rng.choice(WORDS)}",
        "provider": provider(number),
        "services": [{"slug": s, "name": s.title(), "description": f"{s}."} for s in services],
        "regions": [{"code": code, "name": code.title()} for code in rng.sample(REGIONS, 2)],
        "time_zone": rng.choice(ZONES),
        "started_at": stamp(started),
        "detected_at": stamp(detected),
        "mitigated_at": stamp(mitigated),
        "resolved_at": stamp(resolved),
        "root_cause_category": rng.choice(CAUSES),
        "summary": paragraph(rng, 5),
        "impact": "\n".join(f"- {sentence(rng)}" for _ in range(3)),
        "root_cause": paragraph(rng, 4),
        "detection": paragraph(rng, 2),
        "response": "\n".join(f"{i}. {sentence(rng)}" for i in range(1, 5)),
        "lessons": paragraph(rng, 2),
        "sources": sources,
        "timeline": timeline,
        "customers": customers,
        "action_items": [
            {
                "description": sentence(rng, 10),
                "kind": rng.choice(["prevent", "mitigate", "detect", "process"]),
                "status": rng.choice(["done", "planned", "unknown"]),
                "source": sources[0]["url"],
            }
            for _ in range(2)
        ],
    }


def write_documents(folder, count, seed=0):
    """Write `count` incidents into folder/import-NN.json files; return their paths."""
    rng = random.Random(seed)
    customer_count = max(1, count // 10)
    folder = Path(folder)
    paths = []
    for first in range(0, count, PER_FILE):
        numbers = range(first, min(first + PER_FILE, count))
        path = folder / f"import-{first // PER_FILE:03d}.json"
        document = {"incidents": [incident(rng, n, customer_count) for n in numbers]}
        path.write_text(json.dumps(document, indent=1))
        paths.append(path)
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m bench.import_doc INCIDENTS FOLDER")
    Path(sys.argv[2]).mkdir(parents=True, exist_ok=True)
    for written in write_documents(sys.argv[2], int(sys.argv[1])):
        print(written)
