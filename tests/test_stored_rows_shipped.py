"""The shipped incidents' lists print the same with their rows stored as rendered
(tests/test_stored_rows.py has the rest); in a module of its own, since the shipped data stays
loaded for the rest of the module that loads it."""

from outages.models import Incident
from tests.test_stored_rows import listing, store_all


def test_the_shipped_lists_are_the_same_with_stored_rows(client, db, shipped_data):
    rendered = {query: listing(client, q=query) for query in ["", "load balancer", "netflix"]}

    assert store_all() == Incident.objects.published().count()
    for query, html in rendered.items():
        assert listing(client, q=query) == html, query
