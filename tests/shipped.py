"""The shipped fixtures for the tests that read them: loaded for real once per test session, then
copied row for row into each test that needs them.

`manage.py load_fixtures` validates every object, records a revision for each row and indexes
every incident: seconds, for each of a hundred tests. `load_shipped()` runs the command the first
time a set of files is asked for, reads back every row the load wrote (every table: incidents and
their rows, reference rows, revisions and versions, search documents), rolls the load back and
keeps those rows. Each later call inserts them as they were, keys included, in one transaction,
so a test sees exactly what the command would have written into an empty database.

- Only into an empty database (no row of this app's or of the revisions' tables): otherwise the
  command itself runs, as it would have.
- Content types are kept by their natural keys, and created if missing as the load would: a
  transactional test's flush recreates them with new ids.
- Tests of load_fixtures itself call the command; they must really load.
"""

from pathlib import Path

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction

from outages import page_cache

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# As `make setup` names them: fixtures/*.json, in the shell's (sorted) order.
SHIPPED = sorted(FIXTURES.glob("*.json"))

_snapshots = {}  # tuple of file paths -> Snapshot
# The tables whose rows a load reads or writes: a copy stands for a load only where they are empty.
CONTENT_APPS = ("outages", "reversion")


def load_shipped(*paths):
    """What `load_fixtures` of these files (all the shipped ones by default) writes, written."""
    files = tuple(str(path) for path in paths or SHIPPED)
    if not empty():
        call_command("load_fixtures", *files, verbosity=0)
        return
    if files not in _snapshots:
        _snapshots[files] = Snapshot.take(files)
    _snapshots[files].restore()


def stored_tables():
    """Every model's table, once (many-to-many tables included)."""
    seen = set()
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table in seen:
            continue
        seen.add(meta.db_table)
        yield model


def content_tables():
    return [model for model in stored_tables() if model._meta.app_label in CONTENT_APPS]


def empty():
    return not any(model._base_manager.exists() for model in content_tables())


def empty_content_tables():
    """Delete every row of the content tables, so that later loads can be copies again.

    One DELETE a table, in one transaction: foreign keys are checked at its end (Django declares
    them deferred on both engines), so the order of the tables does not matter."""
    qn = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        for model in content_tables():
            cursor.execute(f"DELETE FROM {qn(model._meta.db_table)}")
    page_cache.invalidate_all()


def rows_of(cursor, model):
    qn = connection.ops.quote_name
    columns = ", ".join(qn(field.column) for field in model._meta.concrete_fields)
    cursor.execute(
        f"SELECT {columns} FROM {qn(model._meta.db_table)} ORDER BY {qn(model._meta.pk.column)}"
    )
    return cursor.fetchall()


class Snapshot:
    def __init__(self, tables):
        self.tables = tables  # [(model, rows)], rows with content types as natural keys

    @classmethod
    def take(cls, files):
        """Load the files into the empty database, keep every row the load wrote, and roll the
        load back."""
        models = list(stored_tables())
        with transaction.atomic(), connection.cursor() as cursor:
            before = {model: rows_of(cursor, model) for model in models}
            call_command("load_fixtures", *files, verbosity=0)
            written = []
            for model in models:
                rows = rows_of(cursor, model)
                if rows == before[model] or model is ContentType:  # (created as needed)
                    continue
                # Rows added to a table that had none.
                assert not before[model], f"the load changed rows of {model._meta.db_table}"
                written.append((model, [cls.named(model, row) for row in rows]))
            transaction.set_rollback(True)
        return cls(written)

    @staticmethod
    def content_type_columns(model):
        return [
            index
            for index, field in enumerate(model._meta.concrete_fields)
            if field.is_relation and field.related_model is ContentType
        ]

    @classmethod
    def named(cls, model, row):
        row = list(row)
        for index in cls.content_type_columns(model):
            if row[index] is not None:
                row[index] = ContentType.objects.get_for_id(row[index]).natural_key()
        return row

    @classmethod
    def numbered(cls, model, rows):
        columns = cls.content_type_columns(model)
        if not columns:
            return rows
        rows = [list(row) for row in rows]
        for row in rows:
            for index in columns:
                if row[index] is not None:
                    # Created if missing, as the load's revisions would create it.
                    model_class = apps.get_model(*row[index])
                    row[index] = ContentType.objects.get_for_model(model_class).pk
        return rows

    def restore(self):
        """Insert the rows, in one transaction."""
        qn = connection.ops.quote_name
        with transaction.atomic(), connection.cursor() as cursor:
            for model, rows in self.tables:
                fields = model._meta.concrete_fields
                cursor.executemany(
                    f"INSERT INTO {qn(model._meta.db_table)}"
                    f" ({', '.join(qn(field.column) for field in fields)})"
                    f" VALUES ({', '.join(['%s'] * len(fields))})",
                    self.numbered(model, rows),
                )
            # PostgreSQL's sequences do not follow keys given explicitly (SQLite's do).
            models = [model for model, _ in self.tables]
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
        page_cache.invalidate_all()  # as the load does
