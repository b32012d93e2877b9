"""Revisions of many imported incidents written at once: the Revision and Version rows that
reversion's create_revision() and add_to_revision() write (revisions.record), made with Django's
serialiser and written with COPY (copying.py), not several queries per incident.

The benchmark's import (10,000 incidents, 100,000 events, PostgreSQL): 58 s wall, 50 s CPU with
it; 128 s, 86 s through reversion's API (docs/import-speed.md, which has later figures).
"""

from collections import defaultdict, namedtuple

from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.exceptions import ObjectDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.encoding import is_protected_type
from reversion import create_revision
from reversion.models import Revision, Version
from reversion.signals import post_revision_commit, pre_revision_commit

from outages.interchange import copying
from outages.models import revision_options, versions_in_bulk


def write(groups, user=None, related=None, send=None):
    """A revision for each (comment, objects) of `groups` holding the objects and the rows they
    follow (outages.models.versioned), as revisions.record(objects, comment, user) writes it.

    `send` (copying.Sender.send): the versions are COPYed from its worker thread, and the
    post_revision_commit signals, whose receivers query (and so wait for the COPY), are left
    to the function returned, for the caller to call once it has done other work meanwhile.
    Without it, they are sent before returning None.

    The objects must be as stored, read in this transaction; preload what they follow and their
    many-to-many links (prefetch_related), or reading them costs a query each. Or give those
    rows in `related`: {id(obj): {relation name: [rows, in the relation's order]}}, for objects
    just written whose rows are in memory."""
    related = related or {}
    db = router.db_for_write(Revision)
    held = []  # (revision, [(obj, model_db)])
    for comment, objects in groups:
        # Stamped as reversion stamps it: when the revision is begun.
        revision = Revision(date_created=timezone.now(), user=user, comment=comment)
        rows = {}
        for obj in objects:
            add(rows, obj, router.db_for_write(type(obj), instance=obj), related, explicit=True)
        if rows:  # reversion writes no revision that holds nothing
            held.append((revision, list(rows.values())))
    entries = [(revision, *row) for revision, rows in held for row in rows]
    made = iter(versions(entries, db, related))
    written = [(revision, [next(made) for _ in rows]) for revision, rows in held]
    for revision, revision_versions in written:
        pre_revision_commit.send(
            sender=create_revision, revision=revision, versions=revision_versions
        )
    revisions = [revision for revision, _ in written]
    if connections[db].features.can_return_rows_from_bulk_insert:
        copying.insert(Revision, revisions)
    else:
        for revision in revisions:
            revision.save(using=db)
    copying.insert(Version, [version for _, made in written for version in made], send)

    def committed():
        with versions_in_bulk():  # incidents' versions made at once, not a few queries each
            for revision, revision_versions in written:
                post_revision_commit.send(
                    sender=create_revision, revision=revision, versions=revision_versions
                )

    if send is not None:
        return committed
    committed()
    return None


def preload(objs):
    """Read the rows the objects follow, one query per model and relation, where not read yet
    (prefetch_related_objects)."""
    by_model = defaultdict(list)
    for obj in objs:
        by_model[type(obj)].append(obj)
    for model, rows in by_model.items():
        prefetch_related_objects(rows, *revision_options(model).follow)


def add(held, obj, model_db, related_rows, explicit=False):
    """Add `obj` and, recursively, the rows it follows to `held` ({(model, id): (obj, db)}), in
    reversion's order. A row already held is kept, unless it is added again explicitly."""
    if obj.pk is None:
        return
    model = type(obj)
    key = (model._meta.concrete_model, str(getattr(obj, model._meta.pk.attname)))
    if key in held and not explicit:
        return
    held[key] = (obj, model_db)
    for name in revision_options(model).follow:
        try:
            related = getattr(obj, name)
        except ObjectDoesNotExist:
            continue
        if isinstance(related, models.Model):
            add(held, related, model_db, related_rows)
        elif related is not None:
            for row in rows_of(obj, name, related_rows):
                add(held, row, model_db, related_rows)


def rows_of(obj, name, related):
    """The rows of a relation of `obj`: given in `related`, or its related manager's."""
    given = related.get(id(obj))
    if given is not None and name in given:
        return given[name]
    return getattr(obj, name).all()


