"""Writes for the catalog: domains, data products, output ports.

A data product's owner team gets django-guardian object permissions on it through the team's
groups: members ``view_dataproduct`` (drafts), approvers ``decide_access_requests``, owners
``change_dataproduct``.
"""

from __future__ import annotations

from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from apps.accounts.models import Team
from apps.audit.services import audit_record
from apps.audit.transitions import transition
from apps.core.exceptions import ApplicationError

from .choices import DATA_PRODUCT_TRANSITIONS, DataProductStatus, ExposureStatus
from .models import DataProduct, Domain, OutputPort

PRODUCT_PERMISSIONS = {
    "members": ("catalog.view_dataproduct",),
    "approvers": ("catalog.decide_access_requests",),
    "owners": ("catalog.change_dataproduct",),
}


def domain_create(*, name: str, slug: str, description: str = "", owner_team: Team | None = None) -> Domain:
    domain = Domain(name=name, slug=slug, description=description, owner_team=owner_team)
    domain.full_clean()
    domain.save()
    return domain


@transaction.atomic
def data_product_create(*, name: str, slug: str, domain: Domain, owner_team: Team, actor=None, **fields) -> DataProduct:
    """Create a data product owned by ``owner_team`` and give the team's groups their permissions.

    ``fields``: summary, description (Markdown), status, classification, tags, terms_of_use.
    ``actor``: who creates it (None: the system). Audited as ``data_product.created``.
    Raises django ``ValidationError`` with field errors on bad input.
    """
    product = DataProduct(name=name, slug=slug, domain=domain, owner_team=owner_team, **fields)
    product.full_clean()
    product.save()
    _grant_team_permissions(product=product, team=owner_team)
    _audit(
        actor=actor,
        action="data_product.created",
        obj=product,
        after={
            "status": product.status,
            "classification": product.classification,
            "domain": str(domain),
            "owner_team": str(owner_team),
        },
    )
    _reindex(product.pk)
    return product


@transaction.atomic
def data_product_update(*, product: DataProduct, actor=None, **fields) -> DataProduct:
    """Update fields of a product. Changing ``owner_team`` moves the object permissions.

    A ``status`` change is a lifecycle transition (``DATA_PRODUCT_TRANSITIONS``; ``ApplicationError``
    (field ``status``) when the table does not allow it; audited as ``data_product.<status>``).
    A classification change is audited (``data_product.classification_changed``, ``actor``:
    who changed it, None for the system); raising it re-evaluates the product's live grants by
    the new policy (``apps.access.reevaluation``: kept, revoked, or revoked and sent for
    re-approval), so no grant of the laxer era stands unseen.
    """
    previous_team_id, previous_classification, previous_status = (
        DataProduct.objects.filter(pk=product.pk).values_list("owner_team_id", "classification", "status").get()
    )
    # The status is never saved with the other fields: it moves only by the lifecycle table.
    status = fields.pop("status", None)
    for name, value in fields.items():
        setattr(product, name, value)
    product.full_clean()
    product.save(
        update_fields=[f.name for f in DataProduct._meta.concrete_fields if not f.primary_key and f.name != "status"]
    )
    if status is not None and status != previous_status:  # the admin: a lifecycle move, checked and audited
        transition(
            product,
            status,
            table=DATA_PRODUCT_TRANSITIONS,
            actor=actor,
            action=f"data_product.{status}",
            subject=product.name,
            field_errors=True,
        )
    elif product.status != previous_status:  # the admin's form set it on the instance, or the instance is stale
        product.refresh_from_db(fields=["status"])
    if product.owner_team_id != previous_team_id:
        _revoke_team_permissions(product=product, team=Team.objects.get(pk=previous_team_id))
        _grant_team_permissions(product=product, team=product.owner_team)
    if product.classification != previous_classification:
        from apps.access.reevaluation import grants_reevaluate_for_classification

        _audit(
            actor=actor,
            action="data_product.classification_changed",
            obj=product,
            before={"classification": previous_classification},
            after={"classification": product.classification},
        )
        grants_reevaluate_for_classification(product=product, actor=actor, previous=previous_classification)
    _reindex(product.pk)
    return product


