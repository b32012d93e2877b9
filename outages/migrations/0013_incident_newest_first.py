"""Indexes for related incidents (web/related.py).

incident_newest_first: an index in the one order of incidents (newest first, unknown starts last: NEWEST_FIRST) over
published incidents, with their ids, so "the newest published incidents among these" is a walk
that stops early rather than a sort of every match. Related incidents (web/related.py) find
their candidates this way.

PostgreSQL only: SQLite cannot index "DESC NULLS LAST", and its databases are small. It is not
in Incident.Meta.indexes for that reason, so makemigrations does not see it.

impact_hits: the customers each incident hit (CustomerImpact.hit_condition()), read from the
index alone when the candidates are walked and ranked.
"""

from django.db import migrations, models
from django.db.models import F, Q

NEWEST_FIRST = models.Index(
    F("started_at").desc(nulls_last=True),
    F("slug"),
    name="incident_newest_first",
    condition=Q(status="published"),
    include=["id"],
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("outages", "Incident"), NEWEST_FIRST)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("outages", "Incident"), NEWEST_FIRST)


class Migration(migrations.Migration):
    dependencies = [("outages", "0012_archive_series_and_revisions")]

    operations = [
        migrations.RunPython(create, drop),
        migrations.AddIndex(
            model_name="customerimpact",
            index=models.Index(
                condition=models.Q(("level__in", ["outage", "degraded", "affected"])),
                fields=["incident", "customer"],
                name="impact_hits",
            ),
        ),
    ]
