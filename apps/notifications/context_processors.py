def unread(request):
    """``unread_notifications_count``: the notification badge in the navigation bar (lazy)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .selectors import notification_unread_count

    return {"unread_notifications_count": lambda: notification_unread_count(user=user)}