# --- output ports: the one way in (API, contract publishing, sync mapping rules, demo) ---------

#: Fields that say where a port is; changing any of them re-judges its exposure.
PORT_LOCATION_FIELDS = ("platform", "port_type", "database", "schema", "table")


def _port_snapshot(port: OutputPort) -> dict:
    return {
        "name": port.name,
        "platform": port.platform.slug,
        "port_type": port.port_type,
        "location": port.location,
        "exposure_status": port.exposure_status,
    }


def _judge_exposure(port: OutputPort) -> None:
    """Refuse a system location; set the port's exposure status from the assignments."""
    from apps.platforms.exposure import exposure_evaluate, system_location_refusal

    refusal = system_location_refusal(port.platform, port.schema, database=port.database)
    if refusal:
        raise ApplicationError(refusal, {"schema": [refusal]})
    verdict = exposure_evaluate(port=port)
    port.exposure_status = ExposureStatus.APPROVED if verdict.approved else ExposureStatus.PENDING_REVIEW
    port.exposure_reason = verdict.reason
    port.exposure_decided_by, port.exposure_decided_at, port.exposure_comment = None, None, ""


def _require_change(actor, product: DataProduct) -> None:
    from django.core.exceptions import PermissionDenied

    if actor is not None and not actor.has_perm("catalog.change_dataproduct", product):
        raise PermissionDenied("Only owners of the product's owner team can change its output ports.")


@transaction.atomic
def output_port_create(*, actor, data_product: DataProduct, name: str, platform, schema: str, **fields) -> OutputPort:
    """Add an output port (a schema, or one table with ``table=``) on ``platform`` to a product.

    Governed exposure (``apps.platforms.exposure``): a system or reserved location is refused;
    a location assigned to the product's domain (or to the product) and exposed by no other
    product gives an approved port; anything else gives a port *awaiting exposure review*, which
    takes no access request until an operator or steward approves it (they are notified).

    ``actor``: the user adding it (needs ``change_dataproduct`` on the product), or None for the
    system (sync mapping rules, the demo loader). ``fields``: description, port_type, database,
    table. Raises ``PermissionDenied``; ``ApplicationError`` (field ``schema``) for a system
    location; django ``ValidationError`` with field errors for bad input. Audited as
    ``output_port.created`` with the exposure verdict.
    """
    _require_change(actor, data_product)
    port = OutputPort(data_product=data_product, name=name, platform=platform, schema=schema, **fields)
    port.full_clean()
    _judge_exposure(port)
    port.save()
    _audit(
        actor=actor, action="output_port.created", obj=port, after=_port_snapshot(port), message=port.exposure_reason
    )
    if not port.exposure_approved:
        _notify_exposure_review(port)
    _reindex(data_product.pk)
    return port


@transaction.atomic
def output_port_update(*, actor, port: OutputPort, **fields) -> OutputPort:
    """Change a port (``fields``: name, description and the location fields
    :data:`PORT_LOCATION_FIELDS`). A new location is judged again like a new port, and is
    refused (``ApplicationError``, field ``schema``) while the port has access requests: their
    grants were decided for the old place, so make a new port instead. Same permission as
    :func:`output_port_create`; audited as ``output_port.changed`` (before/after)."""
    port = OutputPort.objects.select_for_update().select_related("platform", "data_product").get(pk=port.pk)
    _require_change(actor, port.data_product)
    before = _port_snapshot(port)
    moved = any(name in PORT_LOCATION_FIELDS and getattr(port, name) != value for name, value in fields.items())
    if moved and port.access_requests.exists():
        message = "This output port has access requests; add a new port for another location."
        raise ApplicationError(message, {"schema": [message]})
    for name, value in fields.items():
        setattr(port, name, value)
    port.full_clean()
    if moved:
        _judge_exposure(port)
    port.save()
    after = _port_snapshot(port)
    if after != before:
        _audit(
            actor=actor,
            action="output_port.changed",
            obj=port,
            before=before,
            after=after,
            message=port.exposure_reason if moved else "",
        )
    if moved and not port.exposure_approved:
        _notify_exposure_review(port)
    _reindex(port.data_product_id)
    return port


