"""Policy evaluation: which rule applies to an access request and which approval chain it makes.

Pure reads (no writes): ``apps.access.services`` calls :func:`approval_plan` when a request is
submitted and stores the result (the policy version and the steps) on the request.

Rules (defaults in :data:`DEFAULT_POLICIES`, edited by stewards as data):
Public → auto-approve; Internal → auto-approve when the consumer is in the product's domain,
else the owner team; Confidential → owner team; Restricted → owner team, then a governance
steward. A data contract's ``roles[].firstLevelApprovers`` / ``secondLevelApprovers`` (ODCS v3.1,
"Roles" section: free-text names) replace the owner step when they name known users or teams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q

from apps.accounts.models import Team, User
from apps.catalog.choices import Classification, DataProductStatus, ExposureStatus
from apps.catalog.models import DataProduct, OutputPort
from apps.catalog.selectors import data_product_contract
from apps.core.exceptions import ApplicationError
from apps.platforms.exposure import overlapping_ports, strictest_classification

from .choices import ApprovalStepKind, AutoApprove
from .models import AccessPolicy

K = ApprovalStepKind

#: Purposes the governance team starts with: slug -> (name, description).
DEFAULT_PURPOSES = {
    "analytics": ("Analytics and reporting", "Dashboards, reports and ad-hoc analysis."),
    "product-development": ("Product development", "Building or testing a product or feature."),
    "data-science": ("Data science and machine learning", "Training and evaluating models."),
    "operations": ("Business operations", "Running a day-to-day business process."),
    "regulatory-reporting": ("Regulatory reporting", "Reports a regulator or the law requires."),
    "audit": ("Audit and compliance", "Internal or external audit, compliance checks."),
}

#: The policy each classification starts with (version 1).
DEFAULT_POLICIES = {
    Classification.PUBLIC: dict(
        auto_approve=AutoApprove.ALWAYS,
        approval_steps=[],
        max_duration_days=None,
        allow_permanent=True,
        sla_business_days=2,
        purposes=[],
    ),
    Classification.INTERNAL: dict(
        auto_approve=AutoApprove.SAME_DOMAIN,
        approval_steps=[K.OWNER],
        max_duration_days=365,
        allow_permanent=True,
        sla_business_days=2,
        purposes=[],
    ),
    Classification.CONFIDENTIAL: dict(
        auto_approve=AutoApprove.NEVER,
        approval_steps=[K.OWNER],
        max_duration_days=180,
        allow_permanent=False,
        sla_business_days=2,
        purposes=[],
    ),
    Classification.RESTRICTED: dict(
        auto_approve=AutoApprove.NEVER,
        approval_steps=[K.OWNER, K.STEWARD],
        max_duration_days=90,
        allow_permanent=False,
        sla_business_days=2,
        purposes=["regulatory-reporting", "audit", "operations"],
    ),
}

_NO_APPROVER = {"", "na", "n/a", "none", "-"}


@dataclass
class StepPlan:
    """One planned approval step (see ``ApprovalStep``)."""

    kind: str
    label: str
    team: Team | None = None
    users: list[User] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label}


@dataclass
class ApprovalPlan:
    policy: AccessPolicy
    steps: list[StepPlan]
    source: str

    @property
    def auto_approved(self) -> bool:
        return not self.steps


def in_domain(*, user: User, team: Team | None, product: DataProduct) -> bool:
    """Whether the consumer is "in the product's domain": the team on whose behalf they ask (or,
    asking for themselves, any team they belong to), the requester being a member of it, owns
    the domain or a *published* data product in it. A draft (or retired) product does not count:
    anyone who may create products could otherwise make one in the target domain to get
    Internal data approved at once."""
    teams = Team.objects.filter(memberships__user=user)
    if team is not None:
        teams = teams.filter(pk=team.pk)
    owns_product = Q(data_products__domain=product.domain_id, data_products__status=DataProductStatus.PUBLISHED)
    return teams.filter(Q(owned_domains=product.domain_id) | owns_product).exists()


def request_classification(*, output_port: OutputPort) -> str:
    """The classification whose policy decides a request on ``output_port``: the strictest among
    the products whose approved ports expose any part of the same place (one location, one
    owner: a second exposure is approved by a steward, and then the strictest decides).

    Raises ``ApplicationError`` (field ``output_port``) when the port's exposure is awaiting
    review or was rejected: no access request can target it.
    """
    # Read from the database, not the object passed in: a decision may have come since it was loaded.
    status = OutputPort.objects.filter(pk=output_port.pk).values_list("exposure_status", flat=True).first()
    if status != ExposureStatus.APPROVED:
        output_port.exposure_status = status or output_port.exposure_status
        message = (
            f"{output_port.name} is {output_port.get_exposure_status_display().lower()}: it takes no access "
            "requests until a platform operator or steward approves what it exposes."
        )
        raise ApplicationError(message, {"output_port": [message]})
    others = overlapping_ports(
        platform=output_port.platform, schema=output_port.schema, table=output_port.table, database=output_port.database
    ).filter(exposure_status=ExposureStatus.APPROVED)
    found = set(others.values_list("data_product__classification", flat=True))
    return strictest_classification(found | {output_port.data_product.classification})


def policy_violations(
    *, policy: AccessPolicy, purpose_category, expires_at: datetime | None, now: datetime
) -> dict[str, list[str]]:
    """Field errors for a request the policy does not allow (purpose, duration)."""
    errors: dict[str, list[str]] = {}
    label = policy.get_classification_display().lower()
    allowed = list(policy.allowed_purposes.all())
    if allowed and (purpose_category is None or purpose_category not in allowed):
        names = ", ".join(p.name for p in allowed)
        errors["purpose_category"] = [f"For {label} data the purpose must be one of: {names}."]
    elif purpose_category is not None and not purpose_category.active:
        errors["purpose_category"] = [f"{purpose_category.name} is no longer offered; pick another purpose."]
    if expires_at is None and not policy.allow_permanent:
        errors["expires_at"] = [f"Permanent access is not allowed for {label} data; pick an end date."]
    elif expires_at is not None and policy.max_duration_days is not None:
        limit = now + timedelta(days=policy.max_duration_days, hours=24)  # the whole last day counts
        if expires_at > limit:
            errors["expires_at"] = [
                f"{label.capitalize()} data can be granted for at most {policy.max_duration_days} days."
            ]
    return errors


def _resolve(names: str) -> tuple[Team | None, list[User], list[str]]:
    """Resolve ODCS approver names (comma/semicolon separated) to a team and/or users by team
    slug or name, username or email. Returns (team, users, unresolved names)."""
    team, users, unknown = None, [], []
    for name in (n.strip() for n in re.split(r"[,;]", names or "")):
        if name.lower() in _NO_APPROVER:
            continue
        found_team = Team.objects.filter(Q(slug__iexact=name) | Q(name__iexact=name)).first()
        if found_team is not None and team is None:
            team = found_team
            continue
        user = User.objects.filter(Q(username__iexact=name) | Q(email__iexact=name), is_active=True).first()
        if user is not None:
            users.append(user)
        else:
            unknown.append(name)
    return team, users, unknown


def _contract_steps(product: DataProduct) -> tuple[list[StepPlan], str] | None:
    """Steps named by the current contract's read role (ODCS v3.1 ``roles[]``) and a note on
    where they came from; None when the contract names no approvers. The steps are empty when
    no name matches a user or team."""
    contract = data_product_contract(product=product)
    if contract is None:
        return None
    roles = [r for r in (contract.document or {}).get("roles") or [] if isinstance(r, dict)]
    role = next((r for r in roles if str(r.get("access", "")).lower() == "read"), roles[0] if roles else None)
    if not role or not (role.get("firstLevelApprovers") or role.get("secondLevelApprovers")):
        return None
    steps, notes = [], []
    for level, key in ((1, "firstLevelApprovers"), (2, "secondLevelApprovers")):
        team, users, unknown = _resolve(str(role.get(key) or ""))
        if unknown:
            notes.append(f"{key} {', '.join(unknown)!s} match no user or team")
        if team or users:
            who = ", ".join(([team.name] if team else []) + [str(u) for u in users])
            steps.append(
                StepPlan(kind=K.NAMED, label=f"Level {level} approvers (data contract): {who}", team=team, users=users)
            )
    source = f"data contract {contract.contract_id} v{contract.version}, role {role.get('role', '?')}"
    if notes:
        source += " (" + "; ".join(notes) + ")"
    return steps, source


def approval_plan(*, policy: AccessPolicy, product: DataProduct, requester: User, team: Team | None) -> ApprovalPlan:
    """The approval chain for a request under ``policy``: no steps means approved at once.

    The data contract's named approvers replace the policy's owner step (first level) and add a
    step after it (second level); a steward step the policy requires always stays.
    """
    label = f"{policy}, auto-approval: {policy.get_auto_approve_display().lower()}"
    if policy.auto_approve == AutoApprove.ALWAYS:
        return ApprovalPlan(policy, [], f"{label}: approved automatically")
    if policy.auto_approve == AutoApprove.SAME_DOMAIN and in_domain(user=requester, team=team, product=product):
        return ApprovalPlan(policy, [], f"{label}: consumer is in the {product.domain} domain, approved automatically")
    steps: list[StepPlan] = []
    for kind in policy.approval_steps:
        if kind == K.STEWARD:
            steps.append(StepPlan(kind=K.STEWARD, label="A governance steward"))
        elif kind == K.OWNER:
            steps.append(StepPlan(kind=K.OWNER, label=f"An approver of {product.owner_team}", team=product.owner_team))
    source = label
    contract = _contract_steps(product)
    if contract is not None:
        named, note = contract
        if named:
            stewards = [s for s in steps if s.kind == K.STEWARD]
            steps, source = named + stewards, f"{note}; {label}"
        else:
            source = f"{label}; {note}, so the policy's chain applies"
    return ApprovalPlan(policy, steps, source)


def add_business_days(start: datetime, days: int) -> datetime:
    """``start`` plus ``days`` business days (Monday–Friday; public holidays are not modelled)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
