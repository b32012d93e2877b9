"""The status-page sync benchmark (part of `make bench`): a recorded Atlassian Statuspage history
of BENCH_SYNC_INCIDENTS incidents (1,000) with 10 updates each, written to a temporary file, is
synced into an empty database with `manage.py sync_status_page`, then synced again with nothing
new (the incremental path: every incident's digest compared with its archived copy; no ETag, so
the whole history is read and parsed again). Both on PostgreSQL (pm_bench_sync on DATABASE_URL's
server, dropped and recreated) and on SQLite (a temporary file).

Targets, marked PASS or FAIL, on the time the command reports for the sync itself (the process's
own start-up, a second or so of Django, is shown beside it): first sync under 30 s and re-sync
under 2 s on PostgreSQL.

    .venv/bin/python -m bench.sync                 # both databases
    .venv/bin/python -m bench.sync --skip-sqlite   # PostgreSQL only
    .venv/bin/python -m bench.sync --write /tmp/history.json   # only write the history

Incidents are titled "Bench incident N: …" with the example host status.example.com, so nothing
collides with shipped or sample data. Exit status 1 if a sync fails.
"""

import argparse
import json
import os
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .server import DEFAULT_DATABASE_URL, Failed, create_database, manage, production_env, query

DATABASE = "pm_bench_sync"
UPDATES = 10
TARGETS = {"first": 30.0, "again": 2.0}  # seconds, on PostgreSQL
PROVIDER = "bench-status"
START = datetime(2023, 1, 2, 8, 0, tzinfo=UTC)
COMPONENTS = ["API", "Dashboard", "Webhooks", "Storage", "Search", "Login", "Billing", "CDN"]
STATUSES = ["investigating", "identified"] + ["update"] * 6 + ["monitoring", "resolved"]
TEXT = (
    "Bench update {n} of incident {i}: the benchmark's provider reports on {component}; this "
    "text stands in for what a provider writes, a sentence or two about what it sees and does."
)


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def history(count, updates=UPDATES):
    """A Statuspage /api/v2/incidents.json with `count` incidents of `updates` updates each,
    newest first as the API lists them, one incident every 22 hours."""
    incidents = []
    for i in range(count):
        began = START + timedelta(hours=22 * i)
        component = COMPONENTS[i % len(COMPONENTS)]
        times = [began + timedelta(minutes=15 * n) for n in range(updates)]
        entries = [
            {
                "id": f"bench{i:05d}u{n:02d}",
                "status": STATUSES[n % len(STATUSES)] if n < updates - 1 else "resolved",
                "body": TEXT.format(n=n + 1, i=i, component=component),
                "incident_id": f"bench{i:05d}",
                "created_at": stamp(at),
                "updated_at": stamp(at),
                "display_at": stamp(at),
                "affected_components": [{"code": f"c{i % 8}", "name": component}],
            }
            for n, at in enumerate(times)
        ]
        incidents.append(
            {
                "id": f"bench{i:05d}",
                "name": f"Bench incident {i}: errors in {component}",
                "status": "resolved",
                "impact": ["minor", "major", "critical"][i % 3],
                "created_at": stamp(began),
                "updated_at": stamp(times[-1]),
                "started_at": stamp(began),
                "monitoring_at": stamp(times[-2]),
                "resolved_at": stamp(times[-1]),
                "shortlink": f"https://status.example.com/incidents/bench{i:05d}",
                "postmortem_body": (
                    f"Bench postmortem of incident {i}: what a provider writes afterwards."
                    if i % 10 == 0
                    else None
                ),
                "components": [{"id": f"c{i % 8}", "name": component}],
                "incident_updates": list(reversed(entries)),
            }
        )
    page = {"id": "bench", "name": "Bench status", "url": "https://status.example.com"}
    return {"page": page, "incidents": list(reversed(incidents))}


def write(path, count):
    Path(path).write_text(json.dumps(history(count)))
    return Path(path)


def run(database_url, path, count):
    """{first, again: (seconds the sync reports, seconds the process took), summary lines}."""
    env = production_env(database_url, "locmem://bench-sync")
    manage(env, "migrate", "--noinput")
    manage(
        env,
        "shell",
        "-c",
        "from outages.models import Provider; Provider.objects.get_or_create("
        f"slug='{PROVIDER}', defaults={{'name': 'Bench Status', 'homepage_url': '', "
        "'description': 'The sync benchmark.'})",
    )
    results = {}
    for name in ("first", "again"):
        started = time.monotonic()
        output = manage(
            env, "sync_status_page", "--provider", PROVIDER, "--format", "statuspage", str(path)
        )
        wall = time.monotonic() - started
        summary = output.strip().splitlines()[-1]
        reported = float(re.search(r"\(([\d.]+) s\)", summary)[1])
        results[name] = (reported, wall, summary)
    return results


def main():
    parser = argparse.ArgumentParser(
        prog="python -m bench.sync", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--incidents", type=int, default=int(os.environ.get("BENCH_SYNC_INCIDENTS") or 1000)
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--write", metavar="PATH", help="only write the history to PATH")
    options = parser.parse_args()
    if options.write:
        write(options.write, options.incidents)
        return 0
    base = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    print(f"Status-page sync: {options.incidents:,} incidents of {UPDATES} updates each")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as folder:
        path = write(Path(folder) / "incidents.json", options.incidents)
        print(f"   history {path.stat().st_size / 1e6:.1f} MB", flush=True)
        databases = []
        if not options.skip_postgresql and base.startswith("postgres"):
            url = base.rsplit("/", 1)[0] + f"/{DATABASE}"
            create_database(url, replace=True)
            databases.append(("PostgreSQL", url))
        if not options.skip_sqlite:
            databases.append(("SQLite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}"))
        for label, url in databases:
            try:
                results = run(url, path, options.incidents)
            except Failed as failure:
                print(f"\nFAILED on {label}: {failure}")
                return 1
            if label == "PostgreSQL":
                counts = query(url, "SELECT count(*) FROM outages_timelineevent")[0][0]
                print(f"   {label}: {counts:,} timeline events stored")
            for name, (reported, wall, summary) in results.items():
                target = TARGETS[name]
                verdict = ("PASS" if reported < target else "FAIL") if label == "PostgreSQL" else ""
                what = "first sync" if name == "first" else "re-sync, nothing new"
                rows.append((label, what, reported, wall, target, verdict))
                print(f"   {label}, {what}: {summary}", flush=True)
    print()
    print("| Database | Run | Sync (s) | Process (s) | Target (s) | |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for label, what, reported, wall, target, verdict in rows:
        print(f"| {label} | {what} | {reported:.1f} | {wall:.1f} | {target:.0f} | {verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
