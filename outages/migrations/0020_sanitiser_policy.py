import importlib
from functools import reduce
from operator import or_

from django.db import migrations
from django.db.models import Q

# The re-rendering of 0010, which derives each stored Markdown field as saving does.
figures = importlib.import_module("outages.migrations.0010_figures")

# What the stricter policy (docs/sanitiser.md) changes: ids (now prefixed), classes (now only
# the renderer's own), and the title and lang that were kept on every tag. HTML without any of
# these renders the same, so only rows holding one are rendered again.
CHANGED_BY_POLICY = ['id="', 'class="', 'title="', 'lang="']


def holding(names):
    return reduce(
        or_,
        (Q(**{f"{name}_html__contains": mark}) for name in names for mark in CHANGED_BY_POLICY),
    )


def rerender(apps, schema_editor):
    figures.rerender(apps, schema_editor, holding=holding)


class Migration(migrations.Migration):
    dependencies = [("outages", "0018_every_incident_newest_first_index")]

    operations = [migrations.RunPython(rerender, migrations.RunPython.noop)]
