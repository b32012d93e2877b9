"""bench.machine: the benchmark's figures for how fast and how steady its machine was."""

import os

from bench import machine


def test_a_stall_is_the_longest_gap_between_two_readings_of_the_clock():
    readings = iter([0.0, 0.001, 0.009, 0.010, 0.030, 0.031, 0.0315, 1.0])
    core = min(os.sched_getaffinity(0))
    saved = os.sched_getaffinity(0)
    try:
        longest, long = machine.stalls_on(core, 0.5, clock=lambda: next(readings))
    finally:
        os.sched_setaffinity(0, saved)
    # Gaps of 1, 8, 1, 20, 1 and 0.5 ms before the reading past the end: 20 is the longest,
    # and two are over 5 ms.
    assert round(longest, 3) == 20.0
    assert long == 2


def test_every_usable_core_is_measured():
    stalled = machine.stalls(seconds=0.2)
    assert stalled["cores"] == len(os.sched_getaffinity(0))
    assert stalled["longest_ms"] > 0  # two readings of the clock are never at the same instant
    assert stalled["long"] >= 0


def test_the_reference_work_reports_its_fastest_median_and_slowest_rounds():
    reference = machine.reference_work(rounds=3)
    assert reference["rounds"] == 3
    assert 0 < reference["fastest_s"] <= reference["median_s"] <= reference["slowest_s"]


def test_a_report_line_names_both_figures():
    line = machine.describe(
        {
            "reference": {"rounds": 5, "fastest_s": 0.5, "median_s": 0.6, "slowest_s": 0.7},
            "stalls": {"seconds": 6.0, "cores": 2, "longest_ms": 26.1, "long": 4},
        }
    )
    assert line == (
        "reference work 0.500 s (slowest of 5 0.700 s); longest stall of a core 26.1 ms, "
        "4 over 5 ms in 6 s on 2 cores"
    )


def rows(**p99_ms):
    return [{"page": page.replace("_", " "), "p99_ms": value} for page, value in p99_ms.items()]


def test_a_table_says_so_when_even_its_floor_missed_the_p99_bound():
    note = machine.floor_note(rows(static_CSS=13.3, home=20.0), ("static CSS",), 5)
    assert note == (
        "Even the floor missed the p99 bound of 5 ms (static CSS 13.3 ms): on this run's "
        "machine no page could be shown to meet it."
    )


def test_no_note_while_any_floor_met_the_bound():
    floors = ("/healthz", "static CSS")
    assert machine.floor_note(rows(**{"/healthz": 30.2}, static_CSS=11.6), floors, 15) == ""
    assert machine.floor_note(rows(**{"/healthz": 30.2}, static_CSS=15.0), floors, 15) != ""
    assert machine.floor_note(rows(home=40.0), floors, 15) == ""  # no floor measured
