"""New rows made as Model(**values) makes them, quicker: an import plans some 150,000 (timeline
events, action items), and Django's keyword path looks up every field in the keywords and sets
each linked row through its descriptor, a few microseconds a row more than the rows' own work.

Here each model's fields are sorted out once per set of names given: the values go to
Model(*args) in column order (Django's quicker path, as for rows read from the database), the
fields not given take their defaults as Django gives them, and a linked row given in place of
its id is set as the relation's descriptor sets it (ForwardManyToOneDescriptor.__set__): its id
taken, the row cached, the databases noted, the relation allowed.
"""

from functools import cache

from django.db import router


def new_row(model, values):
    """model(**values), for keyword names that are the model's concrete fields (a foreign key by
    its name, given a row or None)."""
    found = layout(model, tuple(values))
    if found is None:
        return model(**values)
    args, links = found
    obj = model(*[value(values) for value in args])
    for field, name in links:
        link(obj, field, values[name])
    return obj


@cache
def layout(model, names):
    """([values -> the argument of each concrete field, in order], [(foreign key, name)]), or
    None for a model Django makes otherwise (generated fields, which it leaves unset)."""
    if any(field.generated for field in model._meta.concrete_fields):
        return None
    given = set(names)
    args, links = [], []
    for field in model._meta.concrete_fields:
        if field.name in given and field.is_relation:
            target = field.target_field.attname
            args.append(lambda values, name=field.name, target=target: id_of(values[name], target))
            links.append((field, field.name))
        elif field.attname in given:
            args.append(lambda values, name=field.attname: values[name])
        else:
            args.append(lambda values, field=field: field.get_default())
    unknown = given - {field.name for field in model._meta.concrete_fields}
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    return args, links


def id_of(related, target):
    return None if related is None else getattr(related, target)


def link(obj, field, related):
    """What setting `obj.<field> = related` does to a new row whose id column already holds
    the related row's id (ForwardManyToOneDescriptor.__set__)."""
    if related is not None:
        model = field.remote_field.model
        if not isinstance(related, model._meta.concrete_model):
            raise ValueError(
                f'Cannot assign "{related!r}": "{type(obj).__name__}.{field.name}" must be a '
                f'"{model._meta.object_name}" instance.'
            )
        if obj._state.db is None:
            obj._state.db = router.db_for_write(type(obj), instance=related)
        if related._state.db is None:
            related._state.db = router.db_for_write(type(related), instance=obj)
        if not router.allow_relation(related, obj):
            raise ValueError(
                f'Cannot assign "{related!r}": the current database router prevents this relation.'
            )
        if not field.remote_field.multiple:
            field.remote_field.set_cached_value(related, obj)
    field.set_cached_value(obj, related)
