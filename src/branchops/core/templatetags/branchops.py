from django import template

from branchops.core.audit import verb_label

register = template.Library()


@register.filter(name="verb_label")
def verb_label_filter(verb: str) -> str:
    return verb_label(verb)


@register.inclusion_tag("includes/_saved_filters_bar.html", takes_context=True)
def saved_filters_bar(context, list_key: str):
    """The user's saved filters of this list, and a form saving the filter the list shows now."""
    from branchops.core.queries import saved_filters

    request = context["request"]
    query = request.GET.copy()
    for key in ("page", "format"):
        query.pop(key, None)
    return {"saved": list(saved_filters(request.user, list_key)), "list_key": list_key,
            "query": query.urlencode(), "current": request.get_full_path(), "csrf_token": context.get("csrf_token")}
