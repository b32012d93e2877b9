"""How far apart two incidents began, in words (“6 months earlier”). Pure: datetimes in, words
out. Kept out of text.py, which holds the wording of a single time or span."""

from outages.text import counted

DAYS_PER_MONTH = 365.25 / 12
MONTHS_IN_WORDS = 24  # under two years, months say it better than “1 year”


def apart_text(start, other_start):
    """When `other_start` was, seen from `start`: “the same day”, “12 days earlier”,
    “6 months later”, “8 years earlier”, rounded to the nearest unit; "" if either is not
    known."""
    if start is None or other_start is None:
        return ""
    days = abs((other_start - start).total_seconds()) / 86400
    side = "earlier" if other_start < start else "later"
    if days < 1:
        return "the same day"
    months = round(days / DAYS_PER_MONTH)
    if days < 31 or months < 1:
        number, unit = round(days), "day"
    elif months < MONTHS_IN_WORDS:
        number, unit = months, "month"
    else:
        number, unit = round(days / 365.25), "year"
    return f"{counted(number, unit)} {side}"
