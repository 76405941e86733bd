"""Governed exposure: which locations of a platform a data product may expose through an output
port, and which it may never expose.

The model (``docs/security.md``, "Governed exposure"):

- **System locations are never exposable**: PostgreSQL's ``pg_catalog``, ``information_schema``
  and every schema starting with ``pg_`` (``pg_toast*``, ``pg_temp*``: PostgreSQL reserves the
  prefix for the system, "Schemas" page of the PostgreSQL docs, 5.10.4); MariaDB's ``mysql``,
  ``information_schema``, ``performance_schema`` and ``sys``; and whatever the platform lists in
  ``Platform.reserved_locations`` (what the portal's service account needs for itself). The output
  port services refuse them (:func:`system_location_refusal`) and the grant adapters refuse them
  again (:func:`is_system_location` through the same function), so a port that reached the
  database some other way still grants nothing there.
- **A product exposes only what its domain was given**: an ``ExposureAssignment`` (made by the
  platform's operators or a steward) gives a location (schema, MariaDB database, or one table) to
  a domain, or to one data product of it. A port on an assigned location of its own domain
  (product) is approved at once; any other port is created *awaiting exposure review*.
- **One location, one owner**: a location already exposed by another product's port is not
  exposed again without a review; once a steward approves it, the strictest classification among
  the products exposing it decides the approval chain of every request on it
  (``apps.access.policy.request_classification``).

Functions here are reads; the writes (ports, decisions, assignments) are in
``apps.catalog.services`` and :func:`exposure_assignment_create` / :func:`exposure_assignment_delete`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet

from apps.catalog.choices import Classification

from .locations import (  # noqa: F401  (part of this module's interface)
    SYSTEM_SCHEMA_PREFIXES,
    SYSTEM_SCHEMAS,
    is_system_location,
    system_location_refusal,
)

#: Classifications from the least to the most strict.
CLASSIFICATION_ORDER = [
    Classification.PUBLIC,
    Classification.INTERNAL,
    Classification.CONFIDENTIAL,
    Classification.RESTRICTED,
]


def _same_database(platform, database: str) -> Q:
    """Rows (with a ``database`` field) naming the same database as ``database`` on ``platform``."""
    effective = database or platform.database
    condition = Q(database=effective)
    if effective == platform.database:
        condition |= Q(database="")
    return condition


def assignment_covering(*, platform, schema: str, table: str = "", database: str = ""):
    """The ``ExposureAssignment`` covering a location: the one for that table, else the one for
    its whole schema; None when nothing is assigned (a schema port is covered only by a schema
    assignment)."""
    from .models import ExposureAssignment

    candidates = ExposureAssignment.objects.filter(_same_database(platform, database), platform=platform, schema=schema)
    candidates = candidates.filter(table__in=[table, ""]) if table else candidates.filter(table="")
    return candidates.select_related("domain", "data_product").order_by("-table").first()


def overlapping_ports(*, platform, schema: str, table: str = "", database: str = "") -> QuerySet:
    """Output ports exposing any part of a location: the same table, or the whole schema (for a
    schema, also every table port in it)."""
    from apps.catalog.models import OutputPort

    ports = OutputPort.objects.filter(_same_database(platform, database), platform=platform, schema=schema)
    if table:
        ports = ports.filter(Q(table="") | Q(table=table))
    return ports


@dataclass
class ExposureVerdict:
    """What :func:`exposure_evaluate` found: ``approved`` when the port may take requests at
    once, else the ``reasons`` a reviewer reads."""

    approved: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return " ".join(self.reasons)


def exposure_evaluate(*, port) -> ExposureVerdict:
    """Whether ``port`` (saved or not) may expose its location without a review.

    Approved when an assignment gives the location to the port's domain (and, if it names a
    product, to the port's product) and no other product has a port on any part of it.
    System locations are not judged here: the services refuse them first
    (:func:`system_location_refusal`).
    """
    product, platform = port.data_product, port.platform
    where = f"{port.location} on {platform.name}"
    reasons = []
    assignment = assignment_covering(platform=platform, schema=port.schema, table=port.table, database=port.database)
    if assignment is None:
        reasons.append(f"{where} is not assigned to any domain.")
    elif assignment.domain_id != product.domain_id:
        reasons.append(f"{where} is assigned to the {assignment.domain} domain, not to {product.domain}.")
    elif assignment.data_product_id and assignment.data_product_id != product.pk:
        reasons.append(f"{where} is assigned to the data product {assignment.data_product}, not to {product}.")
    others = overlapping_ports(platform=platform, schema=port.schema, table=port.table, database=port.database)
    others = others.exclude(data_product=product).select_related("data_product")
    if port.pk:
        others = others.exclude(pk=port.pk)
    names = sorted({str(p.data_product) for p in others})
    if names:
        reasons.append(f"{where} is already exposed by {', '.join(names)}: a second owner needs a steward's approval.")
    return ExposureVerdict(approved=not reasons, reasons=reasons)


def strictest_classification(classifications) -> str:
    """The strictest of ``classifications`` (values of ``Classification``)."""
    return max(classifications, key=CLASSIFICATION_ORDER.index)


def exposure_may_decide(*, user, port) -> bool:
    """Who decides a port's exposure review: governance stewards and the operators of the
    port's platform, but never a member of the product's owner team (no self-approval)."""
    from .selectors import platform_can_operate

    if not user.is_authenticated:
        return False
    if port.data_product.owner_team.memberships.filter(user=user).exists():
        return False
    return bool(user.is_steward or platform_can_operate(user=user, platform=port.platform))


def exposure_may_assign(*, user, platform) -> bool:
    """Who assigns a platform's locations: its operators and governance stewards."""
    from .selectors import platform_can_operate

    return user.is_authenticated and bool(user.is_steward or platform_can_operate(user=user, platform=platform))


