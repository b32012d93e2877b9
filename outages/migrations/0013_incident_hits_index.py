"""The index of hits for related incidents (web/related.py).

impact_hits: the customers each incident hit (CustomerImpact.hit_condition()), read from the
index alone when the candidates are walked and ranked. The walk itself, "the newest published
incidents among these", uses the newest-first index of migration 0014.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("outages", "0012_archive_series_and_revisions")]

    operations = [
        migrations.AddIndex(
            model_name="customerimpact",
            index=models.Index(
                condition=models.Q(("level__in", ["outage", "degraded", "affected"])),
                fields=["incident", "customer"],
                name="impact_hits",
            ),
        ),
    ]
