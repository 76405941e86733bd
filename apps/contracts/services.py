"""Writes for data contracts: importing a version (parse → map → apply), breaking-change
policy and consumer notification, drift findings, quality runs and incidents.

``data_contract_publish`` is the one way a contract enters the portal (API, upload, paste,
demo). It parses and validates (``odcs.contract_parse``), maps the document to what the product
should hold (``mapping.contract_to_product_plan``, pure), checks everything that needs the
database (permissions, domain/team/platform lookups, servers against the platform's catalog,
the version against the previous one) and only then writes — so a refused contract leaves the
product untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.catalog.models import DataContract, DataProduct, Domain, OutputPort
from apps.core.exceptions import ApplicationError

from .choices import BreakingChangePolicy, ImportSource
from .diff import contract_diff, is_major_bump, semver_key
from .indexing import search_reindex
from .mapping import PortPlan, contract_to_product_plan
from .models import ContractImport, DomainContractPolicy
from .odcs import contract_parse
from .schedules import schedule_problems


@dataclass
class ContractPublishResult:
    """What :func:`data_contract_publish` did. ``changes``: one entry per thing written
    (``data_product.created``, ``data_product.updated:summary``, ``output_port.created:pg``,
    ``data_contract.created:1.1.0``...), empty when the file was already published as is;
    ``diff``: the version's changes against the previous version (``ContractChange.as_dict()``);
    ``warnings``: what was accepted but deserves attention (a breaking change allowed by the
    domain's policy, a platform never synced so servers were not checked, a quality schedule
    that is not a cron expression)."""

    data_product: DataProduct
    data_contract: DataContract
    created: bool
    changes: list[str] = field(default_factory=list)
    diff: list[dict] = field(default_factory=list)
    breaking: bool = False
    warnings: list[str] = field(default_factory=list)
    contract_import: ContractImport | None = None


def _audit(*, actor, action: str, obj, before=None, after=None, message: str = "") -> None:
    from apps.audit.services import audit_record  # access depends on catalog; import at call time

    audit_record(actor=actor, action=action, obj=obj, before=before, after=after, message=message)


def _lookup(model, value: str, field_name: str, label: str):
    found = model.objects.filter(Q(slug=value) | Q(name__iexact=value)).first() if value else None
    if found is None:
        raise ApplicationError(f"No {label} {value!r}.", {field_name: [f"No {label} with slug or name {value!r}."]})
    return found


def _resolve_ports(ports: list[PortPlan]) -> tuple[list[tuple[PortPlan, object]], dict, list[str]]:
    """Each planned port with its platform, checked against what the platform's metadata sync
    found: a schema (or PostgreSQL database) the platform lacks is an error; a platform never
    synced cannot be checked (warning)."""
    from apps.catalog.models import Asset
    from apps.platforms.choices import SyncRunStatus
    from apps.platforms.models import Platform

    resolved, errors, warnings = [], {}, []
    for plan in ports:
        where = f"contract.servers[{plan.index}]"
        platform = Platform.objects.filter(slug=plan.platform_ref).first()
        if platform is None:
            errors[where] = [
                f"No platform with slug {plan.platform_ref!r} (name it with the `platform` option or the "
                f"server's custom property `platform`)."
            ]
            continue
        if plan.kind == "postgresql" and plan.database and platform.database and plan.database != platform.database:
            errors[f"{where}.database"] = [
                f"Platform {platform.name} is database {platform.database!r}, not {plan.database!r}."
            ]
            continue
        schemas = set(
            Asset.objects.filter(platform=platform, removed_at__isnull=True).values_list("schema", flat=True).distinct()
        )
        synced = schemas or platform.sync_runs.filter(status=SyncRunStatus.SUCCEEDED).exists()
        if not synced:
            warnings.append(
                f"servers[{plan.index}]: platform {platform.name} has not been synced yet, so schema "
                f"{plan.schema!r} could not be checked."
            )
        elif plan.schema not in schemas:
            errors[f"{where}.schema"] = [
                f"Platform {platform.name} has no schema {plan.schema!r} (as of its last "
                f"metadata sync). Known: {', '.join(sorted(schemas)[:20]) or 'none'}."
            ]
            continue
        resolved.append((plan, platform))
    return resolved, errors, warnings


def _previous_version(product: DataProduct | None, version: str) -> DataContract | None:
    """The version a new one is compared with: the newest other version of the product."""
    if product is None:
        return None
    return (
        DataContract.objects.filter(data_product=product)
        .exclude(version=version)
        .order_by("-created_at", "-pk")
        .first()
    )


def _breaking_policy(domain: Domain | None) -> str:
    if domain is None:
        return BreakingChangePolicy.REFUSE
    policy = DomainContractPolicy.objects.filter(domain=domain).first()
    return policy.breaking_changes if policy else BreakingChangePolicy.REFUSE


@dataclass(frozen=True)
class PortWrite:
    """One output port to create (``create``) or update with ``fields`` (only what differs)."""

    name: str
    fields: dict
    create: bool


@dataclass(frozen=True)
class PublishPlan:
    """What publishing a contract will write, from :func:`contract_publish_plan` (pure).

    ``product_updates``: field -> new value for an existing product (empty when creating);
    ``port_writes``: in ``servers`` order; ``contract_write``: the version is new or its status
    changes; ``changes``: the entries :class:`ContractPublishResult` reports, empty when the
    file was already published as is."""

    create_product: bool
    product_updates: dict = field(default_factory=dict)
    port_writes: list[PortWrite] = field(default_factory=list)
    contract_write: bool = False
    changes: list[str] = field(default_factory=list)


def contract_publish_plan(
    *,
    product_state: dict | None,
    wanted: dict,
    ports: list[tuple[str, dict]],
    port_state: dict[str, dict],
    contract_state: tuple[dict, str] | None,
    version: str,
    document: dict,
    status: str,
) -> PublishPlan:
    """Compare what the contract wants with what the portal holds; no database access.

    ``product_state``: the existing product's current values of the ``wanted`` fields, None to
    create it; ``ports``: (name, fields) per planned port, in order; ``port_state``: name ->
    current fields of the product's existing ports; ``contract_state``: (document, status) of the
    stored version with the same number, None when it is new."""
    changes: list[str] = []
    updates: dict = {}
    if product_state is None:
        changes.append("data_product.created")
    else:
        updates = {k: v for k, v in wanted.items() if product_state[k] != v}
        changes += [f"data_product.updated:{k}" for k in sorted(updates)]
    port_writes: list[PortWrite] = []
    held = dict(port_state)
    for name, fields in ports:
        current = held.get(name)
        if current is None:
            port_writes.append(PortWrite(name=name, fields=fields, create=True))
            changes.append(f"output_port.created:{name}")
            held[name] = dict(fields)
        else:
            port_diff = {k: v for k, v in fields.items() if current[k] != v}
            if port_diff:
                port_writes.append(PortWrite(name=name, fields=port_diff, create=False))
                changes.append(f"output_port.updated:{name}")
                current.update(port_diff)
    contract_write = True
    if contract_state is None:
        changes.append(f"data_contract.created:{version}")
    elif contract_state != (document, status):
        changes.append(f"data_contract.status:{contract_state[1]}->{status}")
    else:
        contract_write = False
    return PublishPlan(
        create_product=product_state is None,
        product_updates=updates,
        port_writes=port_writes,
        contract_write=contract_write,
        changes=changes,
    )


@dataclass
class _Checked:
    """What the checks of :func:`data_contract_publish` found (before any write)."""

    product: DataProduct | None
    team: object | None
    domain: Domain | None
    ports: list[tuple[PortPlan, object]]
    warnings: list[str]
    same_version: DataContract | None
    previous: DataContract | None
    diff: list
    breaking: bool


def _publish_check(*, actor, plan, document: dict, version: str, domain: str) -> _Checked:
    """Every check that needs the database (permissions, lookups, servers, versions); raises
    ``PermissionDenied`` / ``ApplicationError`` and writes nothing."""
    from apps.accounts.models import Team
    from apps.catalog.selectors import data_product_can_create, data_product_visible

    product = DataProduct.objects.select_for_update().filter(slug=plan.slug).first()
    team = None
    if product is not None and not data_product_visible(user=actor).filter(pk=product.pk).exists():
        raise ApplicationError(
            "The data product slug is taken.", {"data_product": [f"The slug {plan.slug!r} is taken."]}
        )
    if product is None:
        if not plan.team_ref:
            raise ApplicationError(
                "Say which team owns the new data product.", {"owner_team": ["Required to create a data product."]}
            )
        team = _lookup(Team, plan.team_ref, "owner_team", "team")
        domain_obj = _lookup(Domain, plan.domain_ref, "domain", "domain")
        if not data_product_can_create(user=actor, owner_team=team):
            raise PermissionDenied(f"Only owners of {team} can create its data products.")
    else:
        if not actor.has_perm("catalog.change_dataproduct", product):
            raise PermissionDenied("Only owners of the product's owner team can change it.")
        domain_obj = _lookup(Domain, domain, "domain", "domain") if domain else product.domain
    ports, port_errors, warnings = _resolve_ports(plan.ports)
    if port_errors:
        raise ApplicationError("The contract's servers do not match the platform.", port_errors)
    warnings += schedule_problems(document)  # quality schedules the portal cannot follow

    same_version = DataContract.objects.filter(data_product=product, version=version).first() if product else None
    if same_version is not None and same_version.document != document:
        changed = contract_diff(same_version.document, document)
        if any(c.kind != "status_changed" for c in changed):
            raise ApplicationError(
                f"Version {version} is already published with different content; publish the change as a new version.",
                {"contract.version": [f"{version} is taken: bump it (e.g. {_next_minor(version)})."]},
            )
    previous = _previous_version(product, version) if same_version is None else None
    diff = contract_diff(previous.document, document) if previous is not None else []
    breaking = any(c.breaking for c in diff)
    if breaking and not is_major_bump(previous.version, version):
        listed = [c.message for c in diff if c.breaking]
        if _breaking_policy(domain_obj) == BreakingChangePolicy.REFUSE:
            raise ApplicationError(
                f"Version {version} has {len(listed)} breaking change{'s' if len(listed) != 1 else ''} but does not "
                f"bump the major version of {previous.version}.",
                {
                    "contract.version": [
                        f"Breaking changes need a major version (e.g. {_next_major(previous.version)})."
                    ],
                    "breaking_changes": listed,
                },
            )
        warnings.append(
            f"Version {version} has breaking changes without a major version bump (accepted by the "
            f"domain's policy): " + "; ".join(listed)
        )
    elif semver_key(version) is None:
        warnings.append(
            f"Version {version!r} is not a semantic version; breaking changes cannot be told from its number."
        )
    return _Checked(
        product=product,
        team=team,
        domain=domain_obj,
        ports=ports,
        warnings=warnings,
        same_version=same_version,
        previous=previous,
        diff=diff,
        breaking=breaking,
    )


def _publish_map(*, plan, checked: _Checked, document: dict, version: str, status: str, domain: str) -> PublishPlan:
    """Read the current state the plan is compared with and call :func:`contract_publish_plan`."""
    product = checked.product
    ports = [
        (p.name, {"platform": platform_obj, "schema": p.schema, "database": p.database, "description": p.description})
        for p, platform_obj in checked.ports
    ]
    wanted, product_state, port_state = {}, None, {}
    if product is not None:
        wanted = dict(plan.fields)
        if domain:
            wanted["domain"] = checked.domain
        product_state = {k: getattr(product, k) for k in wanted}
        names = {name for name, _ in ports}
        port_state = {
            port.name: {k: getattr(port, k) for k in ("platform", "schema", "database", "description")}
            for port in OutputPort.objects.filter(data_product=product, name__in=names)
        }
    same = checked.same_version
    return contract_publish_plan(
        product_state=product_state,
        wanted=wanted,
        ports=ports,
        port_state=port_state,
        contract_state=(same.document, same.status) if same is not None else None,
        version=version,
        document=document,
        status=status,
    )


def _publish_apply(
    *,
    actor,
    plan,
    checked: _Checked,
    publish: PublishPlan,
    model,
    contract: str,
    document: dict,
    version: str,
    status: str,
    source: str,
    source_path: str,
) -> ContractPublishResult:
    """Write what ``publish`` lists, record the import and schedule drift, notices and reindex."""
    from apps.catalog import services as catalog_services

    product = checked.product
    if publish.create_product:
        product = catalog_services.data_product_create(
            slug=plan.slug,
            domain=checked.domain,
            owner_team=checked.team,
            actor=actor,
            **(plan.new_fields | plan.fields),
        )
    elif publish.product_updates:
        updates = publish.product_updates
        before = {k: str(getattr(product, k)) for k in updates}
        catalog_services.data_product_update(product=product, actor=actor, **updates)
        _audit(
            actor=actor,
            action="data_product.updated",
            obj=product,
            before=before,
            after={k: str(v) for k, v in updates.items()},
            message=f"From data contract {model.id} {version}.",
        )

    for write in publish.port_writes:
        if write.create:
            # Output ports are created in one place (catalog.services.output_port_create), which
            # judges their exposure (system locations refused, unassigned ones await review).
            catalog_services.output_port_create(actor=actor, data_product=product, name=write.name, **write.fields)
        else:
            port = OutputPort.objects.get(data_product=product, name=write.name)
            catalog_services.output_port_update(actor=actor, port=port, **write.fields)

    data_contract = checked.same_version or DataContract(data_product=product, version=version)
    if publish.contract_write:
        data_contract.contract_id = str(model.id)[:255]
        data_contract.status = status[:64]
        data_contract.document = document
        data_contract.source_yaml = contract
        data_contract.full_clean()
        data_contract.save()
    changes, diff, breaking = publish.changes, checked.diff, checked.breaking
    contract_import = None
    if changes:
        contract_import = ContractImport.objects.create(
            data_contract=data_contract,
            previous=checked.previous,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            source=source,
            source_path=source_path[:1000],
            diff=[c.as_dict() for c in diff],
            breaking=breaking,
            product_changes=changes,
            warnings=checked.warnings,
        )
        _audit(
            actor=actor,
            action="data_contract.published",
            obj=product,
            after={"version": version, "status": status, "breaking": breaking},
            message="; ".join(changes),
        )
        if breaking:
            transaction.on_commit(lambda: _breaking_change_notify_later(contract_import.pk))
        product_id = product.pk
        transaction.on_commit(lambda: _drift_check_later(product_id))
        search_reindex(product_id)  # has_contract, trust
    return ContractPublishResult(
        data_product=product,
        data_contract=data_contract,
        created=publish.create_product,
        changes=changes,
        diff=[c.as_dict() for c in diff],
        breaking=breaking,
        warnings=checked.warnings,
        contract_import=contract_import,
    )


@transaction.atomic
def data_contract_publish(
    *,
    actor,
    contract: str,
    data_product: str = "",
    domain: str = "",
    owner_team: str = "",
    platform: str = "",
    source: str = ImportSource.API,
    source_path: str = "",
) -> ContractPublishResult:
    """Import one version of an ODCS v3.0.x/v3.1.0 data contract (YAML text): create or update
    the data product and its output ports, store the version, diff it against the previous one.
    Idempotent: publishing the same file twice writes nothing (``changes == []``).

    The mapping is :func:`apps.contracts.mapping.contract_to_product_plan`: an existing product
    changes only where the contract says so explicitly (``dataProduct`` renames, the
    ``classification`` custom property re-classifies, ``description``/``tags`` update), each
    field listed in ``changes``; its lifecycle status stays (use publish/deprecate).

    Versions: a version already published may change only its ``status``; otherwise publish a
    new version. A breaking change (see :mod:`apps.contracts.diff`) without a major version bump
    is refused, or accepted with a warning when the domain's ``DomainContractPolicy`` says
    ``warn``; an accepted breaking change notifies every active consumer of the product's
    output ports (in-app, email, webhook ``data_contract.breaking_change``) after commit.

    Permissions: creating needs ``data_product_can_create`` on the owner team; updating needs
    ``change_dataproduct`` (else ``PermissionDenied``); a product the actor may not see is
    reported as a taken slug. Raises ``ApplicationError`` with field errors (``contract``,
    ``contract.<json path>``, ``domain``, ``owner_team``, ``data_product``, ``version``) for
    bad input; nothing is written then.
    """
    parsed = contract_parse(contract)  # parse
    document, model = parsed.document, parsed.model
    plan = contract_to_product_plan(
        document, data_product=data_product, domain=domain, owner_team=owner_team, platform=platform
    )
    if plan.errors:
        raise ApplicationError("The contract cannot be mapped to a data product.", plan.errors)
    version, status = str(model.version), str(model.status)
    checked = _publish_check(actor=actor, plan=plan, document=document, version=version, domain=domain)
    publish = _publish_map(plan=plan, checked=checked, document=document, version=version, status=status, domain=domain)
    return _publish_apply(
        actor=actor,
        plan=plan,
        checked=checked,
        publish=publish,
        model=model,
        contract=contract,
        document=document,
        version=version,
        status=status,
        source=source,
        source_path=source_path,
    )


def data_contract_import_from_repository(
    *, actor, path: str, data_product: str = "", domain: str = "", owner_team: str = "", platform: str = ""
) -> ContractPublishResult:
    """Publish the contract file at ``path`` in a repository checkout under the operators'
    ``CONTRACT_REPOSITORY_ROOT`` (:func:`apps.contracts.repository.repository_contract_read`:
    a path relative to the root, an absolute path or a ``file://`` URL inside it; nothing is
    fetched over the network), as :func:`data_contract_publish` does with ``source`` "repo" and
    the file recorded on the import. Raises ``ApplicationError`` (field ``path``) when
    repositories are not configured or the path is outside the root, missing, not a YAML/JSON
    file or too large, and whatever :func:`data_contract_publish` raises."""
    from .repository import repository_contract_read

    text, relative = repository_contract_read(path)
    return data_contract_publish(
        actor=actor,
        contract=text,
        data_product=data_product,
        domain=domain,
        owner_team=owner_team,
        platform=platform,
        source=ImportSource.REPOSITORY,
        source_path=relative,
    )


def _next_minor(version: str) -> str:
    key = semver_key(version)
    return f"{key[0]}.{key[1] + 1}.0" if key else "a new version"


def _next_major(version: str) -> str:
    key = semver_key(version)
    return f"{key[0] + 1}.0.0" if key else "a new major version"


def _breaking_change_notify_later(import_id: int) -> None:
    from .tasks import contract_breaking_change_notify_task

    contract_breaking_change_notify_task.delay(import_id)


def _drift_check_later(product_id: int) -> None:
    from .tasks import contract_drift_check_task

    contract_drift_check_task.delay(product_id)


def contract_breaking_change_notify(*, import_id: int) -> int:
    """Tell every active consumer of the product's output ports (requesters, and members of
    teams that hold a grant) about a breaking contract version: in-app and email, plus the
    webhook event ``data_contract.breaking_change`` with the diff. Idempotent per import.
    Returns how many people were notified."""
    from apps.access.selectors import grant_active_for_product
    from apps.notifications.choices import Verb, WebhookEvent
    from apps.notifications.services import notify, webhook_publish

    record = ContractImport.objects.select_related("data_contract__data_product", "previous").get(pk=import_id)
    contract = record.data_contract
    product = contract.data_product
    grants = list(grant_active_for_product(product=product))
    recipients = []
    for grant in grants:
        request = grant.access_request
        recipients.append(request.requester)
        if request.on_behalf_of_team_id:
            recipients += [m.user for m in request.on_behalf_of_team.memberships.select_related("user")]
    breaking = [c for c in record.diff if c.get("breaking")]
    lines = "\n".join(f"- {c['message']}" for c in breaking)
    previous = record.previous.version if record.previous else "?"
    url = f"/products/{product.slug}/?tab=contract&from={record.previous_id or ''}&to={contract.pk}"
    notified = notify(
        recipients=recipients,
        verb=Verb.CONTRACT_BREAKING,
        obj=product,
        subject=f"Breaking change in the data contract of {product.name}",
        message=f"The data contract of {product.name} changed from {previous} to {contract.version} with breaking "
        f"changes you may need to act on:\n{lines}",
        url=url,
        dedupe_key=f"contract-breaking:{record.pk}",
    )
    webhook_publish(
        event=WebhookEvent.CONTRACT_BREAKING_CHANGE,
        dedupe_key=f"contract-breaking:{record.pk}",
        payload={
            "data_product": product.slug,
            "contract_id": contract.contract_id,
            "version": contract.version,
            "previous_version": previous,
            "diff": record.diff,
            "consumers": sorted({g.access_request.requester.username for g in grants}),
            "output_ports": sorted({g.access_request.output_port.name for g in grants}),
        },
    )
    return len(notified)


@transaction.atomic
def drift_finding_accept(*, finding_id: int, product: DataProduct, actor, reason: str):
    """An owner accepts a drift finding of ``product`` with a reason (it stays accepted while
    the difference is the same). Raises ``PermissionDenied`` for non-owners,
    ``ApplicationError`` (field ``reason``) without a reason or for a finding already resolved."""
    from .models import DriftFinding
    from .permissions import require_manage_contract

    require_manage_contract(actor, product)
    finding = DriftFinding.objects.select_for_update().filter(pk=finding_id, data_product=product).first()
    if finding is None:
        raise ApplicationError("No such drift finding.", {"finding": ["Not a finding of this data product."]})
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why the difference is acceptable.", {"reason": ["A reason is required."]})
    if finding.status != "open":
        raise ApplicationError("Only open findings can be accepted.", {"finding": [f"It is {finding.status}."]})
    finding.status, finding.accepted_by, finding.accepted_reason, finding.accepted_at = (
        "accepted",
        actor,
        reason[:2000],
        timezone.now(),
    )
    finding.save()
    _audit(
        actor=actor,
        action="drift_finding.accepted",
        obj=product,
        after={"finding": finding.key, "reason": finding.accepted_reason},
    )
    search_reindex(product.pk)
    return finding


def drift_check_now(*, product: DataProduct, actor) -> int:
    """Owners check drift on demand. Returns the open findings after the check."""
    from .drift import contract_drift_check
    from .permissions import require_manage_contract

    require_manage_contract(actor, product)
    return contract_drift_check(product_id=product.pk)


# --- quality runs and incidents -------------------------------------------------------------------


def _quality_target(product: DataProduct):
    """The output port quality rules run on: the first on a PostgreSQL or MariaDB platform."""
    return (
        product.output_ports.select_related("platform")
        .filter(platform__kind__in=("postgresql", "mariadb"))
        .order_by("pk")
        .first()
    )


def contract_quality_run(
    *, product_id: int, now=None, timeout_seconds: float | None = None, rule_keys: list[str] | None = None
):
    """Run the current contract's quality rules and freshness SLAs of a product on its
    platform (``apps.contracts.quality``) — only those in ``rule_keys`` when given (the ones
    due: :func:`contract_quality_due`) — store a ``QualityRun`` with one ``QualityResult``
    per rule (measured value, reason), open an incident for each failing rule or breached SLA
    (owners notified) and return the run. None when the product has no contract, no port on
    a PostgreSQL/MariaDB platform, or none of ``rule_keys`` is in the contract. Never raises for
    a rule that cannot run: that is an ``error`` result."""
    from apps.catalog.selectors import data_product_contract

    from .models import QualityResult, QualityRun
    from .quality import contract_quality_evaluate

    product = DataProduct.objects.filter(pk=product_id).first()
    contract = data_product_contract(product=product) if product else None
    port = _quality_target(product) if contract else None
    if port is None:
        return None
    outcomes = contract_quality_evaluate(
        platform=port.platform,
        schema=port.schema,
        document=contract.document,
        now=now,
        timeout_seconds=timeout_seconds,
        rule_keys=set(rule_keys) if rule_keys is not None else None,
    )
    if rule_keys is not None and not outcomes:
        return None
    with transaction.atomic():
        run = QualityRun.objects.create(data_contract=contract, data_product=product)
        QualityResult.objects.bulk_create(
            [
                QualityResult(
                    run=run,
                    data_product=product,
                    rule_key=o.key[:512],
                    name=o.name[:255],
                    object_name=o.object_name[:255],
                    property_name=o.property_name[:255],
                    metric=o.metric[:40],
                    expectation=o.expectation[:255],
                    status=o.status,
                    measured_value=o.measured,
                    reason=o.reason,
                )
                for o in outcomes
            ]
        )
        run.passed = sum(o.status == "pass" for o in outcomes)
        run.failed = sum(o.status == "fail" for o in outcomes)
        run.errors = sum(o.status == "error" for o in outcomes)
        run.finished_at = timezone.now()
        run.save(update_fields=["passed", "failed", "errors", "finished_at"])
        for outcome in outcomes:
            if outcome.status == "fail":
                incident_open(
                    product=product,
                    rule_key=outcome.key,
                    title=f"{outcome.name} failed"
                    if not outcome.key.startswith("sla:")
                    else f"{outcome.name} breached",
                    details=outcome.reason,
                )
        search_reindex(product.pk)
    return run


@transaction.atomic
def incident_open(*, product: DataProduct, rule_key: str, title: str, details: str = ""):
    """Open an incident for a failing rule unless one is already open for it; the product's
    owners are notified (in-app, email, webhook ``incident.opened``). Returns the incident and
    whether it is new."""
    from apps.notifications.choices import Verb, WebhookEvent
    from apps.notifications.services import notify, webhook_publish

    from .models import Incident

    existing = Incident.objects.filter(data_product=product, rule_key=rule_key[:512]).exclude(status="resolved").first()
    if existing is not None:
        return existing, False
    incident = Incident.objects.create(
        data_product=product, rule_key=rule_key[:512], title=title[:300], details=details
    )
    owners = [
        m.user for m in product.owner_team.memberships.select_related("user").filter(role__in=("owner", "approver"))
    ]
    notify(
        recipients=owners,
        verb=Verb.INCIDENT_OPENED,
        obj=product,
        subject=f"Incident on {product.name}: {incident.title}",
        message=f"{incident.title}. {details}".strip(),
        url=f"/products/{product.slug}/?tab=quality#incidents",
        dedupe_key=f"incident:{incident.pk}",
    )
    webhook_publish(
        event=WebhookEvent.INCIDENT_OPENED,
        dedupe_key=f"incident:{incident.pk}",
        payload={
            "data_product": product.slug,
            "incident": incident.pk,
            "title": incident.title,
            "details": details,
            "rule": rule_key,
        },
    )
    return incident, True


@transaction.atomic
def incident_transition(*, incident_id: int, product: DataProduct, actor, to: str, comment: str = ""):
    """Move an incident along open → acknowledged → resolved (``INCIDENT_TRANSITIONS``),
    recording who and when; audited. Raises ``PermissionDenied`` for non-owners and
    ``ApplicationError`` (field ``status``) for a transition the table does not allow."""
    from .choices import INCIDENT_TRANSITIONS, IncidentStatus
    from .models import Incident
    from .permissions import require_manage_contract

    require_manage_contract(actor, product)
    incident = Incident.objects.select_for_update().filter(pk=incident_id, data_product=product).first()
    if incident is None:
        raise ApplicationError("No such incident.", {"incident": ["Not an incident of this data product."]})
    if to not in INCIDENT_TRANSITIONS.get(incident.status, ()):
        raise ApplicationError(
            f"The incident is {incident.status}; it cannot become {to}.",
            {"status": [f"Allowed: {', '.join(sorted(INCIDENT_TRANSITIONS[incident.status])) or 'none'}."]},
        )
    before = incident.status
    now = timezone.now()
    if to == IncidentStatus.ACKNOWLEDGED:
        incident.acknowledged_by, incident.acknowledged_at = actor, now
    else:
        incident.resolved_by, incident.resolved_at, incident.resolution = actor, now, (comment or "").strip()[:2000]
    incident.status = to
    incident.save()
    _audit(
        actor=actor,
        action=f"incident.{to}",
        obj=product,
        before={"status": before},
        after={"status": to},
        message=f"Incident {incident.pk}: {incident.title}",
    )
    search_reindex(product.pk)
    return incident


def contract_quality_due(*, now=None) -> dict[int, list[str] | None]:
    """Which rules are due, per product: ``{product_id: None}`` (every rule of its contract) or
    ``{product_id: [rule keys]}``. A rule is due when it never ran or its schedule fired since
    its last result (:mod:`apps.contracts.schedules`: the rule's cron, else the contract's, else
    the product's default, else every ``CONTRACT_QUALITY_INTERVAL_MINUTES``). Only products
    with a port on a PostgreSQL or MariaDB platform (where rules run) are considered."""
    from datetime import timedelta

    from django.conf import settings

    from .models import ProductQualitySchedule, QualityResult
    from .quality import measured_slas, runnable_rules, sla_key
    from .schedules import rule_schedule
    from .selectors import current_contracts

    now = now or timezone.now()
    interval = timedelta(minutes=getattr(settings, "CONTRACT_QUALITY_INTERVAL_MINUTES", 60))
    runnable = set(
        OutputPort.objects.filter(platform__kind__in=("postgresql", "mariadb")).values_list(
            "data_product_id", flat=True
        )
    )
    contracts = current_contracts(product_ids=sorted(runnable), with_document=True)
    defaults = dict(
        ProductQualitySchedule.objects.filter(data_product_id__in=list(contracts)).values_list(
            "data_product_id", "schedule"
        )
    )
    last = {
        (pid, key): at
        for pid, key, at in QualityResult.objects.filter(data_product_id__in=list(contracts))
        .order_by("data_product_id", "rule_key", "-executed_at")
        .distinct("data_product_id", "rule_key")
        .values_list("data_product_id", "rule_key", "executed_at")
    }
    due: dict[int, list[str] | None] = {}
    for product_id, contract in contracts.items():
        document = contract.document if isinstance(contract.document, dict) else {}
        items = [(ref.key, ref.rule) for ref in runnable_rules(document)]
        items += [(sla_key(sla, document), sla) for sla in measured_slas(document)]
        keys = [
            key
            for key, item in items
            if rule_schedule(
                item, document=document, product_default=defaults.get(product_id, ""), interval=interval
            ).is_due(last_run_at=last.get((product_id, key[:512])), now=now)
        ]
        if keys:
            due[product_id] = None if len(keys) == len(items) else keys
    return due


@transaction.atomic
def quality_schedule_set(*, product: DataProduct, actor, schedule: str):
    """Set (or with ``""`` remove) the product's default quality schedule, a cron expression.
    Owners only (``PermissionDenied``); ``ApplicationError`` (field ``schedule``) for an
    expression that is not five valid cron fields. Audited. Returns the schedule row or None."""
    from .models import ProductQualitySchedule
    from .permissions import require_manage_contract
    from .schedules import parse_cron

    require_manage_contract(actor, product)
    schedule = " ".join(str(schedule or "").split())
    existing = ProductQualitySchedule.objects.select_for_update().filter(data_product=product).first()
    before = existing.schedule if existing else ""
    if not schedule:
        if existing:
            existing.delete()
            _audit(actor=actor, action="quality_schedule.removed", obj=product, before={"schedule": before})
        return None
    try:
        parse_cron(schedule)
    except ValueError as exc:
        raise ApplicationError("The schedule is not a cron expression.", {"schedule": [str(exc)]}) from None
    row = existing or ProductQualitySchedule(data_product=product)
    row.schedule, row.updated_by = schedule, actor
    row.full_clean()
    row.save()
    if before != schedule:
        _audit(
            actor=actor,
            action="quality_schedule.set",
            obj=product,
            before={"schedule": before},
            after={"schedule": schedule},
        )
    return row
