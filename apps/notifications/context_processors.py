def unread(request):
    """``unread_notifications_count``: the notification badge in the navigation bar (lazy; cached
    per user until a write that can change it, see ``apps.core.freshness``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from apps.core.freshness import cached_for_user

    from .selectors import notification_unread_count

    return {
        "unread_notifications_count": lambda: cached_for_user(
            user, "unread_notifications", lambda: notification_unread_count(user=user), topics=("notifications",)
        )
    }
