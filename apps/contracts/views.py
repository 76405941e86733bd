"""Contract pages: import by paste or upload (owners), YAML download. Thin: selectors for
reads (visibility through ``apps.catalog.selectors``), services for writes."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from apps.catalog import selectors as catalog_selectors
from apps.catalog.models import DataContract
from apps.core.exceptions import ApplicationError

from . import services
from .choices import ImportSource
from .odcs import contract_errors_as_lines
from .permissions import can_manage_contract

MAX_UPLOAD_BYTES = 1_000_000


@login_required
@require_GET
def contract_download(request, slug: str, pk: int):
    """The YAML exactly as published (``text/yaml`` attachment)."""
    product = catalog_selectors.data_product_get(user=request.user, slug=slug)
    contract = DataContract.objects.filter(data_product=product, pk=pk).first()
    if contract is None or not contract.source_yaml:
        raise Http404("No such contract version.")
    response = HttpResponse(contract.source_yaml, content_type="application/yaml; charset=utf-8")
    name = f"{product.slug}-{contract.version}".replace('"', "")
    response["Content-Disposition"] = f'attachment; filename="{name}.odcs.yaml"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def contract_import(request, slug: str):
    """Owners paste or upload a new contract version for their product; every validation error
    is listed with its path, and nothing is saved until the whole contract is accepted."""
    product = catalog_selectors.data_product_get(user=request.user, slug=slug)
    if not can_manage_contract(request.user, product):
        raise Http404("No such data product.")
    context = {"product": product, "errors": [], "text": "", "result": None}
    if request.method == "POST":
        upload = request.FILES.get("file")
        source = ImportSource.PASTE
        text = request.POST.get("contract", "")
        if upload is not None:
            source = ImportSource.UPLOAD
            if upload.size > MAX_UPLOAD_BYTES:
                context["errors"] = [f"The file is larger than {MAX_UPLOAD_BYTES:,} bytes."]
                return render(request, "contracts/import.html", context, status=400)
            raw = upload.read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                context["errors"] = ["The file is not UTF-8 text."]
                return render(request, "contracts/import.html", context, status=400)
        context["text"] = text
        try:
            result = services.data_contract_publish(
                actor=request.user, contract=text, data_product=product.slug, source=source
            )
        except ApplicationError as exc:
            context["message"] = exc.message
            context["errors"] = contract_errors_as_lines(
                {k: v if isinstance(v, list) else [v] for k, v in exc.extra.items()}
            )
            return render(request, "contracts/import.html", context, status=400)
        except PermissionDenied:
            raise Http404("No such data product.") from None
        context["result"] = result
        if not result.warnings and not result.breaking:
            return redirect(f"/products/{product.slug}/?tab=contract")
    return render(request, "contracts/import.html", context)


def contract_tab_context(request, product) -> dict:
    """What the product page's contract tab needs: the current version as sections, every
    version, and the diff between two versions picked with ``?from=<id>&to=<id>``."""
    from apps.catalog.selectors import data_product_contract

    from . import selectors

    contract = data_product_contract(product=product)
    if contract is None:
        return {"contract": None}
    versions = selectors.contract_versions(product=product)
    diff = None
    if request.GET.get("from") and request.GET.get("to"):
        diff = selectors.contract_version_diff(product=product, from_id=request.GET["from"], to_id=request.GET["to"])
    return {
        "contract": contract,
        "contract_sections": selectors.contract_sections(contract=contract),
        "versions": versions,
        "version_diff": diff,
        "drift": selectors.drift_findings_for_product(product=product),
    }


@login_required
@require_http_methods(["POST"])
def drift_check(request, slug: str):
    """Owners: check the contract against the platform's catalog now."""
    from django.contrib import messages

    product = catalog_selectors.data_product_get(user=request.user, slug=slug)
    try:
        open_count = services.drift_check_now(product=product, actor=request.user)
    except PermissionDenied:
        raise Http404("No such data product.") from None
    messages.success(request, f"Drift checked: {open_count} open finding{'s' if open_count != 1 else ''}.")
    return redirect(f"/products/{product.slug}/?tab=contract#drift")


@login_required
@require_http_methods(["POST"])
def drift_accept(request, slug: str, pk: int):
    """Owners accept a finding with a reason (400 with the message without one)."""
    from django.contrib import messages

    product = catalog_selectors.data_product_get(user=request.user, slug=slug)
    try:
        services.drift_finding_accept(
            finding_id=pk, product=product, actor=request.user, reason=request.POST.get("reason", "")
        )
    except PermissionDenied:
        raise Http404("No such data product.") from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(f"/products/{product.slug}/?tab=contract#drift")
    messages.success(request, "Finding accepted.")
    return redirect(f"/products/{product.slug}/?tab=contract#drift")


def quality_tab_context(request, product) -> dict:
    """The quality tab's contract part: latest result and trend per rule, incidents."""
    from . import selectors

    return {
        "contract_quality": selectors.quality_latest(product=product),
        "incidents": selectors.incidents_for_product(product=product),
    }


def trust_context(product) -> dict:
    """The product page's trust section: the summary, how it is computed, and what it does in
    search (the facet's groups and the ranking boost of trusted products)."""
    from apps.search.ranking import TRUST_MULTIPLIERS

    from . import selectors

    return {"trust": selectors.trust_summary(product=product), "trust_boost": TRUST_MULTIPLIERS.get("trusted", 1.0)}


@login_required
@require_http_methods(["POST"])
def incident_transition(request, slug: str, pk: int):
    """Owners acknowledge or resolve an incident."""
    from django.contrib import messages

    product = catalog_selectors.data_product_get(user=request.user, slug=slug)
    try:
        services.incident_transition(
            incident_id=pk,
            product=product,
            actor=request.user,
            to=request.POST.get("to", ""),
            comment=request.POST.get("comment", ""),
        )
    except PermissionDenied:
        raise Http404("No such data product.") from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(f"/products/{product.slug}/?tab=quality#incidents")
