from django.db import migrations

# A common word's search reads the stored vector of each of the newest incidents until it has
# found a page's limit of matches (outages.web.results): two thousand of them at 100,000
# incidents. Stored as "extended", a vector of two kilobytes went to the TOAST table, so each
# test of a match read the document's row, then the TOAST index and its chunks. Stored as
# "main", it stays compressed in the row, and the long text columns (read only for the
# snippets of one page) go to the TOAST table instead. Existing rows are rewritten so that
# their vectors move; new rows follow the column's storage. The rewrite leaves the old row
# versions' space in the table until `VACUUM FULL outages_searchdocument` (which locks it, so
# it is not run here); a corpus written after this migration is compact from the start.
# PostgreSQL only: SQLite searches its FTS5 table.
TABLE = "outages_searchdocument"


def store_inline(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN vector SET STORAGE MAIN")
        # An unchanged value keeps its TOAST pointer; a value read back through text (which
        # keeps every position and weight) is stored anew.
        schema_editor.execute(f"UPDATE {TABLE} SET vector = vector::text::tsvector")


def store_extended(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN vector SET STORAGE EXTENDED")


class Migration(migrations.Migration):
    dependencies = [("outages", "0021_visibility_and_sitemap_indexes")]

    operations = [migrations.RunPython(store_inline, store_extended)]
