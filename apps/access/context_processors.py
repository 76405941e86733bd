def inbox(request):
    """``pending_decisions_count``: the approvals-inbox badge in the navigation bar."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .selectors import access_request_inbox

    return {"pending_decisions_count": lambda: access_request_inbox(user=user).count()}
