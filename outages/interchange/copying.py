"""Writing many new rows at once: PostgreSQL's COPY where the database has it, bulk_create
elsewhere, the same rows either way.

Used by the sample data generator and by the importer's bulk path. COPY sends the rows as one
stream of text that the server parses without planning an INSERT per batch, which for hundreds of
thousands of rows is several times faster than bulk_create's INSERTs.

A row's values are what bulk_create would write: each concrete field's pre_save(obj, add=True)
(auto_now stamps, columns other code derives when saving) and then get_db_prep_save(). COPY
returns no ids, so new rows take theirs from the table's identity sequence first, all in one
query (nextval over generate_series), and are given them as bulk_create gives them. Links to rows
given earlier in memory (`event.incident = incident`) take the linked row's id, as bulk_create's
check of related fields does.
"""

import datetime
import decimal
import io
import operator
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connections, models, router

# bulk_create's batch on other databases (SQLite limits the parameters of one statement).
BATCH_SIZE = 2000
AUTO_FIELDS = (models.AutoField, models.BigAutoField, models.SmallAutoField)
# COPY's text format: a backslash, a tab, a newline or a carriage return is escaped; \N is NULL.
ESCAPES = [("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")]


def uses_copy(model):
    return connections[router.db_for_write(model)].vendor == "postgresql"


def insert(model, objs, send=None):
    """Write new, unsaved model instances (bulk_create(objs) without its options), giving each
    its id. Returns objs. `send` (Sender.send): the COPY is sent from its worker thread."""
    objs = list(objs)
    if not objs:
        return objs
    if not uses_copy(model):
        return model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    take_related_ids(meta, objs)
    if isinstance(meta.pk, AUTO_FIELDS):
        without = [obj for obj in objs if obj.pk is None]
        for obj, pk in zip(without, new_ids(connection, meta, len(without)), strict=True):
            obj.pk = pk
    fields = meta.concrete_fields
    texts = [column_text(field, connection) for field in fields]
    lines = ["\t".join([text(obj) for text in texts]) for obj in objs]
    copy_lines(connection, meta.db_table, [field.column for field in fields], lines, send)
    return objs


def column_text(field, connection):
    """obj -> the field's value as insert() writes it in COPY's text: saved_value(), then
    database_value(), then its text; in one call for a value of the type the field writes as
    it is (millions of values in a large load)."""
    saved, value = saved_value(field), database_value(field, connection)
    kind = unchanged_type(field) if connection.vendor == "postgresql" else None
    if not isinstance(saved, operator.attrgetter) or kind not in TEXT:
        return lambda obj: text_of(value(saved(obj)))
    attname, as_text = field.attname, TEXT[kind]

    def text(obj):
        found = getattr(obj, attname)
        if written_as_is(found, kind):
            return as_text(found)
        return text_of(value(found))

    return text


def text_of(value):
    return TEXT.get(type(value), copy_text)(value)


# pre_save() of these classes gives the attribute as it is unless the field stamps the time.
STAMPING = [models.DateField.pre_save, models.DateTimeField.pre_save, models.TimeField.pre_save]


def saved_value(field):
    """obj -> field.pre_save(obj, add=True), without a call of the field's method when that
    gives the attribute as it is (Field.pre_save, or a date or time field that stamps nothing)."""
    pre_save = type(field).pre_save
    if pre_save is models.Field.pre_save or (
        pre_save in STAMPING and not field.auto_now and not field.auto_now_add
    ):
        return operator.attrgetter(field.attname)
    return lambda obj: field.pre_save(obj, True)


# Field classes whose get_db_prep_save() gives back, on PostgreSQL, a value of these types as it
# is (its to_python and get_prep_value return it, the backend's adapt_* returns it): a field of
# one of these classes, or of a subclass that overrides none of CONVERTING, skips those calls for
# such a value, several microseconds each for millions of values. Aware datetimes only (a naive
# one is made aware, with a warning), and exact types (a datetime is not a DateField's date).
UNCHANGED = [
    (models.AutoField, int),
    (models.BigAutoField, int),
    (models.SmallAutoField, int),
    (models.BooleanField, bool),
    (models.IntegerField, int),
    (models.CharField, str),
    (models.TextField, str),
    (models.DateTimeField, datetime.datetime),
    (models.DateField, datetime.date),
]
CONVERTING = ("get_db_prep_save", "get_db_prep_value", "get_prep_value", "to_python")


