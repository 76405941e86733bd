"""The demo: AdventureWorks as a PostgreSQL "warehouse" platform with five domains.

Each of AdventureWorks' five business schemas becomes a domain with one data product, owned by
a domain team, and an exposure assignment (``ExposureAssignment``, also a mapping rule) of the schema to
that domain and product; applying the rules gives each product its approved output port on the schema. Demo users: a business user, an owner per
domain, a governance steward, an executive and an admin. Every step checks what exists first,
so running it twice changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from psycopg import sql

from apps.access import services as access_services
from apps.accounts import services as account_services
from apps.accounts.choices import EXECUTIVES_GROUP, STEWARDS_GROUP, TeamRole
from apps.accounts.models import Team, User
from apps.catalog import services as catalog_services
from apps.catalog.models import DataProduct, Domain, OutputPort
from apps.platforms.exposure import exposure_assignment_create
from apps.platforms.models import ExposureAssignment, Platform, PlatformIdentity
from apps.sync.services import schema_mapping_apply

from . import warehouse_rows
from .warehouse import BUSINESS_SCHEMAS, is_loaded, load_adventureworks

DEMO_PASSWORD = "mesh-demo"
PLATFORM_SLUG = "adventureworks-warehouse"

# (username, first, last, title, team slug or None, role)
USERS = [
    ("ana", "Ana", "Analyst", "Marketing analyst (business user)", "marketing-analytics", TeamRole.MEMBER),
    ("hana", "Hana", "Hughes", "HR data product owner", "hr-data", TeamRole.OWNER),
    ("pete", "Pete", "Park", "Person data product owner", "person-data", TeamRole.OWNER),
    ("olga", "Olga", "Ortiz", "Production data product owner", "production-data", TeamRole.OWNER),
    ("uma", "Uma", "Udall", "Purchasing data product owner", "purchasing-data", TeamRole.OWNER),
    ("sam", "Sam", "Silva", "Sales data product owner", "sales-data", TeamRole.OWNER),
    ("greta", "Greta", "Gold", "Governance steward", "governance", TeamRole.MEMBER),
    ("eric", "Eric", "Exec", "Chief data officer (executive)", None, TeamRole.MEMBER),
    ("admin", "Ada", "Admin", "Platform administrator", "data-platform", TeamRole.OWNER),
]

TEAMS = [
    ("marketing-analytics", "Marketing Analytics", "Consumes customer and sales data for campaigns."),
    ("hr-data", "HR Data Team", "Owns people, positions and pay data."),
    ("person-data", "Person Data Team", "Owns the master data of persons, addresses and contacts."),
    ("production-data", "Production Data Team", "Owns products, bills of materials, inventory and work orders."),
    ("purchasing-data", "Purchasing Data Team", "Owns vendors and purchase orders."),
    ("sales-data", "Sales Data Team", "Owns customers, orders, territories and sales people."),
    ("governance", "Governance", "Data governance stewards."),
    ("data-platform", "Data Platform Team", "Runs the warehouse and the portal."),
]

# schema -> (domain name, domain slug, team slug, product name, product slug, summary, classification, tags)
PRODUCTS = {
    "humanresources": (
        "Human Resources",
        "human-resources",
        "hr-data",
        "Employees and pay history",
        "employees-and-pay-history",
        "Employees, departments, shifts, job candidates and the history of pay rates (salary).",
        "confidential",
        ["hr", "employees", "salary", "payroll"],
    ),
    "person": (
        "Person",
        "person",
        "person-data",
        "Persons and contacts",
        "persons-and-contacts",
        "People, addresses, e-mail addresses, phone numbers and business entities.",
        "restricted",
        ["pii", "customers", "contacts"],
    ),
    "production": (
        "Production",
        "production",
        "production-data",
        "Products and manufacturing",
        "products-and-manufacturing",
        "Product catalog, categories, bills of materials, inventory, work orders and reviews.",
        "internal",
        ["products", "inventory", "manufacturing"],
    ),
    "purchasing": (
        "Purchasing",
        "purchasing",
        "purchasing-data",
        "Vendors and purchase orders",
        "vendors-and-purchase-orders",
        "Vendors, what they supply, and purchase orders with their lines.",
        "internal",
        ["vendors", "procurement"],
    ),
    "sales": (
        "Sales",
        "sales",
        "sales-data",
        "Sales orders and customers",
        "sales-orders-and-customers",
        "Customers, sales orders and their lines, territories, sales people, quotas and currency rates.",
        "public",
        ["sales", "orders", "customers", "revenue"],
    ),
}


@dataclass
class DemoResult:
    warehouse_label: str
    products: list[DataProduct] = field(default_factory=list)


def default_warehouse_url() -> str:
    """``DEMO_WAREHOUSE_URL``, else the embedded cluster's ``warehouse`` database, else the
    portal's own server with database ``mesh_warehouse``."""
    if os.environ.get("DEMO_WAREHOUSE_URL"):
        return os.environ["DEMO_WAREHOUSE_URL"]
    if not os.environ.get("DATABASE_URL"):
        from mesh_portal import embedded

        return embedded.postgres_url(embedded.WAREHOUSE_DB)
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="mesh_warehouse",
    )


