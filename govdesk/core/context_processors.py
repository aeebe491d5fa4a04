from django.urls import NoReverseMatch, reverse

from .reach import READ_ONLY_ROLES, roles_of
from .registry import NAV
from .services import todo_count


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = roles_of(user)
    items = []
    for item in NAV:
        if item.roles and not (roles & item.roles) and not user.is_superuser:
            continue
        if item.visible is not None and not user.is_superuser and not item.visible(user):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": item.label, "url": url, "group": item.group,
                      "active": request.path.startswith(url) and url != "/"})
    # read_only: a supervisor-only account; templates hide links to forms it cannot submit
    return {"nav_items": items, "todo_open_count": todo_count(user), "user_roles": roles,
            "read_only": bool(roles) and roles <= READ_ONLY_ROLES and not user.is_superuser}
