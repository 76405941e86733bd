"""Who may do what with access requests and grants: the one place for these rules (issue 12).

Views, API views, serializers, templates, selectors and services ask here; none re-implements a rule.

- **Deciding a step**: the step's approvers by role (stewards for a steward step; holders of
  ``catalog.decide_access_requests`` on the product for an owner step; named users or the approvers of
  the contract's team for a contract step), or someone they delegated to while the delegation runs;
  never the requester, a member of the team the request is for, or a person who decided an earlier
  step (segregation of duties, four eyes).
- **Revoking a grant**: the product's owners and approvers, grant operators (``access.change_grant``)
  and the consumer who asked for it (giving up their own access).
- **Operating grants** (retrying a failed grant or revocation): ``access.change_grant``.
- **Reading a stated purpose**: the requester, the product's owners (``catalog.change_dataproduct``),
  stewards and superusers.
- **Stewards**: superusers and members of the governance stewards group (``User.is_steward``, looked
  up once per request).

``require_*`` raise :class:`django.core.exceptions.PermissionDenied` (HTTP 403) when the person has no
right; a right exercised in the wrong state (a request no longer pending, a grant already revoked) is
an :class:`apps.core.exceptions.ApplicationError` (HTTP 400).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone

from apps.accounts.choices import TeamRole
from apps.accounts.models import TeamMembership
from apps.catalog.selectors import data_product_with_permission
from apps.core.exceptions import ApplicationError
from apps.core.visibility import visibility_rule

from .choices import OWNER_REVOCABLE_GRANT_STATES, AccessRequestStatus, ApprovalStepKind, ApprovalStepStatus
from .models import AccessRequest, ApprovalStep, ApproverDelegation, Grant

APPROVER_ROLES = [TeamRole.OWNER, TeamRole.APPROVER]


def is_steward(user) -> bool:
    """Superuser or member of the governance stewards group."""
    return bool(user.is_authenticated and user.is_steward)


def delegators_of(*, user, at=None) -> list:
    """Active approvers who delegated their decisions to ``user`` at ``at`` (default now)."""
    at = at or timezone.now()
    return [
        d.delegator
        for d in ApproverDelegation.objects.filter(delegate=user, starts__lte=at, ends__gt=at).select_related(
            "delegator"
        )
        if d.delegator.is_active
    ]


def user_is_approver(*, user) -> bool:
    """Whether ``user`` decides access requests at all (steward, or owner/approver of a team)."""
    return user.is_authenticated and (
        user.is_steward or TeamMembership.objects.filter(user=user, role__in=APPROVER_ROLES).exists()
    )


# --- deciding access requests -------------------------------------------------------------------


def step_may_decide(*, user, step: ApprovalStep) -> bool:
    """Whether ``user`` (by their own role, not through delegation) may decide ``step``."""
    if not user.is_authenticated:
        return False
    if step.kind == ApprovalStepKind.STEWARD:
        return user.is_steward
    if step.kind == ApprovalStepKind.OWNER:
        return user.has_perm("catalog.decide_access_requests", step.access_request.output_port.data_product)
    if step.named_users.filter(pk=user.pk).exists():
        return True
    return (
        step.team_id is not None
        and TeamMembership.objects.filter(team_id=step.team_id, user=user, role__in=APPROVER_ROLES).exists()
    )


def sod_refusal(*, person, access_request: AccessRequest, step: ApprovalStep) -> str | None:
    """Why segregation of duties bars ``person`` from deciding ``step``, or None."""
    if access_request.requester_id == person.pk:
        return "You cannot decide your own request (segregation of duties)."
    team = access_request.on_behalf_of_team
    if team is not None and team.memberships.filter(user=person).exists():
        return "You cannot decide a request made for a team you belong to (segregation of duties)."
    if (
        access_request.steps.filter(order__lt=step.order, decided_by=person).exists()
        or access_request.steps.filter(order__lt=step.order, on_behalf_of=person).exists()
    ):
        return "You already approved an earlier step of this request; another person must decide this one (four eyes)."
    return None


def _current_step(access_request: AccessRequest) -> ApprovalStep | None:
    return access_request.steps.filter(status=ApprovalStepStatus.PENDING).order_by("order").first()


def _authority(*, actor, access_request: AccessRequest):
    """``(step, principal, state_refusal, right_refusal)``: one of the refusals is set when ``actor`` may
    not decide now; ``state_refusal`` is about the request, ``right_refusal`` about the person."""
    if not actor.is_authenticated:
        return None, None, None, "Sign in to decide."
    if access_request.status != AccessRequestStatus.PENDING_APPROVAL:
        return (
            None,
            None,
            (f"This request is {access_request.get_status_display().lower()}, not waiting for a decision."),
            None,
        )
    step = _current_step(access_request)
    if step is None:
        return None, None, "This request has no step waiting for a decision.", None
    candidates = [actor, *delegators_of(user=actor)]
    eligible = [p for p in candidates if step_may_decide(user=p, step=step)]
    if not eligible:
        if step.kind == ApprovalStepKind.STEWARD:
            return step, None, None, "Only governance stewards can decide this step."
        return step, None, None, f"Only approvers of this step ({step.label}) can decide this request."
    refusal = sod_refusal(person=actor, access_request=access_request, step=step)
    if refusal:
        return step, None, None, refusal
    for principal in eligible:
        if principal.pk == actor.pk or sod_refusal(person=principal, access_request=access_request, step=step) is None:
            return step, principal, None, None
    return step, None, None, "Segregation of duties: the approver you stand in for may not decide this request."


def decision_authority(
    *, actor, access_request: AccessRequest
) -> tuple[ApprovalStep | None, object | None, str | None]:
    """``(step, principal, refusal)``: the step ``actor`` would decide, the approver whose right they use
    (themselves, or a delegator while the delegation runs), or why they may not (a sentence)."""
    step, principal, state_refusal, right_refusal = _authority(actor=actor, access_request=access_request)
    return step, principal, state_refusal or right_refusal


def decision_refusal(*, actor, access_request: AccessRequest) -> str | None:
    """Why ``actor`` may not decide ``access_request`` now, or None when they may."""
    return decision_authority(actor=actor, access_request=access_request)[2]


def can_decide(*, user, access_request: AccessRequest) -> bool:
    """Whether ``user`` may approve or reject ``access_request`` now."""
    return decision_refusal(actor=user, access_request=access_request) is None


def decidable_request_ids(*, user, requests) -> set[int]:
    """Ids of those of ``requests`` (``AccessRequest`` instances, ``output_port`` loaded) that ``user``
    may approve or reject now: the same rule as :func:`can_decide`, for a whole page at once.

    Queries do not grow with the number of requests: the requests' steps (1), the current steps' named
    approvers (1), ``user``'s running delegators (1), the principals' team memberships (1), and per
    principal (``user`` and each delegator) the steward lookup and the products they decide (≤ 2 each)."""
    if not user.is_authenticated:
        return set()
    pending = {r.pk: r for r in requests if r.status == AccessRequestStatus.PENDING_APPROVAL}
    if not pending:
        return set()
    steps = list(
        ApprovalStep.objects.filter(access_request_id__in=pending)
        .order_by("access_request_id", "order")
        .values("id", "access_request_id", "order", "kind", "status", "team_id", "decided_by_id", "on_behalf_of_id")
    )
    current: dict[int, dict] = {}
    for step in steps:
        if step["status"] == ApprovalStepStatus.PENDING and step["access_request_id"] not in current:
            current[step["access_request_id"]] = step
    if not current:
        return set()
    named: dict[int, set[int]] = {}
    for step_id, user_id in ApprovalStep.named_users.through.objects.filter(
        approvalstep_id__in=[s["id"] for s in current.values()]
    ).values_list("approvalstep_id", "user_id"):
        named.setdefault(step_id, set()).add(user_id)
    principals = [user, *delegators_of(user=user)]
    teams: dict[int, set[int]] = {p.pk: set() for p in principals}  # every team (segregation of duties)
    approver_teams: dict[int, set[int]] = {p.pk: set() for p in principals}
    for user_id, team_id, role in TeamMembership.objects.filter(user__in=principals).values_list(
        "user_id", "team_id", "role"
    ):
        teams[user_id].add(team_id)
        if role in APPROVER_ROLES:
            approver_teams[user_id].add(team_id)
    wants_owner = any(s["kind"] == ApprovalStepKind.OWNER for s in current.values())
    wants_steward = any(s["kind"] == ApprovalStepKind.STEWARD for s in current.values())
    decides: dict[int, set[int] | None] = {}  # None: every product (active superuser)
    stewards: dict[int, bool] = {}
    for p in principals:
        if wants_steward:
            stewards[p.pk] = p.is_steward
        if wants_owner:
            if not p.is_active:
                decides[p.pk] = set()
            elif p.is_superuser:
                decides[p.pk] = None
            else:
                from apps.catalog.selectors import data_product_ids_with_permission

                decides[p.pk] = set(data_product_ids_with_permission(user=p, codename="decide_access_requests"))
    earlier: dict[int, list[dict]] = {}
    for step in steps:
        earlier.setdefault(step["access_request_id"], []).append(step)

    def may_decide(person, step, request) -> bool:  # step_may_decide
        if step["kind"] == ApprovalStepKind.STEWARD:
            return stewards[person.pk]
        if step["kind"] == ApprovalStepKind.OWNER:
            products = decides[person.pk]
            return products is None or request.output_port.data_product_id in products
        if person.pk in named.get(step["id"], ()):
            return True
        return step["team_id"] is not None and step["team_id"] in approver_teams[person.pk]

    def barred(person, step, request) -> bool:  # sod_refusal
        if request.requester_id == person.pk:
            return True
        if request.on_behalf_of_team_id is not None and request.on_behalf_of_team_id in teams[person.pk]:
            return True
        return any(
            s["order"] < step["order"] and person.pk in (s["decided_by_id"], s["on_behalf_of_id"])
            for s in earlier[request.pk]
        )

    ids = set()
    for request_id, step in current.items():
        request = pending[request_id]
        eligible = [p for p in principals if may_decide(p, step, request)]
        if not eligible or barred(user, step, request):
            continue
        if any(p.pk == user.pk or not barred(p, step, request) for p in eligible):
            ids.add(request_id)
    return ids


def require_decide(*, actor, access_request: AccessRequest) -> tuple[ApprovalStep, object]:
    """``(step, principal)`` when ``actor`` may decide now. Raises ``PermissionDenied`` (403) when the
    person has no right to (not an approver of the step, segregation of duties) and
    ``ApplicationError`` (400) when the request is not waiting for a decision."""
    step, principal, state_refusal, right_refusal = _authority(actor=actor, access_request=access_request)
    if right_refusal:
        raise PermissionDenied(right_refusal)
    if state_refusal:
        raise ApplicationError(state_refusal)
    return step, principal


# --- grants -------------------------------------------------------------------------------------


def grant_revoke_permitted(*, user, grant: Grant) -> bool:
    """Who may take a grant back: the product's owners and approvers (``catalog.decide_access_requests``
    on it), grant operators (``access.change_grant``) and the consumer who asked for it. Says nothing
    of the grant's state."""
    product = grant.access_request.output_port.data_product
    return bool(
        user.is_authenticated
        and (
            user.has_perm("catalog.decide_access_requests", product)
            or user.has_perm("access.change_grant")
            or grant.access_request.requester_id == user.pk
        )
    )


