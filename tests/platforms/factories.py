"""Factories for platforms and their sync runs."""

from __future__ import annotations

import factory

from apps.platforms.choices import PlatformKind, SyncRunStatus
from apps.platforms.models import ExposureAssignment, Platform, SyncRun


class PlatformFactory(factory.django.DjangoModelFactory):
    """A PostgreSQL platform on the local server; point it at a database with ``database=``."""

    class Meta:
        model = Platform

    slug = factory.Sequence(lambda n: f"platform-{n}")
    name = factory.Sequence(lambda n: f"Platform {n}")
    kind = PlatformKind.POSTGRESQL
    host = "127.0.0.1"
    port = 5432
    database = "postgres"
    username = "postgres"
    include_schemas = factory.LazyFunction(list)
    sync_enabled = True
    sync_interval_minutes = 60


class SyncRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncRun

    platform = factory.SubFactory(PlatformFactory)
    status = SyncRunStatus.SUCCEEDED


class ExposureAssignmentFactory(factory.django.DjangoModelFactory):
    """An exposure assignment (and mapping rule) of a schema of a platform to a data product (and its domain)."""

    class Meta:
        model = ExposureAssignment

    platform = factory.SubFactory(PlatformFactory)
    schema = "public"
    data_product = factory.SubFactory("tests.catalog.factories.DataProductFactory")
    domain = factory.LazyAttribute(lambda o: o.data_product.domain if o.data_product else None)