def _ensure_database(conninfo: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    dbname = info.pop("dbname")
    with psycopg.connect(psycopg.conninfo.make_conninfo(**info, dbname="postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def demo_load(
    *, warehouse_url: str | None = None, enqueue_sync: bool = True, quality_history: bool = True
) -> DemoResult:
    """Load everything; returns what it loaded. Raises psycopg.Error if the warehouse is unreachable.

    The warehouse gets the AdventureWorks schema and generated rows (``warehouse_rows``), each
    demo product a data contract, and with ``quality_history`` the last hours of quality runs
    (:func:`demo_quality_history`)."""
    conninfo = psycopg.conninfo.make_conninfo(warehouse_url or default_warehouse_url())
    _ensure_database(conninfo)
    if not is_loaded(conninfo):
        load_adventureworks(conninfo)
    if not warehouse_rows.rows_loaded(conninfo):
        warehouse_rows.load_rows(conninfo)  # generated rows (fixed seed): the contracts' rules measure something
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    result = DemoResult(warehouse_label=f"{info.get('host', 'localhost')}/{info['dbname']}")
    with transaction.atomic():
        teams = _teams()
        users = _users(teams)
        platform = _platform(info, teams["data-platform"])
        result.products = _products(platform, teams)
        _exposure_review(platform, users)
        _identities(platform, users, conninfo)
        access_services.access_policy_ensure_defaults()  # default access policies and purposes
    if enqueue_sync:
        from apps.sync.tasks import platform_sync_task

        transaction.on_commit(lambda: platform_sync_task.delay(platform.pk), robust=True)
    result.products.append(_jaffle_shop_demo(conninfo=conninfo, enqueue_sync=enqueue_sync))
    product_ids = _contracts()
    if quality_history:
        demo_quality_history(product_ids=product_ids)
    return result


#: Demo data contracts (apps/demo/contracts/): product slug -> (file, publishing owner). With the
#: generated warehouse rows (``warehouse_rows``) the demo shows every state of a contract:
CONTRACTS = {
    "employees-and-pay-history": ("humanresources.odcs.yaml", "hana"),  # rules and latency SLA pass, no drift
    "persons-and-contacts": ("persons.odcs.yaml", "pete"),  # drifts from the warehouse
    "products-and-manufacturing": ("products.odcs.yaml", "olga"),  # rules pass
    "vendors-and-purchase-orders": ("vendors.odcs.yaml", "uma"),  # rules pass
    "sales-orders-and-customers": ("sales.odcs.yaml", "sam"),  # a rule fails: an open incident
    "customer-orders": ("customer-orders.odcs.yaml", "sam"),  # jaffle_shop: rules pass
}
#: Quality runs the demo starts with, one an hour up to now (the beat's default interval), so
#: the quality tab shows trends from the first minute.
QUALITY_HISTORY_RUNS = 6


def _contracts() -> list[int]:
    """Publish each demo product's data contract through the one import service (idempotent:
    an unchanged file writes nothing); returns the products' ids. Drift is checked after each
    platform sync."""
    from pathlib import Path

    from apps.contracts.choices import ImportSource
    from apps.contracts.services import data_contract_publish

    folder = Path(__file__).with_name("contracts")
    product_ids = []
    with transaction.atomic():
        for slug, (filename, owner) in CONTRACTS.items():
            result = data_contract_publish(
                actor=User.objects.get(username=owner),
                contract=(folder / filename).read_text(),
                data_product=slug,
                source=ImportSource.DEMO,
            )
            product_ids.append(result.data_product.pk)
    return product_ids


def demo_quality_history(*, product_ids: list[int], runs: int = QUALITY_HISTORY_RUNS, now=None) -> int:
    """Run each product's contract quality rules ``runs`` times, one hour apart, ending at
    ``now`` (default: now), through the real service (``contract_quality_run``: real queries on
    the warehouse, results, incidents and notifications as a scheduled run writes them; the
    clock is moved with ``time-machine`` so each run is stamped with its hour). Products that
    have a quality run already are left alone (idempotent). Returns the number of runs."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from apps.contracts.models import QualityRun
    from apps.contracts.services import contract_quality_run

    now = now or timezone.now()
    done = set(QualityRun.objects.filter(data_product_id__in=product_ids).values_list("data_product_id", flat=True))
    count = 0
    for hours_ago in range(runs - 1, -1, -1):
        with time_machine.travel(now - timedelta(hours=hours_ago), tick=False):
            for product_id in product_ids:
                if product_id not in done and contract_quality_run(product_id=product_id) is not None:
                    count += 1
    return count


def _teams() -> dict[str, Team]:
    teams = {}
    for slug, name, description in TEAMS:
        teams[slug] = Team.objects.filter(slug=slug).first() or account_services.team_create(
            name=name, slug=slug, description=description
        )
    return teams


def _users(teams: dict[str, Team]) -> dict[str, User]:
    stewards, _ = Group.objects.get_or_create(name=STEWARDS_GROUP)
    stewards.permissions.add(
        *Permission.objects.filter(
            codename__in=["view_accessrequest", "view_auditevent", "view_dataproduct", "view_grant"]
        )
    )
    executives, _ = Group.objects.get_or_create(name=EXECUTIVES_GROUP)
    users = {}
    for username, first, last, title, team_slug, role in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username, first_name=first, last_name=last, title=title, email=f"{username}@example.com"
            )
            user.set_password(DEMO_PASSWORD)
            if username == "admin":
                user.is_staff = user.is_superuser = True
            user.save()
        if team_slug:
            account_services.team_membership_set(team=teams[team_slug], user=user, role=role)
        users[username] = user
    users["greta"].groups.add(stewards)
    users["eric"].groups.add(executives)
    return users


def _platform(info: dict, owner_team: Team) -> Platform:
    platform = Platform.objects.filter(slug=PLATFORM_SLUG).first() or Platform(slug=PLATFORM_SLUG)
    platform.name = "AdventureWorks warehouse"
    platform.kind = "postgresql"
    platform.description = "The AdventureWorks OLTP schema (lorint/AdventureWorks-for-Postgres) as the demo warehouse."
    platform.owner_team = owner_team
    platform.host = info.get("host", "")
    platform.port = int(info["port"]) if info.get("port") else None
    platform.database = info["dbname"]
    platform.username = info.get("user", "postgres")
    platform.include_schemas = list(BUSINESS_SCHEMAS)
    platform.sync_interval_minutes = 15
    if info.get("password"):
        platform.set_password(info["password"])
    platform.full_clean()
    platform.save()
    return platform


def _products(platform: Platform, teams: dict[str, Team]) -> list[DataProduct]:
    products = []
    for schema, (domain_name, domain_slug, team_slug, name, slug, summary, classification, tags) in PRODUCTS.items():
        team = teams[team_slug]
        domain = Domain.objects.filter(slug=domain_slug).first() or catalog_services.domain_create(
            name=domain_name,
            slug=domain_slug,
            owner_team=team,
            description=f"The {domain_name} domain of Adventure Works Cycles.",
        )
        product = DataProduct.objects.filter(slug=slug).first() or catalog_services.data_product_create(
            name=name,
            slug=slug,
            domain=domain,
            owner_team=team,
            summary=summary,
            status="published",
            classification=classification,
            tags=tags,
            description=(
                f"Source: the `{schema}` schema of the AdventureWorks warehouse. "
                "Tables and columns below come from the warehouse's own comments, synced by Mesh Portal.\n\n"
                f"| | |\n|---|---|\n| Refresh | daily |\n| Questions | {team.name}, the owners listed on this page |\n"
            ),
            terms_of_use="Use for the stated purpose only. Do not copy the data outside the warehouse.",
        )
        # An exposure assignment that is also a mapping rule rather than a port made by hand: the
        # product may expose the schema, and the sync keeps its port there, so tables created
        # there later show on the product too.
        if not ExposureAssignment.objects.filter(platform=platform, schema=schema, table="").exists():
            exposure_assignment_create(
                actor=None, platform=platform, schema=schema, domain=domain, data_product=product
            )
        products.append(product)
    schema_mapping_apply(platform=platform)
    return products


def _exposure_review(platform: Platform, users: dict[str, User]) -> OutputPort:
    """One port awaiting an exposure review, for greta (steward) and admin (operator) to decide:
    sam's Public sales product asks to expose a table of the Restricted person schema, which the
    platform team assigned to the Person domain and the Persons product already exposes."""
    sales = DataProduct.objects.get(slug=PRODUCTS["sales"][4])
    port = OutputPort.objects.filter(data_product=sales, name="Store contacts").first()
    return port or catalog_services.output_port_create(
        actor=users["sam"],
        data_product=sales,
        name="Store contacts",
        platform=platform,
        schema="person",
        table="businessentitycontact",
        port_type="table",
        description="Who to call at each store (asked by the Sales team for its account managers).",
    )


def _identities(platform: Platform, users: dict[str, User], conninfo: str) -> None:
    """Each demo user gets a LOGIN on the warehouse (what a DBA would create) and a mapping to it."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for username, user in users.items():
            principal = f"demo_{username}"
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [principal]).fetchone():
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(principal), sql.Literal(DEMO_PASSWORD)
                    )
                )
            PlatformIdentity.objects.get_or_create(user=user, platform=platform, defaults={"principal": principal})