def exposure_reviewers(*, port) -> list:
    """Who is told about a pending exposure review: stewards and the platform's operators."""
    from apps.accounts.choices import STEWARDS_GROUP, TeamRole
    from apps.accounts.models import User

    condition = Q(groups__name=STEWARDS_GROUP)
    if port.platform.owner_team_id:
        condition |= Q(memberships__team=port.platform.owner_team_id, memberships__role=TeamRole.OWNER)
    return list(User.objects.filter(condition, is_active=True).distinct().order_by("pk"))


def exposure_review_list(*, user, status: str = "pending_review") -> QuerySet:
    """Output ports with exposure ``status`` that ``user`` may review (see
    :func:`exposure_may_decide`): every one for a steward, those on the platforms they operate for
    an operator; never their own team's. Newest first."""
    from apps.accounts.choices import TeamRole
    from apps.catalog.models import OutputPort

    if not user.is_authenticated:
        return OutputPort.objects.none()
    ports = OutputPort.objects.filter(exposure_status=status).exclude(data_product__owner_team__memberships__user=user)
    if not (user.is_steward or user.has_perm("platforms.change_platform")):
        ports = ports.filter(
            platform__owner_team__memberships__user=user, platform__owner_team__memberships__role=TeamRole.OWNER
        )
    return ports.select_related("platform", "data_product__domain", "exposure_decided_by").order_by(
        "-updated_at", "-pk"
    )


def exposure_review_get(*, user, pk: int):
    """One port ``user`` may review (any exposure status); ``Http404`` otherwise."""
    from django.http import Http404

    from apps.catalog.models import OutputPort

    port = OutputPort.objects.select_related("platform", "data_product__owner_team").filter(pk=pk).first()
    if port is None or not exposure_may_decide(user=user, port=port):
        raise Http404("No such exposure review.")
    return port


def exposure_assignment_list(*, platform) -> QuerySet:
    from .models import ExposureAssignment

    return (
        ExposureAssignment.objects.filter(platform=platform)
        .select_related("domain", "data_product", "assigned_by")
        .order_by("database", "schema", "table")
    )


# --- assignments (writes) ------------------------------------------------------------------------


def _audit(**kwargs) -> None:
    from apps.audit.services import audit_record  # access sits above platforms: imported at call time

    audit_record(**kwargs)


@transaction.atomic
def exposure_assignment_create(
    *, actor, platform, schema: str, domain, data_product=None, table: str = "", database: str = ""
):
    """Assign a location of ``platform`` to ``domain`` (or to ``data_product`` of it): its ports
    there are then approved exposures, and with a product sync keeps a port there (a mapping rule).

    Raises ``PermissionDenied`` unless ``actor`` is an operator of the platform or a steward
    (``actor=None``: the system, e.g. the demo loader); django ``ValidationError`` with field
    errors for a system or reserved location, a product of another domain, or a location already
    assigned. Audited as ``exposure_assignment.created``.
    """
    from .models import ExposureAssignment

    if actor is not None and not exposure_may_assign(user=actor, platform=platform):
        raise PermissionDenied("Only the platform's operators and stewards assign its locations.")
    assignment = ExposureAssignment(
        platform=platform,
        schema=schema,
        table=table,
        database=database,
        domain=domain,
        data_product=data_product,
        assigned_by=actor,
    )
    assignment.full_clean()
    assignment.save()
    _audit(
        actor=actor,
        action="exposure_assignment.created",
        obj=assignment,
        after={
            "platform": platform.slug,
            "location": assignment.location,
            "domain": str(domain),
            "data_product": str(data_product or ""),
        },
    )
    return assignment


@transaction.atomic
def exposure_assignment_delete(*, actor, assignment) -> None:
    """Withdraw an assignment. Ports already approved stay approved (their grants are the
    owners' to revoke); new ports there need a review. Same permission as creating; audited
    as ``exposure_assignment.deleted``."""
    if actor is not None and not exposure_may_assign(user=actor, platform=assignment.platform):
        raise PermissionDenied("Only the platform's operators and stewards assign its locations.")
    _audit(
        actor=actor,
        action="exposure_assignment.deleted",
        obj=assignment,
        before={
            "platform": assignment.platform.slug,
            "location": assignment.location,
            "domain": str(assignment.domain),
            "data_product": str(assignment.data_product or ""),
        },
    )
    assignment.delete()
