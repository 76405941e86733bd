def insights_nav(request):
    """``can_see_insights``: whether the navigation shows the Insights link (lazy: one query
    only on pages that render the navigation)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .permissions import kpi_can_view_any

    return {"can_see_insights": lambda: kpi_can_view_any(user)}
