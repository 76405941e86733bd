"""AuditEvent now belongs to apps.audit (``audit.0001``): state only, the table stays."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('access', '0007_audit_append_only_hash_chain'),
        ('audit', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name='AuditEvent')],
                                            database_operations=[]),
    ]
