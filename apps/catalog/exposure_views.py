"""The exposure review page: output ports awaiting a review of what they expose (governed
exposure), with approve / reject, for stewards and the platforms' operators."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core.exceptions import ApplicationError
from apps.platforms import exposure

from . import services
from .choices import ExposureStatus


@login_required
def exposure_review_list(request):
    """Pending reviews first, then the 20 latest decisions the user could have taken."""
    pending = list(exposure.exposure_review_list(user=request.user))
    decided = sorted(
        [
            *exposure.exposure_review_list(user=request.user, status=ExposureStatus.APPROVED).exclude(
                exposure_decided_at=None
            )[:20],
            *exposure.exposure_review_list(user=request.user, status=ExposureStatus.REJECTED)[:20],
        ],
        key=lambda p: p.exposure_decided_at or p.updated_at,
        reverse=True,
    )[:20]
    return render(request, "catalog/exposure_reviews.html", {"pending": pending, "decided": decided})


@login_required
@require_POST
def exposure_review_decide(request, pk: int):
    port = exposure.exposure_review_get(user=request.user, pk=pk)
    decide = {"approve": services.output_port_exposure_approve, "reject": services.output_port_exposure_reject}.get(
        request.POST.get("decision", "")
    )
    if decide is None:
        messages.error(request, "Choose approve or reject.")
        return redirect("catalog:exposure_reviews")
    try:
        decide(actor=request.user, port_id=port.pk, comment=request.POST.get("comment", "")[:2000])
    except (ApplicationError, PermissionDenied) as error:
        messages.error(request, getattr(error, "message", None) or str(error))
    else:
        verb = "approved" if decide is services.output_port_exposure_approve else "rejected"
        messages.success(request, f"The exposure of {port.location} by {port.data_product} was {verb}.")
    return redirect("catalog:exposure_reviews")
