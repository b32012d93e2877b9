"""The part of `make bench` behind a front cache: Varnish with the shipped VCL
(deploy/varnish/postmortems.vcl) in front of the production server (bench.topology), cached
pages loaded with `wrk -t2 -c64 -d8s --latency` next to Varnish serving the static CSS file, so
the ratio says how close a cached page comes to the cheapest thing Varnish can serve.

Runs whenever varnishd is installed (Debian: varnish, varnish-modules); BENCH_FRONT=0 skips it,
BENCH_FRONT_CONNECTIONS (64) sets the connections. Each URL is requested through Varnish until
it answers from its cache (X-Cache: hit) before the load starts.

Target, marked PASS or FAIL (printed, not asserted): each cached page at least half the static
file's requests per second through Varnish, with p99 under 5 ms.
"""

import argparse
import os
import shutil
import subprocess
import time
from urllib.parse import urlsplit

from . import machine
from .server import Failed, request
from .topology import topology, varnish_missing

CONNECTIONS = 64
MIN_RATIO_TO_STATIC = 0.5
MAX_P99_MS = 5.0
WARM_ATTEMPTS = 20


def skipped():
    """Why this part does not run (None when it does)."""
    if os.environ.get("BENCH_FRONT", "1") == "0":
        return "BENCH_FRONT=0"
    return varnish_missing()


def run(database_url, cache_url, pages, static_path, options, measure):
    """Load each page and the static file through Varnish; one row per URL.

    measure(port, path, options) is bench.bench's (wrk, or threads without it).
    """
    connections = int(os.environ.get("BENCH_FRONT_CONNECTIONS") or CONNECTIONS)
    loaded = argparse.Namespace(**{**vars(options), "connections": connections})
    sent = {"Accept-Encoding": "gzip"} if options.gzip else {}
    targets = {"static CSS": static_path, **pages}
    rows = []
    with topology(
        database_url, app_servers=1, varnish=True, pgbouncer=False, cache_url=cache_url
    ) as urls:
        port = urlsplit(urls.front).port
        # Two seconds of load first, as for the app server alone, so Varnish's threads and the
        # app server's workers are all running before the first measurement.
        measure(port, static_path, argparse.Namespace(**{**vars(loaded), "duration": 2}))
        for name, path in targets.items():
            cache = warm(port, path, sent)
            print(f"   {name}: {path} ({cache})", flush=True)
            result = measure(port, path, loaded)
            rows.append({"page": name, "path": path, "cache": cache, **result})
    return rows


def warm(port, path, sent):
    """Request path until Varnish answers it from its cache; that answer's X-Cache."""
    state = "-"
    for _ in range(WARM_ATTEMPTS):
        status, headers, _ = request(port, path, headers=sent)
        if status != 200:
            raise Failed(f"{path} answered {status} through Varnish before the load started.")
        state = headers.get("X-Cache", "-")
        if state == "hit":
            break
        time.sleep(0.05)
    return state


def table(rows):
    static = next(row["rps"] for row in rows if row["page"] == "static CSS")
    headers = ["Through Varnish", "Req/s", "p50 ms", "p99 ms", "× static", "Errors", "X-Cache"]
    headers.append(f"Target (≥ {MIN_RATIO_TO_STATIC}× static, p99 < {MAX_P99_MS:g} ms)")
    out = []
    for row in rows:
        verdict = "—"
        if row["page"] != "static CSS":
            good = row["rps"] >= MIN_RATIO_TO_STATIC * static and row["p99_ms"] < MAX_P99_MS
            verdict = "PASS" if good and not row["errors"] and row["cache"] == "hit" else "FAIL"
        out.append(
            [
                row["page"],
                f"{row['rps']:,.0f}",
                f"{row['p50_ms']:.2f}",
                f"{row['p99_ms']:.2f}",
                f"{row['rps'] / static:.2f}",
                str(row["errors"]),
                row["cache"],
                verdict,
            ]
        )
    return headers, out, "lrrrrrll"


def floor_note(rows):
    return machine.floor_note(rows, ("static CSS",), MAX_P99_MS)


def describe(rows):
    tool = rows[0]["tool"] if rows else ""
    version = "varnishd"
    if shutil.which("varnishd"):
        done = subprocess.run(["varnishd", "-V"], capture_output=True, text=True)
        version = (done.stderr or done.stdout).splitlines()[0].split(" revision")[0]
    return f"{version} with deploy/varnish/postmortems.vcl, `{tool}`"


def missed(rows):
    return [f"{row[0]} through Varnish" for row in table(rows)[1] if row[-1] == "FAIL"]
