"""Marketplace and data product pages."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from apps.access.selectors import access_request_for_port, grant_active_for_product
from apps.accounts.models import TeamMembership

from . import selectors
from .choices import Classification


@login_required
def marketplace(request):
    query = request.GET.get("q", "").strip()[:200]
    domain = request.GET.get("domain", "")
    classification = request.GET.get("classification", "")
    products = selectors.data_product_list(user=request.user, query=query, domain=domain, classification=classification)
    page = Paginator(products, 24).get_page(request.GET.get("page"))
    context = {
        "page": page, "query": query, "domain": domain, "classification": classification,
        "domains": selectors.domain_list(), "classifications": Classification.choices,
    }
    template = "catalog/_results.html" if request.htmx and not request.htmx.boosted else "catalog/marketplace.html"
    return render(request, template, context)


@login_required
def data_product_detail(request, slug: str):
    product = selectors.data_product_get(user=request.user, slug=slug)
    ports = [
        {
            "port": port,
            "assets": selectors.output_port_assets(port=port),
            "my_request": access_request_for_port(user=request.user, output_port=port),
        }
        for port in product.output_ports.all()
    ]
    context = {
        "product": product,
        "ports": ports,
        "owners": TeamMembership.objects.filter(team=product.owner_team).select_related("user").order_by("role", "user__username"),
        "consumers": grant_active_for_product(product=product),
        "can_edit": request.user.has_perm("catalog.change_dataproduct", product),
        "quality": selectors.data_product_quality(product=product),
        "lineage": selectors.data_product_lineage(product=product),
    }
    return render(request, "catalog/product_detail.html", context)
