from functools import reduce
from operator import or_

from django.db import migrations
from django.db.models import Q

from outages.rendering import render_markdown

# Every stored Markdown field, as models.render_markdown_fields derives it on save.
MARKDOWN_FIELDS = {
    "incident": ["summary", "impact", "root_cause", "detection", "response", "lessons"],
    "timelineevent": ["description"],
    "customerimpact": ["description"],
}
# What the stricter policy changes: ids (now prefixed), classes (now only the renderer's own),
# and the title and lang that were kept on every tag. HTML without these stays as it was.
CHANGED_BY_POLICY = ['id="', 'class="', 'title="', 'lang="']


def rerender(apps, schema_editor):
    """Stored HTML made again by today's sanitiser (docs/sanitiser.md), for the rows whose HTML
    holds what it changes; only rows whose HTML changes are written. It is derived data, so no
    revision is recorded."""
    for model_name, names in MARKDOWN_FIELDS.items():
        model = apps.get_model("outages", model_name)
        holding = reduce(
            or_,
            (Q(**{f"{name}_html__contains": mark}) for name in names for mark in CHANGED_BY_POLICY),
        )
        rows = model.objects.filter(holding).only("pk", *names, *[f"{name}_html" for name in names])
        changed = []
        for row in rows.iterator(chunk_size=2000):
            fresh = {f"{name}_html": render_markdown(getattr(row, name)) for name in names}
            if any(getattr(row, key) != html for key, html in fresh.items()):
                for key, html in fresh.items():
                    setattr(row, key, html)
                changed.append(row)
        model.objects.bulk_update(changed, [f"{name}_html" for name in names], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("outages", "0015_summaries")]

    operations = [migrations.RunPython(rerender, migrations.RunPython.noop)]
