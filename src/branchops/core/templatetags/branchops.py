from django import template

from branchops.core.audit import verb_label

register = template.Library()


@register.filter(name="verb_label")
def verb_label_filter(verb: str) -> str:
    return verb_label(verb)
