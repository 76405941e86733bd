def insights_nav(request):
    """``can_see_insights``: whether the navigation shows the Insights link. Decided once at login
    (``apps.insights.views.LoginView`` stores it in the session) so pages pay no query for it;
    the dashboard itself checks permissions on every request (404 for others)."""
    session = getattr(request, "session", None)
    return {"can_see_insights": bool(session.get("insights_nav"))} if session is not None else {}
