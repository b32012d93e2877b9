from django.db import migrations

# A search's results are found by walking the incidents newest first (migration 0014's index)
# and testing each one's stored vector until a page's limit of matches is found
# (outages.web.results). With a common word the planner expects tens of thousands of matches
# and splits that walk between parallel workers: starting them cost more than the walk itself.
# At 100,000 incidents, the first 1,001 matches of a word in 60% of them took 20-28 ms with two
# workers and 8.5 ms in one process, on an otherwise idle two-core server; under load the
# workers also compete with the other requests for the same cores. Every reader page reads a
# bounded number of incidents, so no scan of this table is planned with parallel workers.
# PostgreSQL only: SQLite has no parallel query.
TABLE = "outages_incident"


def without_workers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (parallel_workers = 0)")


def with_workers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (parallel_workers)")


class Migration(migrations.Migration):
    dependencies = [("outages", "0022_search_vector_stored_inline")]

    operations = [migrations.RunPython(without_workers, with_workers)]