def versions(entries, db, related):
    """Unsaved Version rows of [(revision, obj, model_db)], as add_to_revision() makes them,
    each model's objects serialised together."""
    by_model = defaultdict(list)
    for number, (_, obj, _) in enumerate(entries):
        by_model[type(obj)].append(number)
    data = [None] * len(entries)
    for model, numbers in by_model.items():
        objs = [entries[number][1] for number in numbers]
        texts = serialised(objs, revision_options(model), related)
        for number, text in zip(numbers, texts, strict=True):
            data[number] = text
    content_types = ContentType.objects.db_manager(db).get_for_models(*by_model)
    formats = {model: revision_options(model).format for model in by_model}
    made = []
    for (revision, obj, model_db), text in zip(entries, data, strict=True):
        content_type = content_types[type(obj)]
        values = VERSION_VALUES(
            content_type_id=content_type.pk,
            object_id=str(getattr(obj, obj._meta.pk.attname)),
            db=model_db,
            format=formats[type(obj)],
            serialized_data=text,
            object_repr=str(obj),
        )
        made.append(new_version(values, revision, content_type))
    return made


# Version's columns in its fields' order, for Version(*values).
VERSION_COLUMNS = [field.attname for field in Version._meta.concrete_fields]
CONTENT_TYPE = Version._meta.get_field("content_type")
# Its values in that order, by name; the id and the revision's id are None (the revision is
# given to new_version(); its id, once written).
VERSION_VALUES = namedtuple(
    "VersionValues", VERSION_COLUMNS, defaults=[None] * len(VERSION_COLUMNS)
)


def new_version(values, revision, content_type):
    """Version(revision=revision, content_type=content_type, **values._asdict()), made from
    its values in column order as Django makes a row read from the database, a quarter quicker
    than from keyword arguments (190,000 versions for 10,000 imported incidents). The revision
    is given through its descriptor, as before (it notes the database too); the content type,
    whose id is among the values, is kept as its descriptor keeps it."""
    version = Version(*values)
    version.revision = revision
    CONTENT_TYPE.set_cached_value(version, content_type)
    return version


def serialised(objs, options, related=None):
    """serializers.serialize(options.format, [obj], fields=options.fields) of each object."""
    if options.format != "json":
        return [serializers.serialize(options.format, [obj], fields=options.fields) for obj in objs]
    # Django's JSON serialiser writes an object as json.dump() of its Python serialiser's
    # dictionary, with these options; json.dumps() writes the same text, in C. The dictionary
    # is made here as that serialiser makes it, without its calls per field. Its links
    # (many-to-many) are added here from the rows preloaded: the serialiser builds a query for
    # each link of each object even when it then reads the preloaded rows, a tenth of an import.
    meta = type(objs[0])._meta.concrete_model._meta
    links = [
        field
        for field in meta.local_many_to_many
        if field.serialize
        and field.remote_field.through._meta.auto_created
        and (options.fields is None or field.attname in options.fields)
    ]
    names = {field.name for field in links}
    if options.fields is None:
        fields = [field.name for field in meta.local_fields]
    else:
        fields = [name for name in options.fields if name not in names]
    label = str(meta)
    pk = field_value(meta.pk)
    # The Python serialiser's fields: local ones it serialises (links by their attname without
    # "_id"), in its order.
    values = [
        (field.name, field_value(field))
        for field in meta.local_fields
        if field.serialize
        and (
            fields is None
            or (field.attname if field.remote_field is None else field.attname[:-3]) in fields
        )
    ]
    texts = []
    for obj in objs:
        data = {
            "model": label,
            "pk": pk(obj),
            "fields": {name: value(obj) for name, value in values},
        }
        for field in links:
            rows = rows_of(obj, field.name, related or {})
            data["fields"][field.name] = [link_value(row) for row in rows]
        texts.append("[" + ENCODER.encode(data) + "]")
    return texts


# json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False), with one encoder made once, not
# one per object.
ENCODER = DjangoJSONEncoder(ensure_ascii=False)


def field_value(field):
    """obj -> the field's value as Django's Python serialiser gives it (its _value_from_field):
    as it is if a protected type (None, numbers, dates), else value_to_string(), which for a
    string of a field that does not override it is the string itself."""
    attname = field.attname
    if type(field).value_from_object is not models.Field.value_from_object:
        return lambda obj: serialised_value(field, obj, field.value_from_object(obj))
    plain_text = type(field).value_to_string is models.Field.value_to_string

    def value(obj):
        found = getattr(obj, attname)
        if type(found) is str and plain_text:
            return found
        return serialised_value(field, obj, found)

    return value


def serialised_value(field, obj, found):
    return found if is_protected_type(found) else field.value_to_string(obj)


def link_value(row):
    """A linked row as the Python serialiser writes it: its primary key's value."""
    pk = row._meta.pk
    value = pk.value_from_object(row)
    return value if is_protected_type(value) else pk.value_to_string(row)
