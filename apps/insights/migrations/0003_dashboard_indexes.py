"""Covering indexes for the KPI dashboard's reads (issue 14: dashboard p95 at 1,000,000 events),
so each of its queries is an index-only scan; ``usage_request_kind`` gets ``at`` as a covered
column (``usage_request_kind_at``, built before the old one is dropped). Built and dropped
without locking writes to the fact table (``CONCURRENTLY``, hence not atomic)."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('insights', '0002_fact_table_use_cases_targets'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='usageevent',
            index=models.Index(condition=models.Q(('kind__in', ('request_submitted', 'step_decided', 'request_approved', 'request_rejected', 'request_cancelled', 'grant_active', 'grant_expired', 'grant_revoked'))), fields=['kind', 'at'], include=('access_request_id', 'data_product', 'domain', 'consumer_team', 'consumer_domain', 'platform', 'classification', 'seconds', 'data'), name='usage_lifecycle_at'),
        ),
        AddIndexConcurrently(
            model_name='usageevent',
            index=models.Index(condition=models.Q(('access_request_id__isnull', False)), fields=['access_request_id', 'kind'], include=('at',), name='usage_request_kind_at'),
        ),
        RemoveIndexConcurrently(
            model_name='usageevent',
            name='usage_request_kind',
        ),
        AddIndexConcurrently(
            model_name='usageevent',
            index=models.Index(condition=models.Q(('kind__in', ('product_view', 'search', 'request_submitted')), ('user__isnull', False)), fields=['at'], include=('user', 'domain'), name='usage_activity'),
        ),
        AddIndexConcurrently(
            model_name='usageevent',
            index=models.Index(condition=models.Q(('kind', 'search')), fields=['at'], include=('result_count', 'query'), name='usage_search_at'),
        ),
    ]
