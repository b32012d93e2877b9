"""Moments at the edge of what Python's datetime can hold.

Content dates are validated to lie between 1970 and a year ahead (models.validate_content_date),
but rows written before that rule, or by raw SQL, may hold any date the database takes: year 1
or year 9999. Shifting such a moment into a zone, or adding a span to it, can leave the range
of datetime (years 1 to 9999) and raise OverflowError. The pages call these helpers where they
do that arithmetic, so an absurd stored date is shown as it is instead of answering 500.
Pure functions, no models.
"""

from datetime import UTC, datetime


def in_zone(moment, zone):
    """`moment` in `zone`; in UTC when that zone's wall clock falls outside years 1 to 9999
    (1 Jan of year 1 at 00:00 UTC is still 31 Dec of year 0 in New York)."""
    try:
        return moment.astimezone(zone)
    except OverflowError:
        return moment.astimezone(UTC)


def shifted(moment, delta):
    """`moment` + `delta`, held at the first or last moment datetime can hold."""
    try:
        return moment + delta
    except OverflowError:
        edge = datetime.max if delta.total_seconds() > 0 else datetime.min
        return edge.replace(tzinfo=moment.tzinfo)
