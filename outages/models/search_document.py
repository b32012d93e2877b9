"""The text search reads for each incident."""

from django.contrib.postgres.search import SearchVectorField
from django.db import models

from outages.models.incidents import Incident


class SearchDocument(models.Model):
    """The plain text search reads for one incident, gathered from it and its rows.

    Written only through outages.search.write_documents(). On PostgreSQL `vector` holds the
    weighted tsvector (GIN-indexed by migration 0002); on SQLite an FTS5 table mirrors these
    columns.
    """

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    title = models.TextField()
    summary = models.TextField(blank=True)
    sections = models.TextField(blank=True)
    timeline = models.TextField(blank=True)
    names = models.TextField(blank=True, help_text="Provider, services, regions and customers.")
    sources = models.TextField(blank=True)
    corrections = models.TextField(blank=True, help_text="Each claim corrected and its fact.")
    actions = models.TextField(blank=True, help_text="The action items (promised fixes).")
    vector = SearchVectorField(null=True, editable=False)

    def __str__(self):
        return self.title