@transaction.atomic
def output_port_delete(*, actor, port: OutputPort) -> None:
    """Remove a port that never took an access request (``ApplicationError`` otherwise: revoke
    and keep it, the requests are history). Same permission as :func:`output_port_create`;
    audited as ``output_port.deleted``."""
    port = OutputPort.objects.select_for_update().select_related("platform", "data_product").get(pk=port.pk)
    _require_change(actor, port.data_product)
    if port.access_requests.exists():
        raise ApplicationError(
            "This output port has access requests; it cannot be deleted.",
            {"output_port": ["It has access requests (history is kept)."]},
        )
    _audit(actor=actor, action="output_port.deleted", obj=port, before=_port_snapshot(port))
    product_id = port.data_product_id
    port.delete()
    _reindex(product_id)


def _exposure_decide(*, actor, port_id: int, to: str, comment: str) -> OutputPort:
    from django.core.exceptions import PermissionDenied
    from django.utils import timezone

    from apps.platforms.exposure import exposure_may_decide, system_location_refusal

    port = (
        OutputPort.objects.select_for_update(of=("self",))
        .select_related("platform", "data_product__owner_team")
        .get(pk=port_id)
    )
    if not exposure_may_decide(user=actor, port=port):
        raise PermissionDenied("Only stewards and the platform's operators outside the owner team review exposures.")
    if port.exposure_status != ExposureStatus.PENDING_REVIEW:
        raise ApplicationError(
            f"This output port's exposure is {port.get_exposure_status_display().lower()}; "
            "only a pending review can be decided."
        )
    refusal = system_location_refusal(port.platform, port.schema, database=port.database)
    if refusal and to == ExposureStatus.APPROVED:  # reserved since the port was made
        raise ApplicationError(refusal, {"schema": [refusal]})
    before = _port_snapshot(port)
    port.exposure_status, port.exposure_comment = to, comment.strip()
    port.exposure_decided_by, port.exposure_decided_at = actor, timezone.now()
    port.save(
        update_fields=[
            "exposure_status",
            "exposure_comment",
            "exposure_decided_by",
            "exposure_decided_at",
            "updated_at",
        ]
    )
    verb = "approved" if to == ExposureStatus.APPROVED else "rejected"
    _audit(
        actor=actor,
        action=f"output_port.exposure_{verb}",
        obj=port,
        before=before,
        after=_port_snapshot(port),
        message=port.exposure_comment,
    )
    _notify_owners_of_decision(port, verb)
    return port


@transaction.atomic
def output_port_exposure_approve(*, actor, port_id: int, comment: str = "") -> OutputPort:
    """Approve a port awaiting exposure review: it takes access requests from now on; when
    another product exposes the same place, the strictest classification among them decides
    each request's approval chain. Raises ``PermissionDenied`` unless
    :func:`~apps.platforms.exposure.exposure_may_decide`; ``ApplicationError`` when the port is
    not pending. Audited (``output_port.exposure_approved``); the owners are notified."""
    return _exposure_decide(actor=actor, port_id=port_id, to=ExposureStatus.APPROVED, comment=comment)


@transaction.atomic
def output_port_exposure_reject(*, actor, port_id: int, comment: str) -> OutputPort:
    """Reject a port awaiting exposure review (a ``comment`` is required: the owners read it).
    The port stays, taking no requests; the owners may delete it or move it. Errors as
    :func:`output_port_exposure_approve`, plus ``ApplicationError`` (field ``comment``)."""
    if not comment.strip():
        raise ApplicationError("Say why the exposure is rejected.", {"comment": ["A reason is required to reject."]})
    return _exposure_decide(actor=actor, port_id=port_id, to=ExposureStatus.REJECTED, comment=comment)


def _notify_exposure_review(port: OutputPort) -> None:
    port_id = port.pk
    transaction.on_commit(lambda: _send_exposure_review(port_id))


