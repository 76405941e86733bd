"""Access policies and purposes (stewards)."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from apps.catalog.choices import Classification
from apps.core.exceptions import ApplicationError

from ..choices import (
    ApprovalStepKind,
    AutoApprove,
)
from ..models import (
    AccessPolicy,
    Purpose,
)
from ..policy import (
    DEFAULT_POLICIES,
    DEFAULT_PURPOSES,
)
from ..selectors import access_policy_current
from ._base import audit_record


def access_policy_ensure_defaults(*, classification: str | None = None, actor=None) -> AccessPolicy | None:
    """Create the default purposes and, for each classification without one, policy version 1
    (:data:`apps.access.policy.DEFAULT_POLICIES`). Idempotent. Returns the current policy of
    ``classification`` when given."""
    with transaction.atomic():
        for slug, (name, description) in DEFAULT_PURPOSES.items():
            if not Purpose.objects.filter(slug=slug).exists():
                purpose = Purpose.objects.create(slug=slug, name=name, description=description)
                audit_record(actor=actor, action="purpose.created", obj=purpose, after={"name": name})
        for value, rule in DEFAULT_POLICIES.items():
            if AccessPolicy.objects.filter(classification=value).exists():
                continue
            rule = dict(rule)
            purposes = rule.pop("purposes")
            policy = AccessPolicy.objects.create(
                classification=value, version=1, is_current=True, created_by=None, change_note="Default policy", **rule
            )
            policy.allowed_purposes.set(Purpose.objects.filter(slug__in=purposes))
            audit_record(actor=actor, action="access_policy.created", obj=policy, after=policy.as_dict())
    return access_policy_current(classification=classification) if classification else None


@transaction.atomic
def access_policy_update(
    *,
    actor,
    classification: str,
    auto_approve: str,
    approval_steps: list[str],
    max_duration_days: int | None,
    allow_permanent: bool,
    sla_business_days: int,
    allowed_purposes=(),
    change_note: str = "",
) -> AccessPolicy:
    """Save a new version of the policy for ``classification`` and make it current; the old
    version is kept (requests keep pointing at the version that decided them).

    Raises ApplicationError with field errors for an empty chain that never auto-approves, an
    unknown step kind, or a steward-less actor.
    """
    if not (actor.is_authenticated and actor.is_steward):
        raise ApplicationError("Only governance stewards can change access policies.")
    errors: dict[str, list[str]] = {}
    if classification not in Classification.values:
        errors["classification"] = ["Unknown classification."]
    if auto_approve not in AutoApprove.values:
        errors["auto_approve"] = ["Unknown auto-approval rule."]
    unknown = [k for k in approval_steps if k not in ApprovalStepKind.values or k == ApprovalStepKind.NAMED]
    if unknown:
        errors["approval_steps"] = [f"Unknown step: {', '.join(unknown)}. Use owner and/or steward."]
    elif auto_approve != AutoApprove.ALWAYS and not approval_steps:
        errors["approval_steps"] = ["A policy that does not always auto-approve needs at least one approval step."]
    elif len(set(approval_steps)) != len(approval_steps):
        errors["approval_steps"] = ["Each kind of step can appear once."]
    if max_duration_days is not None and max_duration_days < 1:
        errors["max_duration_days"] = ["At least one day, or empty for no maximum."]
    if sla_business_days is None or sla_business_days < 0:
        errors["sla_business_days"] = ["Zero or more business days."]
    if errors:
        raise ApplicationError("The policy has errors.", errors)
    access_policy_ensure_defaults(actor=actor)
    current = AccessPolicy.objects.select_for_update().get(classification=classification, is_current=True)
    before = current.as_dict()
    AccessPolicy.objects.filter(pk=current.pk).update(is_current=False)
    policy = AccessPolicy.objects.create(
        classification=classification,
        version=current.version + 1,
        is_current=True,
        auto_approve=auto_approve,
        approval_steps=list(approval_steps),
        max_duration_days=max_duration_days,
        allow_permanent=allow_permanent,
        sla_business_days=sla_business_days,
        change_note=change_note.strip(),
        created_by=actor,
    )
    policy.allowed_purposes.set(allowed_purposes)
    audit_record(
        actor=actor,
        action="access_policy.changed",
        obj=policy,
        before=before,
        after=policy.as_dict(),
        message=change_note.strip(),
    )
    return policy


@transaction.atomic
def purpose_save(
    *, actor, name: str, description: str = "", active: bool = True, purpose: Purpose | None = None
) -> Purpose:
    """Create a purpose (``purpose`` None) or change one. Stewards only. Raises ApplicationError
    with field errors (``name``) for an empty or duplicate name."""
    if not (actor.is_authenticated and actor.is_steward):
        raise ApplicationError("Only governance stewards can edit purposes.")
    name = name.strip()
    if not name:
        raise ApplicationError("The purpose has errors.", {"name": ["Give the purpose a name."]})
    duplicate = Purpose.objects.filter(name__iexact=name).exclude(pk=getattr(purpose, "pk", None)).exists()
    if duplicate:
        raise ApplicationError("The purpose has errors.", {"name": ["A purpose with this name exists."]})
    before = {"name": purpose.name, "description": purpose.description, "active": purpose.active} if purpose else {}
    if purpose is None:
        base = slugify(name)[:70] or "purpose"
        slug, n = base, 1
        while Purpose.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        purpose = Purpose(slug=slug)
    purpose.name, purpose.description, purpose.active = name, description.strip(), active
    purpose.full_clean()
    purpose.save()
    audit_record(
        actor=actor,
        action="purpose.changed" if before else "purpose.created",
        obj=purpose,
        before=before,
        after={"name": purpose.name, "description": purpose.description, "active": purpose.active},
    )
    return purpose
