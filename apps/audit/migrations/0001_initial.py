"""The audit trail moves from apps.access to its own app (issue 12). Only Django's state moves: the table
``access_auditevent`` (with its append-only and hash-chain triggers, ``access.0007``) stays as it is.
Existing permissions follow the model: its content type is relabelled ``audit``."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def relabel_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="audit", model="auditevent").exists():
        ContentType.objects.filter(app_label="access", model="auditevent").update(app_label="audit")


def unrelabel_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="audit", model="auditevent").update(app_label="access")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("access", "0007_audit_append_only_hash_chain"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(relabel_content_type, unrelabel_content_type),
        migrations.SeparateDatabaseAndState(state_operations=[migrations.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('action', models.CharField(max_length=64)),
                ('object_type', models.CharField(max_length=64)),
                ('object_id', models.CharField(max_length=64)),
                ('before', models.JSONField(blank=True, default=dict)),
                ('after', models.JSONField(blank=True, default=dict)),
                ('message', models.TextField(blank=True)),
                ('chain_seq', models.BigIntegerField(blank=True, editable=False, help_text='Position in the tamper-evident chain (set by the database).', null=True, unique=True)),
                ('prev_hash', models.CharField(blank=True, default='', editable=False, help_text='SHA-256 of the previous event in the chain (set by the database).', max_length=64)),
                ('hash', models.CharField(blank=True, default='', editable=False, help_text="SHA-256 of prev_hash and this event's content (set by the database).", max_length=64)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'access_auditevent',
                'ordering': ['-at', '-id'],
                'indexes': [models.Index(fields=['object_type', 'object_id'], name='access_audi_object__5feefe_idx')],
            },
        )], database_operations=[]),
    ]