def _send_exposure_review(port_id: int) -> None:
    from django.urls import reverse

    from apps.notifications.choices import Verb
    from apps.notifications.services import notify
    from apps.platforms.exposure import exposure_reviewers

    port = OutputPort.objects.select_related("platform", "data_product__owner_team").filter(pk=port_id).first()
    if port is None or port.exposure_status != ExposureStatus.PENDING_REVIEW:
        return
    owners = set(port.data_product.owner_team.memberships.values_list("user_id", flat=True))
    notify(
        recipients=[u for u in exposure_reviewers(port=port) if u.pk not in owners],
        verb=Verb.DECISION_NEEDED,
        obj=port,
        subject=f"Exposure review: {port.data_product} wants to expose {port.location}",
        message=f"{port.data_product} added the output port {port.name!r} on {port.location} "
        f"({port.platform}). {port.exposure_reason} Approve or reject it.",
        url=reverse("catalog:exposure_reviews"),
        dedupe_key=f"exposure-review:{port.pk}:{port.updated_at:%s}",
    )


def _notify_owners_of_decision(port: OutputPort, verb: str) -> None:
    from django.urls import reverse

    from apps.notifications.choices import Verb
    from apps.notifications.services import notify

    owners = [m.user for m in port.data_product.owner_team.memberships.select_related("user")]
    comment = f" Comment: {port.exposure_comment}" if port.exposure_comment else ""
    transaction.on_commit(
        lambda: notify(
            recipients=owners,
            verb=Verb.DECIDED,
            obj=port,
            subject=f"Exposure {verb}: {port.data_product} / {port.name}",
            message=f"The exposure of {port.location} through {port.name!r} was {verb}.{comment}",
            url=reverse("catalog:product_detail", args=[port.data_product.slug]),
        )
    )


def _reindex(product_id: int) -> None:
    # The search index follows on commit, through Celery (apps.search), never via model signals.
    from apps.search.services import search_index_schedule

    search_index_schedule(product_ids=[product_id])


def _grant_team_permissions(*, product: DataProduct, team: Team) -> None:
    for kind, perms in PRODUCT_PERMISSIONS.items():
        for perm in perms:
            assign_perm(perm, team.group_for(kind), product)


def _revoke_team_permissions(*, product: DataProduct, team: Team) -> None:
    for kind, perms in PRODUCT_PERMISSIONS.items():
        for perm in perms:
            remove_perm(perm, team.group_for(kind), product)


# --- lifecycle ---------------------------------------------------------------------------------


def _audit(
    *, actor, action: str, obj, before: dict | None = None, after: dict | None = None, message: str = ""
) -> None:
    audit_record(actor=actor, action=action, obj=obj, before=before, after=after, message=message)


def _product_transition(*, product: DataProduct, actor, to: str) -> DataProduct:
    from django.core.exceptions import PermissionDenied

    product = DataProduct.objects.select_for_update().get(pk=product.pk)
    if not actor.has_perm("catalog.change_dataproduct", product):
        raise PermissionDenied("Only owners of the product's owner team can change its status.")
    transition(
        product,
        to,
        table=DATA_PRODUCT_TRANSITIONS,
        actor=actor,
        action=f"data_product.{to}",
        subject=product.name,
        field_errors=True,
        lock=False,
    )
    _reindex(product.pk)  # the search index carries the status: who may find the product
    return product


@transaction.atomic
def data_product_publish(*, product: DataProduct, actor) -> DataProduct:
    """Publish a draft (or re-publish a deprecated) product: it appears in the marketplace and
    takes access requests. Raises ``PermissionDenied`` unless ``actor`` may change the product,
    ``ApplicationError`` (field ``status``) from any other status."""
    return _product_transition(product=product, actor=actor, to=DataProductStatus.PUBLISHED)


@transaction.atomic
def data_product_deprecate(*, product: DataProduct, actor) -> DataProduct:
    """Deprecate a published product: still listed and readable, consumers are told to move on.
    Errors as :func:`data_product_publish`."""
    return _product_transition(product=product, actor=actor, to=DataProductStatus.DEPRECATED)
