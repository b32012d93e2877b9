from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("outages", "0003_editorial_workflow"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["status", "id"],
                include=("provider", "root_cause_category", "started_at"),
                name="incident_published_facets",
            ),
        ),
    ]