def unchanged_type(field):
    """The type of value `field` writes as it is (UNCHANGED), or None."""
    if isinstance(field, models.ForeignKey) and not overrides(field, models.ForeignKey):
        # A link writes its target's value (None for None).
        return unchanged_type(field.target_field)
    for base, kind in UNCHANGED:
        if isinstance(field, base):
            return None if overrides(field, base) else kind
    return None


def overrides(field, base):
    return any(getattr(type(field), name) is not getattr(base, name) for name in CONVERTING)


def database_value(field, connection):
    """value -> field.get_db_prep_save(value, connection), quicker."""
    kind = unchanged_type(field) if connection.vendor == "postgresql" else None

    def value(found):
        if found is None or written_as_is(found, kind):
            return found
        return field.get_db_prep_save(found, connection)

    return value


def written_as_is(found, kind):
    """Whether get_db_prep_save() gives `found` back as it is: a value of the field's
    unchanged_type(), a datetime only when it is aware."""
    return type(found) is kind and (kind is not datetime.datetime or found.tzinfo is not None)


def link(model, name, pairs, send=None):
    """Write many-to-many links of `model.name`: [(id of the model's row, id of the other)],
    each pair once. The link rows take their ids from the table's default. `send`: as for
    insert()."""
    field = model._meta.get_field(name)
    through = field.remote_field.through
    source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
    pairs = list(dict.fromkeys(pairs))
    if not uses_copy(through):
        through.objects.bulk_create(
            [through(**{f"{source}_id": a, f"{target}_id": b}) for a, b in pairs],
            batch_size=BATCH_SIZE,
        )
        return
    connection = connections[router.db_for_write(through)]
    meta = through._meta
    columns = [meta.get_field(source).column, meta.get_field(target).column]
    copy(connection, meta.db_table, columns, pairs, send)


def take_related_ids(meta, objs):
    """Set each empty foreign key from the row given in its place, as bulk_create does."""
    for field in meta.concrete_fields:
        if not field.is_relation:
            continue
        attname = field.attname
        for obj in objs:
            if getattr(obj, attname) is None:
                # The row given, or None: never a query. Read from the cache, as the
                # relation's descriptor reads it first (and then raises for no row where
                # one is required).
                related = field.get_cached_value(obj, MISSING)
                if related is MISSING or (related is None and not field.null):
                    related = getattr(obj, field.name)
                if related is not None:
                    if related.pk is None:
                        raise ValueError(
                            f"{meta.label}.{field.name} names an unsaved {type(related).__name__}"
                        )
                    setattr(obj, field.attname, related.pk)
                    # Setting the id forgets the row given; keep it, as bulk_create does (it
                    # sets the relation), or reading it again costs a query.
                    field.set_cached_value(obj, related)


MISSING = object()


def new_ids(connection, meta, count):
    """`count` new ids from the table's identity (or serial) sequence, in one query."""
    if not count:
        return []
    with connection.cursor() as cursor:
        return next_ids(cursor, meta, count, connection.ops.quote_name)


def next_ids(cursor, meta, count, quote):
    """new_ids() with a cursor of the connection (Django's wrapper or psycopg2's own)."""
    if meta.db_table in HELD.get():
        # No other session writes the table (foreign_keys_checked_at_end), so none takes ids
        # from its sequence meanwhile: moved on past `count` ids at once, it gives the ids
        # `count` calls of nextval() give, with none of their cost (about a second of the
        # 350,000 ids of 10,000 imported incidents).
        cursor.execute(
            "SELECT setval(seqrelid, nextval(seqrelid) + (%s - 1) * seqincrement), seqincrement "
            "FROM pg_sequence WHERE seqrelid = pg_get_serial_sequence(%s, %s)::regclass",
            [count, quote(meta.db_table), meta.pk.column],
        )
        last, step = cursor.fetchone()
        return list(range(last - (count - 1) * step, last + 1, step))
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
        [quote(meta.db_table), meta.pk.column, count],
    )
    return [pk for (pk,) in cursor.fetchall()]


