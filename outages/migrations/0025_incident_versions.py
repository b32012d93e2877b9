"""Published versions of incidents, and version 1 of every incident published before them.

Version 1 is the incident as it stands now (its latest revision, when it has one). Its article
is frozen right after the migrations, by the real page code (outages.incident_versions
.freeze_pending, on post_migrate): the code of this migration's time could not render a page
whose models later migrations change."""

import django.db.models.deletion
from django.db import migrations, models


def first_versions(apps, schema_editor):
    Incident = apps.get_model("outages", "Incident")
    IncidentVersion = apps.get_model("outages", "IncidentVersion")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Version = apps.get_model("reversion", "Version")
    content_type = ContentType.objects.filter(app_label="outages", model="incident").first()
    public = ["published", "withdrawn"]
    rows = []
    for incident in Incident.objects.filter(status__in=public).select_related("provider"):
        latest = None
        if content_type is not None:
            latest = (
                Version.objects.filter(content_type=content_type, object_id=str(incident.pk))
                .select_related("revision")
                .order_by("-revision__date_created", "-pk")
                .first()
            )
        rows.append(
            IncidentVersion(
                incident=incident,
                number=1,
                revision=latest.revision if latest else None,
                published_at=latest.revision.date_created if latest else incident.updated_at,
                title=incident.title,
                provider_name=incident.provider.name,
                article_html="",
            )
        )
    IncidentVersion.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('outages', '0022_search_vector_stored_inline'),
        ('reversion', '0002_add_index_on_version_for_content_type_and_db'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='IncidentVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField(help_text='1, 2, … in the order they were published.')),
                ('published_at', models.DateTimeField(help_text='When this version became the public one.')),
                ('title', models.CharField(max_length=200)),
                ('provider_name', models.CharField(max_length=200)),
                ('article_html', models.TextField(blank=True, help_text="The incident's article as readers saw it; empty until frozen.")),
                ('incident', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='outages.incident')),
                ('revision', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='reversion.revision')),
            ],
            options={
                'ordering': ['incident', 'number'],
                'constraints': [models.UniqueConstraint(fields=('incident', 'number'), name='incident_version_number'), models.CheckConstraint(condition=models.Q(('number__gte', 1)), name='incident_version_number_from_1')],
            },
        ),
        migrations.RunPython(first_versions, migrations.RunPython.noop),
    ]
