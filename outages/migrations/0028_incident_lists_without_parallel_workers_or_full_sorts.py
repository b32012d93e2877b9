from django.db import migrations, models
from django.db.models import DurationField, ExpressionWrapper, F, Q

# A search's results are found by walking the incidents newest first (migration 0014's index)
# and testing each one's stored vector until a page's limit of matches is found
# (outages.web.results). With a common word the planner expects tens of thousands of matches
# and splits that walk between parallel workers: starting them cost more than the walk itself.
# At 100,000 incidents, the first 1,001 matches of a word in 60% of them took 23 ms with two
# workers and 8.6 ms in one process (medians of ten), on a lightly loaded two-core server; the
# workers also take cores from the other requests. So no scan of this table
# is planned with parallel workers.
#
# The list that gained from them, because it sorted every published incident, is "longest
# first" (outages.web.filters.sort): this index gives it in that order, so a page of it reads
# its own rows rather than sorting 100,000 (0.6 s with the workers, 1.2 s without, under load).
# PostgreSQL only, as 0014 and 0018: SQLite has no parallel query, and its lists are small.
TABLE = "outages_incident"
LONGEST_FIRST = models.Index(
    ExpressionWrapper(F("resolved_at") - F("started_at"), output_field=DurationField()).desc(
        nulls_last=True
    ),
    F("started_at").desc(nulls_last=True),
    F("slug"),
    name="incident_published_longest",
    condition=Q(status="published"),
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (parallel_workers = 0)")
        schema_editor.add_index(apps.get_model("outages", "Incident"), LONGEST_FIRST)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("outages", "Incident"), LONGEST_FIRST)
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (parallel_workers)")


class Migration(migrations.Migration):
    dependencies = [("outages", "0025_incident_versions")]

    operations = [migrations.RunPython(forward, backward)]
