"""The one order of incidents (newest first, unknown starts last), as order_by() terms."""

from django.db.models import F


# The one order of incidents, on every page, feed, API list and export: newest first, and those
# whose start is not known last. Said outright because PostgreSQL sorts NULLs first and SQLite
# last. A user-chosen order (relevance, longest) breaks its ties with NEWEST_FIRST.
def incident_order(via="", oldest=False):
    """The order of incidents, or of rows by their incident (`via="incident__"`)."""
    started = F(f"{via}started_at")
    return [started.asc(nulls_last=True) if oldest else started.desc(nulls_last=True), f"{via}slug"]


NEWEST_FIRST = incident_order()
OLDEST_FIRST = incident_order(oldest=True)
