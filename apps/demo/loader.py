"""The demo: AdventureWorks as a PostgreSQL "warehouse" platform with five domains.

Each of AdventureWorks' five business schemas becomes a domain with one data product whose
output port is that schema, owned by a domain team. Demo users: a business user, an owner per
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
from apps.platforms.models import Platform, PlatformIdentity

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
    "humanresources": ("Human Resources", "human-resources", "hr-data", "Employees and pay history", "employees-and-pay-history",
                       "Employees, departments, shifts, job candidates and the history of pay rates (salary).",
                       "confidential", ["hr", "employees", "salary", "payroll"]),
    "person": ("Person", "person", "person-data", "Persons and contacts", "persons-and-contacts",
               "People, addresses, e-mail addresses, phone numbers and business entities.",
               "restricted", ["pii", "customers", "contacts"]),
    "production": ("Production", "production", "production-data", "Products and manufacturing", "products-and-manufacturing",
                   "Product catalog, categories, bills of materials, inventory, work orders and reviews.",
                   "internal", ["products", "inventory", "manufacturing"]),
    "purchasing": ("Purchasing", "purchasing", "purchasing-data", "Vendors and purchase orders", "vendors-and-purchase-orders",
                   "Vendors, what they supply, and purchase orders with their lines.",
                   "internal", ["vendors", "procurement"]),
    "sales": ("Sales", "sales", "sales-data", "Sales orders and customers", "sales-orders-and-customers",
              "Customers, sales orders and their lines, territories, sales people, quotas and currency rates.",
              "public", ["sales", "orders", "customers", "revenue"]),
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
    return psycopg.conninfo.make_conninfo(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                                          password=db["PASSWORD"] or None, dbname="mesh_warehouse")


def _ensure_database(conninfo: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    dbname = info.pop("dbname")
    with psycopg.connect(psycopg.conninfo.make_conninfo(**info, dbname="postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def demo_load(*, warehouse_url: str | None = None, enqueue_sync: bool = True) -> DemoResult:
    """Load everything; returns what it loaded. Raises psycopg.Error if the warehouse is unreachable."""
    conninfo = psycopg.conninfo.make_conninfo(warehouse_url or default_warehouse_url())
    _ensure_database(conninfo)
    if not is_loaded(conninfo):
        load_adventureworks(conninfo)
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    result = DemoResult(warehouse_label=f"{info.get('host', 'localhost')}/{info['dbname']}")
    with transaction.atomic():
        teams = _teams()
        users = _users(teams)
        platform = _platform(info, teams["data-platform"])
        result.products = _products(platform, teams)
        _identities(platform, users, conninfo)
        access_services.access_policy_ensure_defaults()  # default access policies and purposes
    if enqueue_sync:
        from apps.platforms.tasks import platform_sync_task

        transaction.on_commit(lambda: platform_sync_task.delay(platform.pk))
    return result


def _teams() -> dict[str, Team]:
    teams = {}
    for slug, name, description in TEAMS:
        teams[slug] = Team.objects.filter(slug=slug).first() or account_services.team_create(
            name=name, slug=slug, description=description
        )
    return teams


def _users(teams: dict[str, Team]) -> dict[str, User]:
    stewards, _ = Group.objects.get_or_create(name=STEWARDS_GROUP)
    stewards.permissions.add(*Permission.objects.filter(
        codename__in=["view_accessrequest", "view_auditevent", "view_dataproduct", "view_grant"]))
    executives, _ = Group.objects.get_or_create(name=EXECUTIVES_GROUP)
    users = {}
    for username, first, last, title, team_slug, role in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, first_name=first, last_name=last, title=title,
                        email=f"{username}@example.com")
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
            name=domain_name, slug=domain_slug, owner_team=team,
            description=f"The {domain_name} domain of Adventure Works Cycles.",
        )
        product = DataProduct.objects.filter(slug=slug).first() or catalog_services.data_product_create(
            name=name, slug=slug, domain=domain, owner_team=team, summary=summary, status="published",
            classification=classification, tags=tags,
            description=(
                f"## {name}\n\n{summary}\n\nSource: the `{schema}` schema of the AdventureWorks warehouse. "
                "Tables and columns below come from the warehouse's own comments, synced by Mesh Portal.\n\n"
                "| | |\n|---|---|\n| Refresh | daily |\n| Support | the owning team's channel |\n"
            ),
            terms_of_use="Use for the stated purpose only. Do not copy the data outside the warehouse.",
        )
        if not OutputPort.objects.filter(data_product=product).exists():
            catalog_services.output_port_create(
                data_product=product, name=f"{schema} schema", platform=platform, schema=schema,
                description=f"Every table and view of the `{schema}` schema, read-only (SELECT).",
            )
        products.append(product)
    return products


def _identities(platform: Platform, users: dict[str, User], conninfo: str) -> None:
    """Each demo user gets a LOGIN on the warehouse (what a DBA would create) and a mapping to it."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for username, user in users.items():
            principal = f"demo_{username}"
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [principal]).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(principal), sql.Literal(DEMO_PASSWORD)))
            PlatformIdentity.objects.get_or_create(user=user, platform=platform, defaults={"principal": principal})


def logins_table() -> str:
    lines = ["", "Demo logins (password for all: %s)" % DEMO_PASSWORD, ""]
    for username, first, last, title, team_slug, _ in USERS:
        lines.append(f"  {username:<7} {title}")
    lines += ["", "Warehouse logins for consumers: demo_<username> with the same password.", ""]
    return "\n".join(lines)