def grant_revoke_refusal(*, actor, grant: Grant) -> str | None:
    """Why ``actor`` may not revoke ``grant`` now, or None: whoever :func:`grant_revoke_permitted`
    allows, while the grant is pending, active or failed."""
    if not grant_revoke_permitted(user=actor, grant=grant):
        return "Only the product's owners or the consumer can revoke this grant."
    if grant.status not in OWNER_REVOCABLE_GRANT_STATES:
        return f"This grant is {grant.get_status_display().lower()}; it cannot be revoked now."
    return None


def can_revoke(*, user, grant: Grant | None) -> bool:
    """Whether ``user`` may revoke ``grant`` now."""
    return grant is not None and grant_revoke_refusal(actor=user, grant=grant) is None


def revocable_grant_ids(*, user, grants) -> set[int]:
    """Ids of those of ``grants`` (``Grant`` instances with ``access_request__output_port`` loaded) that
    ``user`` may revoke now: the same rule as :func:`can_revoke`, for a whole page at once. Queries do not
    grow with the number of grants: ``access.change_grant`` (≤ 2) and the products ``user`` decides (≤ 1)."""
    if not user.is_authenticated:
        return set()
    revocable = [g for g in grants if g.status in OWNER_REVOCABLE_GRANT_STATES]
    if not revocable:
        return set()
    if user.has_perm("access.change_grant") or (user.is_active and user.is_superuser):
        return {g.pk for g in revocable}
    mine = {g.pk for g in revocable if g.access_request.requester_id == user.pk}
    if not user.is_active:
        return mine
    from apps.catalog.selectors import data_product_ids_with_permission

    products = set(data_product_ids_with_permission(user=user, codename="decide_access_requests"))
    return mine | {g.pk for g in revocable if g.access_request.output_port.data_product_id in products}


