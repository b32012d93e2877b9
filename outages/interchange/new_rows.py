"""New rows made as Model(**values) makes them, quicker: an import plans some 150,000 (timeline
events, action items), and Django's keyword path looks up every field in the keywords and sets
each linked row through its descriptor, a few microseconds a row more than the rows' own work.

Here each model's fields are sorted out once per set of names given: the values go to
Model(*args) in column order (Django's quicker path, as for rows read from the database), the
fields not given take their defaults as Django gives them, and a linked row given in place of
its id is then set through the relation's descriptor, as Django sets it.
"""

from functools import cache


def new_row(model, values):
    """model(**values), for keyword names that are the model's concrete fields (a foreign key by
    its name, given a row or None)."""
    found = layout(model, tuple(values))
    if found is None:
        return model(**values)
    args, links = found
    obj = model(*[value(values) for value in args])
    for name in links:
        setattr(obj, name, values[name])  # through its descriptor: cached, databases noted
    return obj


@cache
def layout(model, names):
    """([values -> the argument of each concrete field, in order], [names of linked rows]), or
    None for a model Django makes otherwise (generated fields, which it leaves unset)."""
    if any(field.generated for field in model._meta.concrete_fields):
        return None
    given = set(names)
    args, links = [], []
    for field in model._meta.concrete_fields:
        if field.name in given and field.is_relation:
            args.append(lambda values: None)  # its id, set with the row (links)
            links.append(field.name)
        elif field.attname in given:
            args.append(lambda values, name=field.attname: values[name])
        else:
            args.append(lambda values, field=field: field.get_default())
    unknown = given - {field.name for field in model._meta.concrete_fields}
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    return args, links
