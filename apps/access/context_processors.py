def inbox(request):
    """``pending_decisions_count``: the approvals-inbox badge in the navigation bar (lazy; cached
    per user until a write that can change it, see ``apps.core.freshness``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from apps.core.freshness import cached_for_user, digest

    from .selectors import access_request_inbox_count, inbox_scope

    def count() -> int:
        # Whom the person decides for is cached on its own (it changes rarely); the count, which
        # every submission and decision changes, is one query under that scope's digest and the
        # topics of what else it reads: approval steps and requests entering or leaving "pending
        # approval" (decisions), and team memberships (people: not one's own team's requests).
        scope = inbox_scope(user=user)
        return cached_for_user(
            user,
            "pending_decisions:" + digest(scope.principal_ids, scope.product_ids, scope.steward),
            lambda: access_request_inbox_count(user=user, scope=scope),
            topics=("decisions", "people"),
        )

    return {"pending_decisions_count": count}
