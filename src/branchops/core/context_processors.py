from . import nav


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    path = request.path
    items = nav.items_for(user)
    for item in items:
        item["active"] = path == item["url"] if item["url"] == "/" else path.startswith(item["url"])
    return {
        "nav_items": items,
        "unread_notifications": user.notifications.filter(read_at__isnull=True).count(),
    }