def copy(connection, table, columns, rows, send=None):
    """COPY the rows (lists of database values) into the table's columns; from a Sender's
    worker thread if `send` (Sender.send) is given."""
    lines = ["\t".join([TEXT.get(type(value), copy_text)(value) for value in row]) for row in rows]
    copy_lines(connection, table, columns, lines, send)


def copy_lines(connection, table, columns, lines, send=None):
    """copy() of rows already in COPY's text format, a line each (without its newline)."""
    text = "\n".join(lines) + "\n" if lines else ""
    if send is not None:
        quote = connection.ops.quote_name
        send(lambda cursor: copy_text_rows(cursor, table, columns, text, quote))
        return
    sender = SENDER.get()
    if sender is not None and sender.connection is connection:
        sender.wait()  # COPY does not pass through the Sender's execute wrapper
    with connection.cursor() as cursor:
        copy_text_rows(cursor, table, columns, text, connection.ops.quote_name)


def copy_text_rows(cursor, table, columns, text, quote):
    """COPY rows already in COPY's text format (a line each) into the table's columns, with
    a cursor of the connection: psycopg2's copy_expert (through Django's cursor wrapper, or
    psycopg2's own cursor)."""
    # In one read: psycopg2 takes Python's lock again for every block it reads (8 kB unless
    # told), and while another thread computes each retake waits out its switch interval (5
    # ms), which made a COPY from the sample writer's thread wait most of its time.
    cursor.copy_expert(
        f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN",
        io.StringIO(text),
        max(len(text), 8192),  # size, positional: Django's debug cursor takes no keyword
    )