def logins_table() -> str:
    lines = ["", f"Demo logins (password for all: {DEMO_PASSWORD})", ""]
    for username, _first, _last, title, _team_slug, _ in USERS:
        lines.append(f"  {username:<7} {title}")
    lines += ["", "Warehouse logins for consumers: demo_<username> with the same password.", ""]
    return "\n".join(lines)


# -- jaffle_shop: a dbt project over its own warehouse database ------------------------------

JAFFLE_WAREHOUSE_SLUG = "jaffle-shop-warehouse"
JAFFLE_DBT_SLUG = "jaffle-shop-dbt"
JAFFLE_PRODUCT_SLUG = "customer-orders"


def jaffle_shop_conninfo(warehouse_conninfo: str) -> str:
    """The jaffle_shop database: on the warehouse's server, named ``<warehouse db>_jaffle_shop``."""
    info = psycopg.conninfo.conninfo_to_dict(warehouse_conninfo)
    info["dbname"] = f"{info['dbname']}_jaffle_shop"
    return psycopg.conninfo.make_conninfo(**info)


def _jaffle_shop_demo(*, conninfo: str, enqueue_sync: bool) -> DataProduct:
    """dbt's jaffle_shop built into its own database (``apps.demo.jaffle_shop``), registered as
    a PostgreSQL platform plus a dbt platform reading ``shared/datasets/jaffle_shop/target``,
    both syncing every 15 minutes; the "Customer orders" data product (Sales domain) has the
    ``customers`` and ``orders`` models as table output ports."""
    from apps.platforms.choices import PlatformKind

    from . import jaffle_shop

    jaffle_conninfo = jaffle_shop_conninfo(conninfo)
    _ensure_database(jaffle_conninfo)
    if not jaffle_shop.is_loaded(jaffle_conninfo):
        jaffle_shop.load_jaffle_shop(jaffle_conninfo)
    info = psycopg.conninfo.conninfo_to_dict(jaffle_conninfo)
    with transaction.atomic():
        team = Team.objects.get(slug="sales-data")
        platform_team = Team.objects.get(slug="data-platform")
        warehouse = _platform_upsert(
            JAFFLE_WAREHOUSE_SLUG,
            name="Jaffle Shop warehouse",
            kind=PlatformKind.POSTGRESQL,
            description="The jaffle_shop shop's PostgreSQL database, built by its dbt project.",
            owner_team=platform_team,
            host=info.get("host", ""),
            port=int(info["port"]) if info.get("port") else None,
            database=info["dbname"],
            username=info.get("user", "postgres"),
            include_schemas=[jaffle_shop.SCHEMA],
            sync_interval_minutes=15,
        )
        if info.get("password"):
            warehouse.set_password(info["password"])
            warehouse.save(update_fields=["password_encrypted"])
        _platform_upsert(
            JAFFLE_DBT_SLUG,
            name="Jaffle Shop dbt project",
            kind=PlatformKind.DBT,
            description="dbt-labs/jaffle-shop-classic: models, docs, tests and lineage from its artifacts.",
            owner_team=platform_team,
            warehouse=warehouse,
            database="jaffle_shop",
            dbt_artifacts_path=str(jaffle_shop.jaffle_shop_path() / "target"),
            sync_interval_minutes=15,
        )
        domain = Domain.objects.get(slug="sales")
        product = DataProduct.objects.filter(slug=JAFFLE_PRODUCT_SLUG).first() or catalog_services.data_product_create(
            name="Customer orders",
            slug=JAFFLE_PRODUCT_SLUG,
            domain=domain,
            owner_team=team,
            status="published",
            summary="Every order of the jaffle shop with its payments, and each customer's order history and lifetime value.",
            classification="internal",
            tags=["orders", "customers", "dbt"],
            description=(
                "## Customer orders\n\nBuilt by the jaffle_shop dbt project from the shop's raw orders, customers "
                "and payments. Descriptions, column docs, tests and lineage below come from the dbt artifacts; "
                "tables and types from the database.\n"
            ),
            terms_of_use="Internal reporting only. Customer names are PII: do not export them.",
        )
        # The dbt project's schema belongs to the Sales domain (no product named: not a mapping
        # rule, the product exposes two of its models as table ports).
        if not ExposureAssignment.objects.filter(platform=warehouse, schema=jaffle_shop.SCHEMA, table="").exists():
            exposure_assignment_create(actor=None, platform=warehouse, schema=jaffle_shop.SCHEMA, domain=domain)
        for table in ("customers", "orders"):
            if not OutputPort.objects.filter(data_product=product, name=table).exists():
                catalog_services.output_port_create(
                    actor=None,
                    data_product=product,
                    name=table,
                    platform=warehouse,
                    schema=jaffle_shop.SCHEMA,
                    table=table,
                    port_type="table",
                    description=f"The `{table}` model, read-only (SELECT).",
                )
    if enqueue_sync:
        from apps.sync.tasks import platform_sync_task

        # The warehouse first, so the dbt sync finds its tables (a later scheduled run would anyway).
        dbt_platform_id = Platform.objects.get(slug=JAFFLE_DBT_SLUG).pk
        transaction.on_commit(lambda: platform_sync_task.delay(warehouse.pk), robust=True)
        transaction.on_commit(lambda: platform_sync_task.apply_async((dbt_platform_id,), countdown=10), robust=True)
    return product


def _platform_upsert(slug: str, **fields) -> Platform:
    platform = Platform.objects.filter(slug=slug).first() or Platform(slug=slug)
    for name, value in fields.items():
        setattr(platform, name, value)
    platform.full_clean()
    platform.save()
    return platform
