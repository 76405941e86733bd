"""SchemaMapping becomes ExposureAssignment (governed exposure); the output ports that exist are
judged once: approved when a former mapping rule of their domain (product) covers their schema
and no other product exposes it, rejected on a system location, else awaiting exposure review."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

SYSTEM = {"postgresql": {"pg_catalog", "information_schema"}, "mariadb": {"mysql", "information_schema",
                                                                          "performance_schema", "sys"}}


def judge_existing_ports(apps, schema_editor):
    OutputPort = apps.get_model("catalog", "OutputPort")
    ExposureAssignment = apps.get_model("platforms", "ExposureAssignment")
    ports = list(OutputPort.objects.select_related("platform", "data_product"))
    for port in ports:
        name, kind = port.schema.casefold(), port.platform.kind
        if name in SYSTEM.get(kind, set()) or (kind == "postgresql" and name.startswith("pg_")):
            port.exposure_status, port.exposure_reason = "rejected", "A system location: never exposed."
        else:
            covered = ExposureAssignment.objects.filter(
                platform=port.platform_id, schema=port.schema, domain=port.data_product.domain_id,
            ).filter(models.Q(data_product__isnull=True) | models.Q(data_product=port.data_product_id)).exists()
            shared = any(p.pk != port.pk and p.data_product_id != port.data_product_id and p.schema == port.schema
                         and p.platform_id == port.platform_id and (not p.table or not port.table or p.table == port.table)
                         for p in ports)
            if covered and not shared:
                port.exposure_status, port.exposure_reason = "approved", ""
            else:
                port.exposure_status = "pending_review"
                port.exposure_reason = "Made before governed exposure, on a location not assigned to it alone: review it."
        port.save(update_fields=["exposure_status", "exposure_reason"])


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0007_output_port_exposure"),
        ("platforms", "0004_team_platform_identity"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="platform",
            name="reserved_locations",
            field=models.JSONField(blank=True, default=list, help_text="Locations the service account needs for itself, never exposable: schema names (databases on MariaDB), or `database.schema`, or `database.*` for a whole PostgreSQL database."),
        ),
        migrations.RemoveConstraint(model_name="schemamapping", name="schema_mapping_unique"),
        migrations.RenameModel(old_name="SchemaMapping", new_name="ExposureAssignment"),
        migrations.AddField(
            model_name="exposureassignment",
            name="database",
            field=models.CharField(blank=True, help_text="Blank: the platform's database.", max_length=255),
        ),
        migrations.AddField(
            model_name="exposureassignment",
            name="table",
            field=models.CharField(blank=True, help_text="Blank: the whole schema.", max_length=255),
        ),
        migrations.AddField(
            model_name="exposureassignment",
            name="assigned_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name="exposureassignment",
            name="data_product",
            field=models.ForeignKey(blank=True, help_text="Optional: the only data product that may expose it; sync gives it an output port there.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name="exposure_assignments", to="catalog.dataproduct"),
        ),
        migrations.AlterField(
            model_name="exposureassignment",
            name="domain",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="exposure_assignments", to="catalog.domain"),
        ),
        migrations.AlterField(
            model_name="exposureassignment",
            name="platform",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="exposure_assignments", to="platforms.platform"),
        ),
        migrations.AlterModelOptions(
            name="exposureassignment",
            options={"ordering": ["platform", "database", "schema", "table"]},
        ),
        migrations.AddConstraint(
            model_name="exposureassignment",
            constraint=models.UniqueConstraint(fields=("platform", "database", "schema", "table"), name="exposure_assignment_unique"),
        ),
        migrations.RunPython(judge_existing_ports, migrations.RunPython.noop),
    ]
