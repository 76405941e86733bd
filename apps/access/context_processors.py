def inbox(request):
    """``pending_decisions_count``: the approvals-inbox badge in the navigation bar (lazy; cached
    per user until a write that can change it, see ``apps.core.freshness``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from apps.core.freshness import cached_for_user

    from .selectors import access_request_inbox

    return {
        "pending_decisions_count": lambda: cached_for_user(
            user,
            "pending_decisions",
            lambda: access_request_inbox(user=user).count(),
            topics=("access", "delegations", "people", "catalog"),
        )
    }
