"""Published versions of incidents, and version 1 of every incident published before them.

Version 1 is the incident as its latest revision holds it (as it stands, when it has none). Its
article is left to freeze the first time the version is shown (outages/web/freezing.py), by
the real page code: the code of this migration's time could not render a page whose models
later migrations change, and rendering every incident here would hold a large database's
migration for hours. A few queries in all, however many incidents."""

import itertools

import django.db.models.deletion
from django.db import migrations, models


def first_versions(apps, schema_editor):
    Incident = apps.get_model("outages", "Incident")
    IncidentVersion = apps.get_model("outages", "IncidentVersion")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Version = apps.get_model("reversion", "Version")
    content_type = ContentType.objects.filter(app_label="outages", model="incident").first()
    latest = {}  # incident id -> (revision id, when), the newest last
    if content_type is not None:
        stored = Version.objects.filter(content_type=content_type).order_by(
            "revision__date_created", "pk"
        )
        for object_id, revision, created in stored.values_list(
            "object_id", "revision_id", "revision__date_created"
        ).iterator(chunk_size=5000):
            latest[object_id] = (revision, created)
    public = Incident.objects.filter(status__in=["published", "withdrawn"])
    rows = (
        IncidentVersion(
            incident_id=pk,
            number=1,
            revision_id=latest.get(str(pk), (None, None))[0],
            published_at=latest.get(str(pk), (None, updated_at))[1],
            title=title,
            provider_name=provider_name,
            article_html="",
        )
        for pk, title, provider_name, updated_at in public.values_list(
            "pk", "title", "provider__name", "updated_at"
        ).iterator(chunk_size=5000)
    )
    while batch := list(itertools.islice(rows, 1000)):
        IncidentVersion.objects.bulk_create(batch)


class Migration(migrations.Migration):

    dependencies = [
        ('outages', '0024_promise_ledger'),
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