def require_revoke(*, actor, grant: Grant) -> None:
    """Raises ``PermissionDenied`` (403) when ``actor`` may not revoke ``grant`` at all and
    ``ApplicationError`` (400) when the grant's state does not allow it now."""
    if not grant_revoke_permitted(user=actor, grant=grant):
        raise PermissionDenied("Only the product's owners or the consumer can revoke this grant.")
    refusal = grant_revoke_refusal(actor=actor, grant=grant)
    if refusal:
        raise ApplicationError(refusal)


def grant_can_operate(*, user) -> bool:
    """Platform operators (global ``access.change_grant``, e.g. admins) retry failed grants and revocations."""
    return bool(user.is_authenticated and user.has_perm("access.change_grant"))


# --- reading ------------------------------------------------------------------------------------


def may_see_purpose(user, access_request: AccessRequest) -> bool:
    """Whether ``user`` may read the stated purpose of ``access_request``: its requester, the owners of
    the requested product (``catalog.change_dataproduct`` on it), stewards and superusers. Everyone else
    sees that the grant exists, not why it was asked for."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or is_steward(user) or access_request.requester_id == user.pk:
        return True
    return user.has_perm("catalog.change_dataproduct", access_request.output_port.data_product)


def sees_all_requests(user) -> bool:
    """Stewards, superusers and holders of the global ``access.view_accessrequest`` see every request."""
    return user.is_superuser or user.has_perm("access.view_accessrequest") or user.is_steward


# --- who sees which rows (``Model.objects.visible_to(user)``, apps.core.visibility) ---------------


@visibility_rule("access.AccessRequest")
def access_requests_visible(queryset, user):
    """The requests ``user`` may see: their own; those they decide, by their own right or a running
    delegator's (``catalog.decide_access_requests`` on the product, named approvers or approver-role
    members of a step's team); those of the domain's owner team once a step is escalated; every request
    for stewards, superusers and holders of the global ``access.view_accessrequest``
    (:func:`apps.access.permissions.sees_all_requests`); none for anonymous users."""
    if not user.is_authenticated:
        return queryset.none()
    if sees_all_requests(user):
        return queryset.all()
    principals = [user, *delegators_of(user=user)]
    product_q = Q()
    for principal in principals:
        decidable = data_product_with_permission(user=principal, codename="decide_access_requests")
        product_q |= Q(output_port__data_product__in=decidable.values("pk"))
    step_ids = ApprovalStep.objects.filter(
        Q(named_users__in=principals)
        | Q(team__memberships__user__in=principals, team__memberships__role__in=APPROVER_ROLES)
        | Q(
            escalated_at__isnull=False,
            access_request__output_port__data_product__domain__owner_team__memberships__user=user,
        )
    ).values("access_request_id")
    return queryset.filter(Q(requester=user) | product_q | Q(pk__in=step_ids))


@visibility_rule("access.Grant")
def grants_visible(queryset, user):
    """The grants of the access requests ``user`` may see (:func:`access_requests_visible`)."""
    return queryset.filter(access_request__in=AccessRequest.objects.visible_to(user).values("pk"))
