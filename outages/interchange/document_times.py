"""Times as incident documents write them: reading one, and what is wrong with one."""

import functools
import re
from dataclasses import dataclass
from datetime import datetime

from outages.interchange.documents import MILESTONE_NAMES, precision_key
from outages.text import ZONE_UNSTATED


def times(data):
    """(path, value, the incident's time_zone or None, the precision given for it or None) of
    every time in a document, wherever its shape allows looking."""
    incidents = data.get("incidents") if isinstance(data, dict) else None
    for i, incident in enumerate(incidents if isinstance(incidents, list) else []):
        if not isinstance(incident, dict):
            continue
        base = ["incidents", i]
        zone = incident.get("time_zone")
        zone = zone if isinstance(zone, str) and zone else None
        for name in MILESTONE_NAMES:
            yield base + [name], incident.get(name), zone, given(incident, precision_key(name))
        for key, names in (("timeline", ["at"]), ("customers", ["started_at", "ended_at"])):
            rows = incident.get(key)
            for j, row in enumerate(rows if isinstance(rows, list) else []):
                for name in names:
                    if isinstance(row, dict):
                        precision = given(row, "precision") if key == "timeline" else CLOCK_NEEDED
                        yield base + [key, j, name], row.get(name), zone, precision


# Stands for the precision of a customer impact's times, which have no precision field and so
# must be written with a clock time.
CLOCK_NEEDED = "clock"


def given(mapping, key):
    value = mapping.get(key)
    return value if isinstance(value, str) else None


# How fine each precision is; a time's text allows a precision no finer than its own.
FINENESS = {"year": 0, "month": 1, "date": 2, "hour": 3, "approximate": 4, "minute": 4}
PERIOD_FORMS = [
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})[-/](\d{2})[-/](\d{2})$"), "date"),
]
CLOCK_FORM = re.compile(r"^(\d{4})[-/](\d{2})[-/](\d{2})([T ]\d{2}:\d{2}.*)$")
TIME_EXAMPLES = (
    "2012-12-24T12:24:00-08:00, 2016-09-23T17:21, 2016-09-23 17:21, 2016/09/23 17:21, "
    "2017-01-19, 2017-01 or 2017"
)


@dataclass(frozen=True)
class Written:
    """A time as a document writes it: naive unless the text has an offset, and the finest
    precision its text allows (a period, or "minute" for a clock time)."""

    value: datetime
    precision: str


def read_time(value):
    """The Written form of a document's time text, or None if it is not a time."""
    # A pure function of the text with an immutable result, asked about each time more than
    # once (checked, then planned): the recent texts are remembered, enough of them for the
    # 140,000 times of 10,000 incidents, all checked before the first is planned (with fewer
    # remembered, each is read anew when planned).
    return read_text(value) if type(value) is str else read_text.__wrapped__(value)


@functools.lru_cache(maxsize=250_000)
def read_text(value):
    for pattern, precision in PERIOD_FORMS:
        match = pattern.match(value)
        if match:
            parts = [int(part) for part in match.groups()] + [1] * (3 - len(match.groups()))
            try:
                return Written(datetime(*parts), precision)
            except ValueError:
                return None
    match = CLOCK_FORM.match(value)
    if not match:
        return None
    year, month, day, rest = match.groups()
    try:
        return Written(datetime.fromisoformat(f"{year}-{month}-{day}{rest}"), "minute")
    except ValueError:
        return None


def time_problem(value, zone, precision=None):
    """What is wrong with one time of a document, or None. `zone`: the incident's time_zone,
    else the run's default, else None; `precision`: the one given for the time, if any."""
    if not isinstance(value, str):
        return None  # missing or of the wrong type: the schema says so
    written = read_time(value)
    if written is None:
        return f"“{value}” is not a time such as {TIME_EXAMPLES}"
    if precision == CLOCK_NEEDED and written.precision != "minute":
        return f"“{value}” gives no clock time, which a customer's start and end need"
    if precision in FINENESS and FINENESS[precision] > FINENESS[written.precision]:
        return (
            f"“{value}” is known only to the {PERIOD_NAMES[written.precision]}, "
            f"so its precision cannot be “{precision}”"
        )
    if written.value.tzinfo is None and zone is None:
        return (
            f"“{value}” has no UTC offset and the incident gives no time_zone: add time_zone "
            f"(an IANA name, or “{ZONE_UNSTATED}” when the source states none), add an offset, "
            "or give the run a default zone (--timezone, or the import page's time zone)"
        )
    if written.value.tzinfo is not None and zone == ZONE_UNSTATED:
        return (
            f"“{value}” has a UTC offset, but the incident's time_zone says the source states "
            "no zone; write the time as the source did, without an offset, or give the zone"
        )
    return None


PERIOD_NAMES = {"year": "year", "month": "month", "date": "day", "minute": "minute"}