def copy_text(value):
    """A database value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return escaped(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float | decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return f"{value.days} days {value.seconds} seconds {value.microseconds} microseconds"
    if hasattr(value, "dumps") and hasattr(value, "adapted"):  # psycopg2's Json
        return escaped(value.dumps(value.adapted))
    raise TypeError(f"no COPY text for {type(value).__name__} {value!r}")


def escaped(text):
    # Most texts have nothing to escape; looking costs a twentieth of replacing.
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        for character, escape in ESCAPES:
            text = text.replace(character, escape)
    return text


# The common types first, without copy_text's tests (millions of values in a large load).
TEXT = {
    str: escaped,
    int: str,
    bool: lambda value: "t" if value else "f",
    type(None): lambda value: "\\N",
    datetime.datetime: datetime.datetime.isoformat,
    datetime.date: datetime.date.isoformat,
}


@contextmanager
def foreign_keys_checked_at_end(models):
    """On PostgreSQL, inside the current transaction: drop the foreign keys of these models'
    tables (and of their many-to-many tables), and add them again on leaving, which checks every
    row with one query per key instead of one check per row written at COMMIT (Django's keys
    are DEFERRABLE INITIALLY DEFERRED: a million rows queue a million checks). The bulk
    loader's usual way, for a load into tables that hold few rows. Nothing is dropped for good:
    an error, or a row whose key names no row, rolls the whole transaction back, keys
    included. The tables are locked against other sessions until the transaction ends."""
    connection = connections[router.db_for_write(models[0])]
    if connection.vendor != "postgresql":
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("Foreign keys are dropped only inside a transaction.")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) "
            "ORDER BY 1, 2",
            [tables_of(models)],
        )
        keys = cursor.fetchall()
        # A table with checks still pending in this transaction (rows deleted before) cannot
        # be altered: run them now, then defer again as Django's keys are declared.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, _ in keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    # Each table altered is locked against other sessions (ACCESS EXCLUSIVE) until the
    # transaction ends: next_ids() takes its ids at once.
    token = HELD.set(HELD.get() | {table for table, _, _ in keys})
    try:
        yield
    finally:
        HELD.reset(token)
    with connection.cursor() as cursor:
        for table, name, definition in keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")


@contextmanager
def indexes_built_at_end(models, memory="256MB"):
    """On PostgreSQL, inside the current transaction: drop the indexes of these models' tables
    (and of their many-to-many tables) that back no constraint, and create them again on
    leaving from the definitions PostgreSQL gave (pg_indexes' indexdef: the same names,
    columns and methods as the migrations made), with `memory` for sorting. Built once from
    sorted rows, an index costs a fraction of what it costs kept up to date row by row (the
    search vector's GIN index most of all): PostgreSQL's own advice for populating a database.
    Primary keys and unique constraints stay, so a duplicate is still refused as it is written;
    so do partial indexes, whose condition does not always come back from its definition as
    written (`level IN (...)` is stored as `= ANY (ARRAY[...])`, which reads back cast anew).
    As for foreign_keys_checked_at_end, an error rolls the drop back with everything else, and
    the tables are locked against other sessions meanwhile."""
    connection = connections[router.db_for_write(models[0])]
    if connection.vendor != "postgresql":
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("Indexes are dropped only inside a transaction.")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) AND indpred IS NULL AND indexrelid NOT IN "
            "(SELECT conindid FROM pg_constraint) ORDER BY 1",
            [tables_of(models)],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")  # regclass text: quoted where it must be
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('maintenance_work_mem')")
        (before,) = cursor.fetchone()
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [memory])
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [before])


def tables_of(models):
    """The tables of these models and of their many-to-many fields, sorted."""
    tables = {model._meta.db_table for model in models}
    tables |= {
        field.remote_field.through._meta.db_table
        for model in models
        for field in model._meta.local_many_to_many
    }
    return sorted(tables)


# The Sender sending on its connection, for copy() to wait for.
SENDER = ContextVar("sender", default=None)
# Tables no other session may write until this one's transaction ends (their names).
HELD = ContextVar("held", default=frozenset())


class Sender:
    """Statements run on the transaction's own connection from a worker thread, in the order
    sent, while the calling thread goes on computing: psycopg2 lets go of Python's lock while it
    waits for the server, so PostgreSQL works on one core while Python works on the other (the
    importer's search vectors, `to_tsvector`, cost the server a few seconds per 10,000
    incidents). Sending never waits: what is sent queues behind what was sent before. Any
    query of the calling thread first waits for all of it (an execute wrapper), so it reads
    what was sent before it; so does copy(), which bypasses the wrapper. An error of the worker
    is raised, as Django's exception, by the next wait(): call it before opening a savepoint,
    so that the error is not taken for one of the savepoint's statements, or before leaving
    the savepoint the statements were sent in, to have it rolled back with them. Other
    databases run each statement at once.
    """

    def __init__(self, using="default"):
        self.connection = connections[using]
        self.pool = None
        self.pending = []  # futures of what was sent, in order

    def __enter__(self):
        if self.connection.vendor == "postgresql":
            self.connection.ensure_connection()
            self.raw = self.connection.connection
            self.pool = ThreadPoolExecutor(max_workers=1)
            self.connection.execute_wrappers.append(self.before_query)
            self.token = SENDER.set(self)
        return self

    def __exit__(self, *exc_info):
        if self.pool is None:
            return False
        try:
            self.wait()  # never leave the worker on the connection
        finally:
            self.connection.execute_wrappers.remove(self.before_query)
            SENDER.reset(self.token)
            self.pool.shutdown()
        return False

    def send(self, work):
        """Run work(cursor): from the worker, after what was sent before (one worker, in
        order), or now."""
        if self.pool is None:
            with self.connection.cursor() as cursor:
                work(cursor)
            return
        self.pending.append(self.pool.submit(self.run, work))

    def run(self, work):
        with self.raw.cursor() as cursor:
            work(cursor)

    def wait(self):
        """Wait for everything sent; raise the first error among it."""
        pending, self.pending = self.pending, []
        errors = [future.exception() for future in pending]  # each waited for
        first = next((error for error in errors if error is not None), None)
        if first is not None:
            with self.connection.wrap_database_errors:
                raise first

    def before_query(self, execute, sql, params, many, context):
        self.wait()
        return execute(sql, params, many, context)
