from django.db import migrations, models
from django.db.models import F

# Every list's order, newest first with unknown starts last and the slug breaking ties
# (outages.models.incidents.NEWEST_FIRST), as one index, so that the first page of a list, and of
# a search's matches newest first, is read in order instead of sorting every row. The index of
# 0001 (status, started_at DESC) cannot serve it on PostgreSQL, where DESC puts NULLs first.
# Included columns let the list's counted rows (outages.web.results) come from the index alone.
# PostgreSQL only: SQLite refuses NULLS LAST in an index, and already sorts NULLs last in DESC.
NEWEST_FIRST = models.Index(
    F("status"),
    F("started_at").desc(nulls_last=True),
    F("slug"),
    include=["id", "provider", "root_cause_category"],
    name="incident_published_order",
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("outages", "Incident"), NEWEST_FIRST)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("outages", "Incident"), NEWEST_FIRST)


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0013_incident_hits_index"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
