"""A stored article for each incident (the parts of its page that follow only its own rows),
rendered at the first read after each write."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0029_kept_action_item_counts"),
    ]

    operations = [
        migrations.CreateModel(
            name="IncidentArticle",
            fields=[
                (
                    "incident",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="article",
                        serialize=False,
                        to="outages.incident",
                    ),
                ),
                ("build", models.CharField(max_length=64)),
                ("parts", models.JSONField(blank=True, null=True)),
                ("rows", models.JSONField(blank=True, null=True)),
                ("claim", models.UUIDField(default=uuid.uuid4)),
                ("claimed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
    ]
