"""How many incidents a list or search found, counted without reading every match.

The incident list page, its feeds and the JSON API find their results here, so that one query
string means the same everywhere. The first LIMIT results are read (newest first, one query on
the list's index); when there are no more, everything is exact, as it always was. Past LIMIT:

- the number found is the database's estimate (PostgreSQL's planner, from its statistics),
  rounded and called an estimate, or on engines without one just "more than LIMIT";
- the facet counts count the newest LIMIT found, and the page says so;
- pages reach the first LIMIT results in the chosen order; filters, dates or another sort reach
  the others (a late OFFSET through 100,000 rows costs what the whole list used to);
- a search lists its matches newest first rather than by relevance: ranking reads every match's
  whole document vector (or FTS5 row), and tells little apart when each match mentions the word.
  The page says so and suggests more words, which bring the matches back under LIMIT, ranked.

Reading every match to count it is what made the list and a common word's search take seconds
at 100,000 incidents. Newest first is the order of an index (migration 0014 on PostgreSQL), so
the first results of a list, or of a common word's matches, are read without sorting them all.
"""

import json
from dataclasses import dataclass

from django.db import connection
from django.db.models.functions import ExtractYear

from outages.text import ABOUT

LIMIT = 1000


@dataclass(frozen=True)
class Found:
    # (id, provider id, root cause, year started) of at most LIMIT results, newest first: what
    # the facets count (outages.web.filters.facets).
    rows: list
    count: int  # how many there are: exact, or the estimate when `estimated`
    estimated: bool = False

    @property
    def listed(self):
        """How many results the pages reach (all of them, unless estimated)."""
        return LIMIT if self.estimated else self.count

    @property
    def ids(self):
        return [row[0] for row in self.rows]

    def words(self, noun="incident"):
        """The one way a count is written: "3 incidents", "about 61,000 incidents (estimated)",
        "more than 1,000 incidents"."""
        plural = noun if self.count == 1 else f"{noun}s"
        if not self.estimated:
            return f"{self.count:,} {plural}"
        if self.count > LIMIT:
            return f"{ABOUT} {rounded(self.count):,} {plural} (estimated)"
        return f"more than {LIMIT:,} {plural}"


NOTHING = Found(rows=[], count=0)


def rounded(number):
    """To two significant figures: an estimate shown with five would claim too much."""
    return round(number, 2 - len(str(number)))


def found(queryset):
    """What `queryset` (the filtered incidents, in any order) finds: one query, and a second
    asking the planner for its estimate when there are more than LIMIT."""
    rows = list(
        queryset.newest_first().values_list(
            "pk", "provider_id", "root_cause_category", ExtractYear("started_at")
        )[: LIMIT + 1]
    )
    if len(rows) <= LIMIT:
        return Found(rows=rows, count=len(rows))
    return Found(rows=rows[:LIMIT], count=estimate(queryset), estimated=True)


def estimate(queryset):
    """The planner's estimate of how many rows `queryset` has (PostgreSQL); 0 where there is no
    planner to ask, or when it guesses no more than the LIMIT already seen."""
    if connection.vendor != "postgresql":
        return 0
    plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
    rows = int(plan[0]["Plan"]["Plan Rows"])
    return rows if rows > LIMIT else 0


def in_order(filters, found):
    """(the filter's results in the reader's order, that order's name). Relevance ranks only
    result sets counted in full; larger ones go newest first (see the module's docstring)."""
    order = filters.sort_order() if filters.form.is_valid() else "newest"
    results = filters.qs
    if order == "relevance" and found.estimated:
        order = "newest"
        results = results.newest_first()
    return results, order
