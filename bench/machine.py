"""The machine under a benchmark, measured before its first step and after its last: how fast
it runs a fixed piece of Python, and how long it takes a core away from a process that wants it.

The targets are milliseconds and seconds, and the machines these benchmarks run on are shared:
the same code and corpus have run their cold pages and import twice as slowly on one day as on
another. These two figures say how fast and how steady the machine was, so that runs on
different days can be compared, and a miss can be told from a slow machine.

- Reference work: the same pure-Python work on every machine (integers, strings, a dict, JSON,
  a sort; none of the project's code, so changing the project does not move it). The fastest
  of five runs is the machine's speed; the slowest says how much other work took from it.
- Stalls: on each core a process that only reads the clock, pinned there, for a few seconds of
  an otherwise idle machine. The longest gap between two readings is the longest time the
  machine (another program, the kernel, the hypervisor) kept that core from it. A gap longer
  than a request's budget puts that request, and those queued behind it, past the p99.
"""

import json
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

ROUNDS = 5
STALL_SECONDS = 6.0  # longer than the 5 s period of the longest stalls seen
LONG_STALL_MS = 5


def check(stall_seconds=STALL_SECONDS):
    """Both figures, measured now (about 9 s on an idle machine)."""
    return {"reference": reference_work(), "stalls": stalls(stall_seconds)}


def describe(checked):
    """One line for a report."""
    reference, stalled = checked["reference"], checked["stalls"]
    return (
        f"reference work {reference['fastest_s']:.3f} s (slowest of {reference['rounds']} "
        f"{reference['slowest_s']:.3f} s); longest stall of a core "
        f"{stalled['longest_ms']:.1f} ms, {stalled['long']} over {LONG_STALL_MS} ms in "
        f"{stalled['seconds']:g} s on {stalled['cores']} cores"
    )


def reference_work(rounds=ROUNDS):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return {
        "rounds": rounds,
        "fastest_s": min(times),
        "median_s": statistics.median(times),
        "slowest_s": max(times),
    }


def work():
    """0.5-0.7 s of one core's time on the machine this was written on."""
    rows = {f"incident-{number}": number * number % 977 for number in range(150_000)}
    text = json.dumps(rows)
    parsed = json.loads(text)
    ordered = sorted(parsed.items(), key=lambda item: (item[1], item[0]))
    return len(" ".join(f"{name}={value}" for name, value in ordered))


def stalls(seconds=STALL_SECONDS):
    cores = sorted(os.sched_getaffinity(0))
    # Spawned, not forked: the caller may hold threads or connections a fork would copy.
    with ProcessPoolExecutor(len(cores), mp_context=get_context("spawn")) as pool:
        found = list(pool.map(stalls_on, cores, [seconds] * len(cores)))
    return {
        "seconds": seconds,
        "cores": len(cores),
        "longest_ms": max(longest for longest, _ in found),
        "long": sum(count for _, count in found),
    }


def stalls_on(core, seconds, clock=time.perf_counter):
    """The longest gap between two clock readings on this core, and how many were long."""
    os.sched_setaffinity(0, {core})
    last = clock()
    end = last + seconds
    longest, long = 0.0, 0
    while (now := clock()) < end:
        gap = now - last
        longest = max(longest, gap)
        long += gap * 1000 > LONG_STALL_MS
        last = now
    return longest * 1000, long


def floor_note(rows, floors, bound_ms):
    """A sentence for a load table whose p99 bound even its floor missed: the `floors` rows
    (the server's cheapest answers, which run none of a page's code) all had a p99 at or over
    `bound_ms`. No page can then be shown to meet the bound in that run, whatever it does.
    Empty when a floor met it. The verdicts in the table are left as they are."""
    measured = [row for row in rows if row["page"] in floors]
    if not measured or any(row["p99_ms"] < bound_ms for row in measured):
        return ""
    named = " and ".join(f"{row['page']} {row['p99_ms']:.1f} ms" for row in measured)
    return (
        f"Even the floor missed the p99 bound of {bound_ms:g} ms ({named}): on this run's "
        "machine no page could be shown to meet it."
    )
